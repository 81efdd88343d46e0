#include "cli/schedule_command.h"

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "propagation/scheduler.h"
#include "sources/scheduling_decoder.h"

namespace meridian::cli {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json ToJson(const propagation::Decision& d) {
  nlohmann::json out{{"clusters", nlohmann::json::array()}, {"excluded", nlohmann::json::array()}};
  if (!d.affinity_name.empty()) out["affinityName"] = d.affinity_name;
  for (const auto& c : d.clusters)
    out["clusters"].push_back({{"name", c.name}, {"replicas", c.replicas}});
  for (const auto& x : d.excluded)
    out["excluded"].push_back({{"name", x.name}, {"reason", x.reason}});
  return out;
}

void PrintTable(const propagation::Decision& d) {
  if (!d.affinity_name.empty()) std::cout << "affinity group: " << d.affinity_name << "\n";
  std::cout << fmt::format("{:<24} {:>8}\n", "CLUSTER", "REPLICAS");
  for (const auto& c : d.clusters) std::cout << fmt::format("{:<24} {:>8}\n", c.name, c.replicas);
  if (d.excluded.empty()) return;
  std::cout << fmt::format("\n{:<24} {}\n", "EXCLUDED", "REASON");
  for (const auto& x : d.excluded) std::cout << fmt::format("{:<24} {}\n", x.name, x.reason);
}

}  // namespace

void AddScheduleCommand(CLI::App& parent, ScheduleCommand& cmd) {
  cmd.app = parent.add_subcommand(
      "schedule",
      "What-if scheduler: the decision (cluster -> replicas) Karmada's algorithm makes for one "
      "PropagationPolicy, one workload and the member Clusters (docs/propagation.md)");
  cmd.app->add_option("--policy", cmd.policy, "One PropagationPolicy (policy.karmada.io/v1alpha1)")
      ->required();
  cmd.app
      ->add_option("--workload", cmd.workload,
                   "The workload (e.g. an apps/v1 Deployment) with metadata.uid and spec.replicas")
      ->required();
  cmd.app
      ->add_option("--clusters", cmd.clusters,
                   "Member Clusters (cluster.karmada.io/v1alpha1, one per document), with "
                   "status.availableReplicas")
      ->required();
  cmd.app->add_option("--previous", cmd.previous,
                      "The decision in force, as this command printed it (-o json)");
  cmd.app->add_option("-o,--output", cmd.output, "json or table")
      ->check(CLI::IsMember({"json", "table"}))
      ->capture_default_str();
}

int RunScheduleCommand(const ScheduleCommand& cmd) {
  auto read = [](const std::string& path) -> std::optional<std::string> {
    auto text = ReadFile(path);
    if (!text) std::cerr << "meridianctl schedule: cannot read " << path << "\n";
    return text;
  };
  auto policy_text = read(cmd.policy), workload_text = read(cmd.workload),
       clusters_text = read(cmd.clusters);
  if (!policy_text || !workload_text || !clusters_text) return 1;
  auto policy = sources::DecodePropagationPolicy(*policy_text, cmd.policy);
  auto workload = sources::DecodeWorkload(*workload_text, cmd.workload);
  auto clusters = sources::DecodeMemberClusters(*clusters_text, cmd.clusters);
  propagation::PreviousDecision previous;
  bool ok = policy.ok() && workload.ok() && clusters.ok();
  for (const auto* e :
       {policy.ok() ? nullptr : &policy.error(), workload.ok() ? nullptr : &workload.error(),
        clusters.ok() ? nullptr : &clusters.error()}) {
    if (e) std::cerr << e->message << "\n";
  }
  if (!cmd.previous.empty()) {
    auto text = read(cmd.previous);
    if (!text) return 1;
    auto decoded = sources::DecodeDecisionJson(*text, cmd.previous);
    if (!decoded.ok()) {
      std::cerr << decoded.error().message << "\n";
      ok = false;
    } else {
      previous = std::move(decoded).value();
    }
  }
  if (!ok) return 1;
  auto decision = propagation::Schedule(*policy, *workload, *clusters, previous);
  if (!decision.ok()) {
    std::cerr << "meridianctl schedule: unschedulable: " << decision.error().message << "\n";
    return 2;
  }
  if (cmd.output == "table") {
    PrintTable(*decision);
  } else {
    std::cout << ToJson(*decision).dump(2) << "\n";
  }
  return 0;
}

}  // namespace meridian::cli
