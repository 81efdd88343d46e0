#include "mcs/import_merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

namespace meridian::mcs {
namespace {

std::string PortText(const model::ExportedPort& p) {
  return fmt::format("{}/{}", p.port, model::ToString(p.protocol));
}

std::string PortName(const std::string& name) { return name.empty() ? "(unnamed)" : name; }

// Adds `candidate` from `cluster` to the union unless it clashes with a port
// an older export contributed; returns the conflict message, if any.
std::optional<std::string> MergePort(std::vector<model::ExportedPort>& ports,
                                     std::map<std::string, std::string>& owner,
                                     const model::ExportedPort& candidate) {
  for (const auto& p : ports) {
    bool same_name = p.name == candidate.name;
    bool same_frontend = p.protocol == candidate.protocol && p.port == candidate.port;
    if (same_name && same_frontend) return std::nullopt;  // identical: already in the union
    if (same_name) {
      return fmt::format("port {} is {} here but {} in the older export of cluster {}",
                         PortName(p.name), PortText(candidate), PortText(p), owner[p.name]);
    }
    if (same_frontend) {
      return fmt::format("{} is named {} here but {} in the older export of cluster {}",
                         PortText(p), PortName(candidate.name), PortName(p.name), owner[p.name]);
    }
  }
  ports.push_back(candidate);
  return std::nullopt;
}

void MergeOne(model::ServiceImport& imp) {
  std::sort(imp.exports.begin(), imp.exports.end(), [](const auto& a, const auto& b) {
    return std::tie(a.export_creation_ms, a.cluster) < std::tie(b.export_creation_ms, b.cluster);
  });
  const auto& oldest = imp.exports.front();
  imp.type = oldest.type;
  imp.session_affinity = oldest.session_affinity;
  std::map<std::string, std::string> owner;  // port name -> cluster that contributed it
  for (const auto& e : imp.exports) {
    if (e.type != imp.type) {
      imp.conflicts.push_back(
          {e.cluster, kTypeConflict,
           fmt::format("type {} conflicts with {} of the oldest export (cluster {})",
                       model::ToString(e.type), model::ToString(imp.type), oldest.cluster)});
    }
    if (e.session_affinity != imp.session_affinity) {
      imp.conflicts.push_back(
          {e.cluster, kSessionAffinityConflict,
           fmt::format("session affinity {} conflicts with {} of the oldest export (cluster {})",
                       model::ToString(e.session_affinity), model::ToString(imp.session_affinity),
                       oldest.cluster)});
    }
    for (const auto& p : e.ports) {
      if (auto clash = MergePort(imp.ports, owner, p)) {
        imp.conflicts.push_back({e.cluster, kPortConflict, *clash});
      } else {
        owner.emplace(p.name, e.cluster);
      }
    }
  }
  std::sort(imp.ports.begin(), imp.ports.end());
}

}  // namespace

std::vector<model::ServiceImport> MergeImports(
    std::vector<model::ExportedService> exports,
    const std::map<model::ObjectKey, model::Ipv4Address>& ips) {
  std::map<model::ObjectKey, model::ServiceImport> by_key;
  for (auto& e : exports) {
    auto& imp = by_key[e.service];
    imp.key = e.service;
    imp.exports.push_back(std::move(e));
  }
  std::vector<model::ServiceImport> out;
  out.reserve(by_key.size());
  for (auto& [key, imp] : by_key) {
    MergeOne(imp);
    if (imp.type == model::ImportType::kClusterSetIP) {
      if (auto it = ips.find(key); it != ips.end()) imp.clusterset_ip = it->second;
    }
    out.push_back(std::move(imp));
  }
  return out;
}

}  // namespace meridian::mcs
