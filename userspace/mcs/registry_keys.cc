#include "mcs/registry_keys.h"

#include <fmt/format.h>

#include <vector>

namespace meridian::mcs {
namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  for (;;) {
    auto slash = s.find('/', start);
    out.push_back(s.substr(start, slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

std::string ClusterPrefix(const std::string& cluster) {
  return std::string(kClustersPrefix) + cluster + "/";
}
std::string ClusterInfoKey(const std::string& cluster) { return ClusterPrefix(cluster) + "info"; }
std::string ExportKey(const std::string& cluster, const model::ObjectKey& service) {
  return ClusterPrefix(cluster) + "exports/" + service.ns + "/" + service.name;
}
std::string ImportKey(const model::ObjectKey& service) {
  return std::string(kImportsPrefix) + service.ns + "/" + service.name;
}

std::string DecisionKey(const model::ObjectKey& service) {
  return std::string(kDecisionsPrefix) + service.ns + "/" + service.name;
}

Result<ParsedKey> ParseKey(const std::string& key) {
  auto bad = [&] {
    return Error{fmt::format(
        "unexpected registry key '{}': expected clusters/<cluster>/info, "
        "clusters/<cluster>/exports/<ns>/<svc>, imports/<ns>/<svc>, decisions/<ns>/<svc> or "
        "scheduler/leader under /meridian/v1/",
        key)};
  };
  const std::string root = "/meridian/v1/";
  if (key.rfind(root, 0) != 0) return bad();
  auto parts = Split(key.substr(root.size()));
  for (const auto& p : parts) {
    if (p.empty()) return bad();
  }
  if (parts[0] == "clusters") {
    if (parts.size() == 3 && parts[2] == "info") return ParsedKey{ClusterInfoKeyParts{parts[1]}};
    if (parts.size() == 5 && parts[2] == "exports") {
      return ParsedKey{ExportKeyParts{parts[1], {parts[3], parts[4]}}};
    }
  } else if (parts.size() == 3 && parts[0] == "imports") {
    return ParsedKey{ImportKeyParts{{parts[1], parts[2]}}};
  } else if (parts.size() == 3 && parts[0] == "decisions") {
    return ParsedKey{DecisionKeyParts{{parts[1], parts[2]}}};
  } else if (parts.size() == 2 && parts[0] == "scheduler" && parts[1] == "leader") {
    return ParsedKey{SchedulerLeaderKeyParts{}};
  }
  return bad();
}

}  // namespace meridian::mcs
