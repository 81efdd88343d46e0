// OpenRegistry: the registry URL -> backend switch.
#include <fmt/format.h>

#include "registry/dir_registry.h"
#include "registry/etcd_registry.h"
#include "registry/registry.h"

namespace meridian::registry {

std::string RedactRegistryUrl(const std::string& url) {
  std::size_t q = url.find('?');
  if (q == std::string::npos) return url;
  std::string out = url.substr(0, q + 1);
  std::size_t start = q + 1;
  while (start <= url.size()) {
    std::size_t end = url.find('&', start);
    if (end == std::string::npos) end = url.size();
    const std::string param = url.substr(start, end - start);
    out += param.rfind("password=", 0) == 0 ? "password=***" : param;
    if (end == url.size()) break;
    out += '&';
    start = end + 1;
  }
  return out;
}

// The URL checks live here once; OpenRegistry runs them first. Errors show
// the URL redacted.
Status CheckRegistryUrl(const std::string& url) {
  const std::string shown = RedactRegistryUrl(url);
  if (url.rfind("dir:", 0) == 0) {
    if (url.size() == 4) return Error{fmt::format("registry url '{}': dir: needs a path", shown)};
    return Status::Ok();
  }
  if (url.rfind("etcd:", 0) == 0) {
    auto options = EtcdRegistry::ParseUrl(url);
    if (!options) return options.error();
    return Status::Ok();
  }
  std::size_t colon = url.find(':');
  if (colon == std::string::npos) {
    return Error{fmt::format(
        "registry url '{}' has no scheme (expected dir:/path or etcd://host:port)", shown)};
  }
  return Error{fmt::format("registry url '{}': unknown scheme '{}:' (expected dir: or etcd:)",
                           shown, url.substr(0, colon))};
}

Result<std::unique_ptr<Registry>> OpenRegistry(const std::string& url) {
  if (auto s = CheckRegistryUrl(url); !s) return s.error();
  if (url.rfind("dir:", 0) == 0) {
    auto r = DirRegistry::Open(url.substr(4));
    if (!r) return r.error();
    return std::unique_ptr<Registry>(std::move(*r));
  }
  auto r = EtcdRegistry::Open(*EtcdRegistry::ParseUrl(url));  // etcd:, checked above
  if (!r) {
    return Error{fmt::format("registry url '{}': {}", RedactRegistryUrl(url), r.error().message)};
  }
  return std::unique_ptr<Registry>(std::move(*r));
}

}  // namespace meridian::registry
