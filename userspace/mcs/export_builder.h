// ExportBuilder: the controller's side of MCS. From one cluster's Services,
// EndpointSlices and ServiceExports, the ExportedService records it
// publishes. A ServiceExport without its Service exports nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/exported_service.h"
#include "model/object_ref.h"
#include "model/snapshot.h"

namespace meridian::mcs {

struct ExportProblem {
  model::ObjectKey service;
  // The KEP's Valid=False reason: "NoService", "InvalidServiceType".
  std::string reason;
  std::string message;
};

struct BuiltExports {
  std::vector<model::ExportedService> exports;  // sorted by service key
  std::vector<ExportProblem> problems;
};

// `first_seen_ms` supplies the export creation time of a ServiceExport that
// has no metadata.creationTimestamp (manifests written by hand); the caller
// keeps it stable across calls.
BuiltExports BuildExports(const model::ResourceSnapshot& snapshot, const std::string& cluster,
                          const std::map<model::ObjectKey, std::int64_t>& first_seen_ms);

// "2024-05-01T10:00:00Z" / "...00.123Z" / "...00+02:00" -> ms since the
// epoch; nullopt for anything else.
std::optional<std::int64_t> ParseRfc3339Ms(const std::string& text);

}  // namespace meridian::mcs
