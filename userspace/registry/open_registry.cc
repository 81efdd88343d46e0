// OpenRegistry: the registry URL -> backend switch.
#include <fmt/format.h>

#include "registry/dir_registry.h"
#include "registry/etcd_registry.h"
#include "registry/registry.h"

namespace meridian::registry {

Status CheckRegistryUrl(const std::string& url) {
  if (url.rfind("dir:", 0) == 0) {
    if (url.size() == 4) return Error{fmt::format("registry url '{}': dir: needs a path", url)};
    return Status::Ok();
  }
  if (url.rfind("etcd:", 0) == 0) {
    auto options = EtcdRegistry::ParseUrl(url);
    if (!options) return options.error();
    return Status::Ok();
  }
  return OpenRegistry(url).error();  // the scheme errors
}

Result<std::unique_ptr<Registry>> OpenRegistry(const std::string& url) {
  if (url.rfind("dir:", 0) == 0) {
    std::string path = url.substr(4);
    if (path.empty()) return Error{fmt::format("registry url '{}': dir: needs a path", url)};
    auto r = DirRegistry::Open(path);
    if (!r) return r.error();
    return std::unique_ptr<Registry>(std::move(*r));
  }
  if (url.rfind("etcd:", 0) == 0) {
    auto options = EtcdRegistry::ParseUrl(url);
    if (!options) return options.error();
    auto r = EtcdRegistry::Open(std::move(*options));
    if (!r) return Error{fmt::format("registry url '{}': {}", url, r.error().message)};
    return std::unique_ptr<Registry>(std::move(*r));
  }
  std::size_t colon = url.find(':');
  if (colon == std::string::npos) {
    return Error{fmt::format(
        "registry url '{}' has no scheme (expected dir:/path or etcd://host:port)", url)};
  }
  return Error{fmt::format("registry url '{}': unknown scheme '{}:' (expected dir: or etcd:)", url,
                           url.substr(0, colon))};
}

}  // namespace meridian::registry
