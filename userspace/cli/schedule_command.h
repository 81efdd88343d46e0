// `meridianctl schedule`: the what-if scheduler. One PropagationPolicy, one
// workload and the member Clusters in, Karmada's decision out, computed by
// the same code as the scheduler (propagation/scheduler.h). A stable
// interface:
//   meridianctl schedule --policy POLICY.yaml --workload WORKLOAD.yaml
//                        --clusters CLUSTERS.yaml [--previous DECISION.json]
//                        [-o json|table]
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace meridian::cli {

struct ScheduleCommand {
  CLI::App* app = nullptr;
  std::string policy, workload, clusters, previous;
  std::string output = "json";
};

// Adds the subcommand to `parent`; `cmd` must outlive parsing.
void AddScheduleCommand(CLI::App& parent, ScheduleCommand& cmd);
// Exit codes: 0 decided (the decision on stdout); 2 unschedulable (one line
// on stderr naming why); 1 unreadable or invalid input (every problem on
// stderr, one per line).
int RunScheduleCommand(const ScheduleCommand& cmd);

}  // namespace meridian::cli
