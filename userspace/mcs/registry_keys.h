// The registry key layout of the ClusterSet (DESIGN.md, "Registry"):
//   /meridian/v1/clusters/<cluster>/info
//   /meridian/v1/clusters/<cluster>/exports/<ns>/<svc>
//   /meridian/v1/imports/<ns>/<svc>
//   /meridian/v1/decisions/<ns>/<svc>
//   /meridian/v1/scheduler/leader
#pragma once

#include <string>
#include <variant>

#include "common/result.h"
#include "model/object_ref.h"

namespace meridian::mcs {

inline constexpr char kClustersPrefix[] = "/meridian/v1/clusters/";
inline constexpr char kImportsPrefix[] = "/meridian/v1/imports/";
inline constexpr char kDecisionsPrefix[] = "/meridian/v1/decisions/";
// Held under a lease by the elected scheduler (meridian-controller
// --scheduler); its value names the holder.
inline constexpr char kSchedulerLeaderKey[] = "/meridian/v1/scheduler/leader";

std::string ClusterPrefix(const std::string& cluster);  // .../clusters/<cluster>/
std::string ClusterInfoKey(const std::string& cluster);
std::string ExportKey(const std::string& cluster, const model::ObjectKey& service);
std::string ImportKey(const model::ObjectKey& service);
std::string DecisionKey(const model::ObjectKey& service);

struct ClusterInfoKeyParts {
  std::string cluster;
};
struct ExportKeyParts {
  std::string cluster;
  model::ObjectKey service;
};
struct ImportKeyParts {
  model::ObjectKey service;
};
struct DecisionKeyParts {
  model::ObjectKey service;
};
struct SchedulerLeaderKeyParts {};
using ParsedKey = std::variant<ClusterInfoKeyParts, ExportKeyParts, ImportKeyParts,
                               DecisionKeyParts, SchedulerLeaderKeyParts>;

// Error (naming the key and the expected shapes) for anything outside the
// layout, e.g. /meridian/v1/clusters/c1/exports/ns (no service name).
Result<ParsedKey> ParseKey(const std::string& key);

}  // namespace meridian::mcs
