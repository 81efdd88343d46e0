// schedule-bench: scheduling decisions per second and latency per decision
// (issue 16's figure: 5,000 policies over 100 clusters; Karmada publishes a
// p99 of about 32 ms per schedule at 100 clusters, goal p99 <= 1 ms and
// >= 100x its throughput).
//
// Each policy is generated from a fixed seed: one of the four strategies
// (Duplicated, static weights, dynamic weights, Aggregated), a cluster
// affinity (all, a label selector, a region, a list of names), a workload of
// 1-500 replicas with its own UID; the 100 clusters have labels, provider,
// region, zone and 0-400 available replicas. Every decision is timed alone
// (steady_clock around Schedule()), then rescheduled with 10 % more replicas
// from its own decision (the scale-up path) and timed again. Every decision
// is checked: Divided ones place exactly the workload's replicas, and a
// scale up never takes a replica from a cluster (static weights).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "propagation/scheduler.h"

namespace {

using namespace meridian::propagation;

struct Input {
  Policy policy;
  Workload workload;
};

std::vector<MemberCluster> MakeClusters(int n, std::mt19937& rng) {
  const char* regions[] = {"eu-west", "eu-central", "us-east", "us-west", "ap-south"};
  const char* providers[] = {"aws", "gcp", "azure"};
  std::vector<MemberCluster> out;
  for (int i = 0; i < n; ++i) {
    MemberCluster c;
    c.name = fmt::format("member{:03}", i);
    c.region = regions[rng() % 5];
    c.provider = providers[rng() % 3];
    c.zones = {c.region + "-" + static_cast<char>('a' + rng() % 3)};
    c.labels = {{"tier", rng() % 2 ? "gold" : "silver"}, {"env", rng() % 4 ? "prod" : "dev"}};
    c.available_replicas = static_cast<std::int32_t>(rng() % 401);
    out.push_back(std::move(c));
  }
  return out;
}

Input MakeInput(int i, int clusters, std::mt19937& rng) {
  Input in;
  in.policy.name = fmt::format("p{}", i);
  in.policy.ns = "default";
  in.policy.selectors = {{.api_version = "apps/v1", .kind = "Deployment"}};
  switch (rng() % 4) {
    case 0:
      break;  // every cluster
    case 1:
      in.policy.affinity.label_selector = LabelSelector{.match_labels = {{"tier", "gold"}}};
      break;
    case 2:
      in.policy.affinity.field_expressions = {
          {"region", Requirement::Op::kIn, {"eu-west", "eu-central"}}};
      break;
    default:
      for (int k = 0; k < 10; ++k) {
        in.policy.affinity.cluster_names.push_back(
            fmt::format("member{:03}", rng() % static_cast<unsigned>(clusters)));
      }
  }
  in.policy.strategy = static_cast<Strategy>(rng() % 4);
  if (in.policy.strategy == Strategy::kStaticWeight) {
    in.policy.static_weights = {
        {.target = {.label_selector = LabelSelector{.match_labels = {{"env", "prod"}}}},
         .weight = 1 + static_cast<std::int64_t>(rng() % 5)},
        {.target = {.field_expressions = {{"provider", Requirement::Op::kIn, {"aws"}}}},
         .weight = 1 + static_cast<std::int64_t>(rng() % 5)}};
  }
  in.workload = {.api_version = "apps/v1",
                 .kind = "Deployment",
                 .name = fmt::format("w{}", i),
                 .ns = "default",
                 .uid = fmt::format("{:08x}-0000-4000-8000-{:012x}", rng(), i),
                 .replicas = 1 + static_cast<std::int32_t>(rng() % 500)};
  return in;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  int policies = 5000, clusters = 100;
  unsigned seed = 16;
  bool quiet = false;
  CLI::App app{
      "schedule-bench: scheduling decisions per second and per-decision latency "
      "(propagation/scheduler.h) over generated PropagationPolicies and clusters"};
  app.add_option("--policies", policies, "Policies (one workload each)")->capture_default_str();
  app.add_option("--clusters", clusters, "Member clusters")->capture_default_str();
  app.add_option("--seed", seed, "Generator seed")->capture_default_str();
  app.add_flag("--quiet", quiet, "Print only failures");
  CLI11_PARSE(app, argc, argv);

  std::mt19937 rng(seed);
  const auto members = MakeClusters(clusters, rng);
  std::vector<Input> inputs;
  for (int i = 0; i < policies; ++i) inputs.push_back(MakeInput(i, clusters, rng));

  std::vector<double> first_us, scale_us;
  int unschedulable = 0, failures = 0;
  auto t_all = std::chrono::steady_clock::now();
  for (auto& in : inputs) {
    auto t0 = std::chrono::steady_clock::now();
    auto d = Schedule(in.policy, in.workload, members, {});
    auto t1 = std::chrono::steady_clock::now();
    first_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (!d.ok()) {
      ++unschedulable;
      continue;
    }
    std::int64_t sum = 0;
    for (const auto& c : d->clusters) sum += c.replicas;
    if (in.policy.strategy != Strategy::kDuplicated && sum != in.workload.replicas) {
      std::fprintf(stderr, "%s: %lld replicas placed, %d wanted\n", in.policy.name.c_str(),
                   static_cast<long long>(sum), in.workload.replicas);
      ++failures;
    }
    Workload bigger = in.workload;
    bigger.replicas += std::max(1, in.workload.replicas / 10);
    t0 = std::chrono::steady_clock::now();
    auto up = Schedule(in.policy, bigger, members, {.clusters = d->clusters});
    t1 = std::chrono::steady_clock::now();
    scale_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (up.ok() && in.policy.strategy == Strategy::kStaticWeight) {
      for (const auto& before : d->clusters) {
        auto it = std::find_if(up->clusters.begin(), up->clusters.end(),
                               [&](const ClusterReplicas& c) { return c.name == before.name; });
        if (it == up->clusters.end() || it->replicas < before.replicas) {
          std::fprintf(stderr, "%s: scale up took a replica from %s\n", in.policy.name.c_str(),
                       before.name.c_str());
          ++failures;
        }
      }
    }
  }
  const double total_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
  const double decisions = static_cast<double>(first_us.size() + scale_us.size());
  if (!quiet) {
    std::printf("| figure | value |\n| --- | ---: |\n");
    std::printf("| policies x clusters | %d x %d |\n", policies, clusters);
    std::printf("| decisions (first + scale-up) | %.0f |\n", decisions);
    std::printf("| unschedulable (not enough capacity), counted, not failures | %d |\n",
                unschedulable);
    std::printf("| decisions per second (one core, whole run) | %.0f |\n", decisions / total_s);
    std::printf("| first decision p50 / p99 / max | %.1f / %.1f / %.1f us |\n",
                Percentile(first_us, 0.5), Percentile(first_us, 0.99), Percentile(first_us, 1.0));
    std::printf("| scale-up decision p50 / p99 / max | %.1f / %.1f / %.1f us |\n",
                Percentile(scale_us, 0.5), Percentile(scale_us, 0.99), Percentile(scale_us, 1.0));
    std::printf("| Karmada's published p99 at 100 clusters / ours | 32 ms / %.3f ms (%.0fx) |\n",
                Percentile(first_us, 0.99) / 1000, 32000 / Percentile(first_us, 0.99));
  }
  if (failures) std::fprintf(stderr, "schedule-bench: %d property failures\n", failures);
  return failures ? 1 : 0;
}
