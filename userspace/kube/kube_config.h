// KubeConfig: how to reach the API server, chosen the way client-go's
// clientcmd does: an explicit --kubeconfig, else $KUBECONFIG (its first
// file), else the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT,
// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}), else
// ~/.kube/config.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace meridian::kube {

struct KubeConfig {
  std::string host;       // "10.96.0.1", "127.0.0.1" or a DNS name
  std::string port;       // "443"
  std::string base_path;  // a server URL's path ("" or "/prefix"), without a trailing /
  // Trust: PEM text of the CA bundle; empty with insecure: no verification
  // (only when the kubeconfig says insecure-skip-tls-verify).
  std::string ca_pem;
  bool insecure = false;
  // Bearer token: the file is re-read when it changes (service-account
  // tokens rotate every hour); `token` is a fixed one from a kubeconfig.
  std::string token;
  std::string token_file;
  // Client certificate authentication (PEM), from a kubeconfig user.
  std::string client_cert_pem;
  std::string client_key_pem;
  // Where this configuration came from, for logs: "kubeconfig PATH
  // (context C)" or "in-cluster".
  std::string origin;

  std::string ServerUrl() const { return "https://" + host + ":" + port + base_path; }
};

// Parses a kubeconfig's current context (or `context` when not empty).
// Relative file paths in it are relative to the kubeconfig's directory.
Result<KubeConfig> LoadKubeConfigFile(const std::string& path, const std::string& context = "");
// Several files merged as client-go merges a KUBECONFIG list: the first
// current-context set wins, and for each named cluster, user and context
// the first file that defines it (relative paths are relative to it).
Result<KubeConfig> LoadKubeConfigFiles(const std::vector<std::string>& paths,
                                       const std::string& context = "");

// The in-cluster configuration from `env` (KUBERNETES_SERVICE_HOST/PORT)
// and the service-account directory.
Result<KubeConfig> LoadInClusterConfig(
    const std::map<std::string, std::string>& env,
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// client-go's order (see the top of this file). `env` holds KUBECONFIG,
// KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT and HOME when set.
Result<KubeConfig> ResolveKubeConfig(const std::string& explicit_path,
                                     const std::map<std::string, std::string>& env);

// The variables ResolveKubeConfig reads, from this process's environment.
std::map<std::string, std::string> KubeEnvironment();

}  // namespace meridian::kube
