#include "kube/kube_config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <boost/beast/core/detail/base64.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace meridian::kube {

namespace {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("{} {}: cannot be read", what, path)};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::string> DecodeBase64(const std::string& text, const std::string& what) {
  namespace b64 = boost::beast::detail::base64;
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') clean += c;
  }
  std::string out(b64::decoded_size(clean.size()), '\0');
  auto [written, read] = b64::decode(out.data(), clean.data(), clean.size());
  // Beast stops at the padding; anything else left over is not base64.
  if (clean.find_first_not_of('=', read) != std::string::npos || clean.size() - read > 2) {
    return Error{fmt::format("{}: not valid base64", what)};
  }
  out.resize(written);
  return out;
}

// A server URL "https://host:port/path" split; http is refused: the token
// must never travel in clear text.
Status SplitServer(const std::string& url, KubeConfig& c) {
  const std::string scheme = "https://";
  if (url.rfind(scheme, 0) != 0) {
    return Error{fmt::format("server {}: only https:// is supported", url)};
  }
  std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  c.base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!c.base_path.empty() && c.base_path.back() == '/') c.base_path.pop_back();
  if (!authority.empty() && authority.front() == '[') {
    return Error{fmt::format("server {}: IPv6 addresses are not supported", url)};
  }
  const auto colon = authority.rfind(':');
  c.host = authority.substr(0, colon);
  c.port = colon == std::string::npos ? "443" : authority.substr(colon + 1);
  if (c.host.empty() || c.port.empty()) return Error{fmt::format("server {}: no host", url)};
  return Status::Ok();
}

// A named entry of a kubeconfig list: clusters, users, contexts.
YAML::Node Named(const YAML::Node& root, const std::string& list, const std::string& name) {
  const YAML::Node items = root[list];
  if (!items || !items.IsSequence()) return YAML::Node();
  for (const auto& item : items) {
    if (item["name"] && item["name"].as<std::string>() == name) return item;
  }
  return YAML::Node();
}

std::string Str(const YAML::Node& n, const std::string& key) {
  return n && n[key] && n[key].IsScalar() ? n[key].as<std::string>() : "";
}

// "<field>-data" (base64) or "<field>" (a path, relative to the file).
Result<std::string> PemField(const YAML::Node& n, const std::string& field, const fs::path& dir,
                             const std::string& where) {
  if (auto data = Str(n, field + "-data"); !data.empty()) {
    return DecodeBase64(data, where + "." + field + "-data");
  }
  if (auto path = Str(n, field); !path.empty()) {
    fs::path p(path);
    if (p.is_relative()) p = dir / p;
    return ReadFile(p.string(), where + "." + field);
  }
  return std::string();
}

}  // namespace

Result<KubeConfig> LoadKubeConfigFile(const std::string& path, const std::string& context) {
  return LoadKubeConfigFiles({path}, context);
}

namespace {

struct LoadedFile {
  std::string path;
  YAML::Node root;
};

// client-go's merge of a KUBECONFIG list: the first file that has an entry
// of that name wins; relative paths in it are relative to that file.
std::pair<YAML::Node, const LoadedFile*> FindNamed(const std::vector<LoadedFile>& files,
                                                   const std::string& list, const std::string& name,
                                                   const std::string& field) {
  for (const auto& f : files) {
    if (auto n = Named(f.root, list, name)[field]) return {n, &f};
  }
  return {YAML::Node(), nullptr};
}

}  // namespace

