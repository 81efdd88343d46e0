// The conditions of a ServiceExport's status, as KEP-1645 (MCS API) defines
// them: Valid (False with NoService / InvalidServiceType), Ready (the
// export is published to the ClusterSet) and Conflict (True with
// PortConflict / TypeConflict / SessionAffinityConflict on every export of a
// conflicted service). Pure: the writer (export_status_writer.h) sends them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controller/export_publisher.h"
#include "mcs/export_builder.h"

namespace meridian::controller {

// What the last sync says of one ServiceExport: published (with its
// merged state) or invalid (with the reason), or neither (not yet synced
// with the registry).
struct ExportOutcome {
  std::optional<ExportState> published;
  std::optional<mcs::ExportProblem> invalid;
};

// The status.conditions array (metav1.Condition shape). A condition whose
// status, reason and message are those of `previous` keeps its
// lastTransitionTime; a changed one gets `now` (RFC 3339).
nlohmann::json ExportConditions(const ExportOutcome& outcome, const nlohmann::json& previous,
                                const std::string& now);

}  // namespace meridian::controller
