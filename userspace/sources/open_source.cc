// OpenSource, OpenKubeClient and CheckSourceSpec (declared in sources/source.h).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "sources/directory_source.h"
#include "sources/kubernetes_source.h"
#include "sources/source.h"

namespace meridian::sources {

Status CheckSourceSpec(const std::string& spec) {
  if (spec == "kubernetes") return Status::Ok();
  if (spec.rfind("dir:", 0) == 0 && spec.size() > 4) return Status::Ok();
  return Error{fmt::format("--source {}: expected kubernetes or dir:PATH", spec)};
}

Result<std::shared_ptr<kube::KubeClient>> OpenKubeClient(const std::string& kubeconfig) {
  auto config = kube::ResolveKubeConfig(kubeconfig, kube::KubeEnvironment());
  if (!config) return Error{"--source kubernetes: " + config.error().message};
  spdlog::info("kubernetes: {} at {}", config->origin, config->ServerUrl());
  auto client = kube::KubeClient::Create(std::move(config).value());
  if (!client) return Error{"--source kubernetes: " + client.error().message};
  return client;
}

Result<std::unique_ptr<Source>> OpenSource(const SourceOptions& options) {
  if (auto s = CheckSourceSpec(options.spec); !s) return s.error();
  if (options.spec != "kubernetes") {
    return std::unique_ptr<Source>(std::make_unique<DirectorySource>(
        options.spec.substr(4), options.owners_file, options.debounce));
  }
  auto client = options.client ? Result(options.client) : OpenKubeClient(options.kubeconfig);
  if (!client) return client.error();
  return std::unique_ptr<Source>(std::make_unique<KubernetesSource>(
      std::move(client).value(), KubernetesSource::Resources(options.node),
      kube::ReflectorOptions{}, options.debounce));
}

}  // namespace meridian::sources