Result<KubeConfig> LoadKubeConfigFiles(const std::vector<std::string>& paths,
                                       const std::string& context) {
  std::vector<LoadedFile> files;
  for (const auto& path : paths) {
    auto text = ReadFile(path, "kubeconfig");
    if (!text) return text.error();
    try {
      files.push_back({path, YAML::Load(*text)});
    } catch (const YAML::Exception& e) {
      return Error{fmt::format("kubeconfig {}: {}", path, e.what())};
    }
  }
  if (files.empty()) return Error{"kubeconfig: no file"};
  const std::string names = fmt::format("{}", fmt::join(paths, ":"));
  try {
    std::string ctx_name = context;
    for (const auto& f : files) {
      if (ctx_name.empty()) ctx_name = Str(f.root, "current-context");
    }
    if (ctx_name.empty()) return Error{fmt::format("kubeconfig {}: no current-context", names)};
    const auto [ctx, ctx_file] = FindNamed(files, "contexts", ctx_name, "context");
    if (!ctx) return Error{fmt::format("kubeconfig {}: no context {}", names, ctx_name)};
    const std::string cluster_name = Str(ctx, "cluster");
    const std::string user_name = Str(ctx, "user");
    const auto [cluster, cluster_file] = FindNamed(files, "clusters", cluster_name, "cluster");
    if (!cluster) {
      return Error{fmt::format("kubeconfig {}: context {} names cluster {}, which is not there",
                               names, ctx_name, cluster_name)};
    }
    const std::string where =
        fmt::format("kubeconfig {}: cluster {}", cluster_file->path, cluster_name);
    KubeConfig c;
    c.origin = fmt::format("kubeconfig {} (context {})", names, ctx_name);
    if (auto s = SplitServer(Str(cluster, "server"), c); !s) {
      return Error{where + ": " + s.error().message};
    }
    const fs::path dir = fs::path(cluster_file->path).parent_path();
    auto ca = PemField(cluster, "certificate-authority", dir, where);
    if (!ca) return ca.error();
    c.ca_pem = *ca;
    c.insecure = Str(cluster, "insecure-skip-tls-verify") == "true";
    const auto [user, user_file] = FindNamed(files, "users", user_name, "user");
    if (user) {
      const fs::path udir = fs::path(user_file->path).parent_path();
      const std::string uwhere = fmt::format("kubeconfig {}: user {}", user_file->path, user_name);
      c.token = Str(user, "token");
      if (auto f = Str(user, "tokenFile"); !f.empty()) {
        fs::path p(f);
        c.token_file = (p.is_relative() ? udir / p : p).string();
      }
      auto cert = PemField(user, "client-certificate", udir, uwhere);
      if (!cert) return cert.error();
      auto key = PemField(user, "client-key", udir, uwhere);
      if (!key) return key.error();
      c.client_cert_pem = *cert;
      c.client_key_pem = *key;
      if (user["exec"] || user["auth-provider"]) {
        return Error{uwhere +
                     ": exec and auth-provider credentials are not supported; use a "
                     "token, tokenFile or a client certificate"};
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return Error{fmt::format("kubeconfig {}: {}", names, e.what())};
  }
}

Result<KubeConfig> LoadInClusterConfig(const std::map<std::string, std::string>& env,
                                       const std::string& sa_dir) {
  auto get = [&env](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  const std::string host = get("KUBERNETES_SERVICE_HOST");
  const std::string port = get("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return Error{"in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set"};
  }
  KubeConfig c{.host = host, .port = port, .origin = "in-cluster"};
  if (host.find(':') != std::string::npos) {
    return Error{"in-cluster: IPv6 KUBERNETES_SERVICE_HOST is not supported"};
  }
  auto ca = ReadFile(sa_dir + "/ca.crt", "in-cluster CA");
  if (!ca) return ca.error();
  c.ca_pem = *ca;
  c.token_file = sa_dir + "/token";
  if (auto t = ReadFile(c.token_file, "in-cluster token"); !t) return t.error();
  return c;
}

Result<KubeConfig> ResolveKubeConfig(const std::string& explicit_path,
                                     const std::map<std::string, std::string>& env) {
  auto get = [&env](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  if (!explicit_path.empty()) return LoadKubeConfigFile(explicit_path);
  if (auto list = get("KUBECONFIG"); !list.empty()) {
    // Every file of the list, merged; files that do not exist are skipped,
    // as kubectl skips them.
    std::vector<std::string> paths;
    for (std::size_t at = 0; at <= list.size();) {
      std::size_t colon = std::min(list.find(':', at), list.size());
      std::string p = list.substr(at, colon - at);
      if (!p.empty() && fs::exists(p)) paths.push_back(p);
      at = colon + 1;
    }
    if (paths.empty()) return Error{"KUBECONFIG=" + list + ": none of its files exists"};
    return LoadKubeConfigFiles(paths);
  }
  if (!get("KUBERNETES_SERVICE_HOST").empty()) return LoadInClusterConfig(env);
  if (auto home = get("HOME"); !home.empty() && fs::exists(home + "/.kube/config")) {
    return LoadKubeConfigFile(home + "/.kube/config");
  }
  return Error{
      "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a pod "
      "(KUBERNETES_SERVICE_HOST), or create ~/.kube/config"};
}

std::map<std::string, std::string> KubeEnvironment() {
  std::map<std::string, std::string> env;
  for (const char* k :
       {"KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HOME"}) {
    if (const char* v = std::getenv(k)) env[k] = v;
  }
  return env;
}

}  // namespace meridian::kube
