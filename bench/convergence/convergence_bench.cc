// convergence-bench: how long an export change in the registry takes to
// reach the BPF maps of every node. It fills the registry with a synthetic
// ClusterSet (C clusters, S services, each exported by two clusters), waits
// for the agents to install it, then changes one export at a time (an
// endpoint toggles ready) and reads each agent's status.json until every
// agent has applied that revision. The agents stamp applied_unix_ms when a
// revision reaches the kernel, so the figure is registry write -> map write.
// With --change decision the timed change is a propagation decision for
// one service instead (6:3 replicas between its two exporting clusters,
// then 3:6, ...): decision write -> weighted Maglev tables in every map.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "mcs/records.h"
#include "mcs/registry_keys.h"
#include "registry/registry.h"

namespace {

using namespace meridian;

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct AgentView {
  std::string registry_state;  // "connected" once the agent has listed the registry
  std::int64_t applied_revision = 0;
  std::int64_t applied_ms = 0;
};

// The "registry" object of status.json. The bench polls every few ms while
// the agents work on the same CPUs, so it must not parse the whole file
// (the imports list is ~200 KB at 1,000 services): it reads the file only
// when it changed, and the registry object only (it precedes "imports").
AgentView ReadStatus(const std::string& path) {
  static std::map<std::string, std::pair<struct timespec, AgentView>> last;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {};
  auto& [mtime, cached] = last[path];
  if (mtime.tv_sec == st.st_mtim.tv_sec && mtime.tv_nsec == st.st_mtim.tv_nsec) return cached;
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  AgentView v;
  auto begin = text.find("\"registry\": {");
  if (begin == std::string::npos) return v;
  begin += 12;  // at the '{'
  // The matching '}', skipping braces inside strings (error messages).
  std::size_t end = begin;
  int depth = 0;
  bool in_string = false;
  for (; end < text.size(); ++end) {
    char c = text[end];
    if (in_string) {
      if (c == '\\')
        ++end;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      break;
    }
  }
  if (end >= text.size()) return v;
  try {
    auto j = nlohmann::json::parse(text.substr(begin, end - begin + 1));
    v.registry_state = j["state"].get<std::string>();
    v.applied_revision = j["applied_revision"].get<std::int64_t>();
    v.applied_ms = j["applied_unix_ms"].get<std::int64_t>();
  } catch (const std::exception&) {
    return v;  // caught mid-rename: not cached, read again next time
  }
  mtime = st.st_mtim;
  cached = v;
  return v;
}

model::Cluster MakeCluster(int c) {
  model::Cluster cl;
  cl.meta.key.name = fmt::format("b{}", c);
  cl.id = static_cast<std::uint32_t>(c);
  auto cidr = *model::Cidr::Parse(fmt::format("10.{}.0.0/16", 100 + c));
  cl.pod_cidrs = {cidr};
  cl.tunnel_endpoints = {{*model::Ipv4Address::Parse(fmt::format("172.31.{}.1", c)), {cidr}}};
  return cl;
}

model::ExportedService MakeExport(int c, int s, bool second_ready) {
  model::ExportedService e{.cluster = fmt::format("b{}", c),
                           .service = {"bench", fmt::format("svc{}", s)}};
  e.ports = {{"http", model::Protocol::kTcp, 80}};
  e.export_creation_ms = 1;
  for (int k = 0; k < 2; ++k) {
    model::ExportedEndpoint ep{.address = *model::Ipv4Address::Parse(fmt::format(
                                   "10.{}.{}.{}", 100 + c, (s / 100) % 256, (s % 100) * 2 + k + 1)),
                               .ports = {{"http", model::Protocol::kTcp, 8080}}};
    ep.conditions.ready = k == 0 || second_ready;
    e.endpoints.push_back(std::move(ep));
  }
  return e;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  auto i = static_cast<std::size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"convergence-bench: registry export change -> map update on every agent"};
  std::string url;
  int clusters = 10, services = 1000, changes = 50;
  std::vector<std::string> statuses;
  std::string csv, change = "export";
  app.add_option("--change", change,
                 "What a timed change writes: export (an endpoint toggles ready) or decision (a "
                 "PropagationDecision reweights the service's two clusters)")
      ->check(CLI::IsMember({"export", "decision"}))
      ->capture_default_str();
  app.add_option("--registry", url, "Registry URL the agents watch")->required();
  app.add_option("--clusters", clusters, "Clusters in the synthetic ClusterSet")
      ->capture_default_str();
  app.add_option("--services", services, "Exported services (each by two clusters)")
      ->capture_default_str();
  app.add_option("--changes", changes, "Timed export changes")->capture_default_str();
  app.add_option("--status", statuses, "status.json of every agent (repeat)")->required();
  app.add_option("--csv", csv, "Append one line per change: clusters,services,change,ms");
  CLI11_PARSE(app, argc, argv);
  if (clusters < 2 || clusters > 200) {
    std::cerr << "--clusters must be 2..200\n";
    return 2;
  }
  auto reg = registry::OpenRegistry(url);
  if (!reg) {
    std::cerr << reg.error().message << "\n";
    return 1;
  }
  auto& r = **reg;

  // Every agent must be up and connected before the clock starts: an agent
  // that cannot reach the registry would otherwise be timed by a stale
  // status.json, or not at all.
  auto t_wait = std::chrono::steady_clock::now();
  for (const auto& path : statuses) {
    while (ReadStatus(path).registry_state != "connected") {
      if (std::chrono::steady_clock::now() - t_wait > std::chrono::seconds(30)) {
        std::cerr << path << ": the agent did not report registry state connected within 30 s\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Fill.
  auto t_fill = std::chrono::steady_clock::now();
  for (int c = 1; c <= clusters; ++c) {
    auto cl = MakeCluster(c);
    if (auto p = r.Put(mcs::ClusterInfoKey(cl.meta.key.name), mcs::EncodeClusterInfo(cl, 0)); !p) {
      std::cerr << p.error().message << "\n";
      return 1;
    }
  }
  std::int64_t last = 0;
  for (int s = 0; s < services; ++s) {
    for (int k = 0; k < 2; ++k) {
      int c = 1 + (s + k) % clusters;
      auto e = MakeExport(c, s, true);
      auto p = r.Put(mcs::ExportKey(e.cluster, e.service), mcs::EncodeExportedService(e));
      if (!p) {
        std::cerr << p.error().message << "\n";
        return 1;
      }
    }
    model::ObjectKey key{"bench", fmt::format("svc{}", s)};
    auto ip = model::Ipv4Address(0x0aff0000u + 1 + static_cast<std::uint32_t>(s));  // 10.255.x.y
    auto p = r.Put(mcs::ImportKey(key), mcs::EncodeImportRecord(key, ip));
    if (!p) {
      std::cerr << p.error().message << "\n";
      return 1;
    }
    last = *p;
  }
  auto fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_fill).count();
  // Full sync: wait for every agent to apply the last fill revision.
  auto t_sync = std::chrono::steady_clock::now();
  for (;;) {
    bool all = std::all_of(statuses.begin(), statuses.end(), [&](const std::string& s) {
      return ReadStatus(s).applied_revision >= last;
    });
    if (all) break;
    if (std::chrono::steady_clock::now() - t_sync > std::chrono::seconds(120)) {
      std::cerr << "agents did not apply revision " << last << " within 120 s\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double sync_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_sync).count();
  fmt::print(
      "filled {} clusters, {} services ({} records) in {:.2f} s; agents synced {:.2f} s later\n",
      clusters, services, clusters + 3 * services, fill_s, sync_s);

  std::vector<double> ms;
  for (int i = 0; i < changes; ++i) {
    int s = (i * 7919) % services;
    int c = 1 + s % clusters;
    std::int64_t t0 = 0;
    Result<std::int64_t> rev = Error{""};
    if (change == "decision") {
      // The service's exporters are clusters 1 + s % C and 1 + (s + 1) % C.
      const std::string a = fmt::format("b{}", c), b = fmt::format("b{}", 1 + (s + 1) % clusters);
      model::PropagationDecision d{
          .service = {"bench", fmt::format("svc{}", s)},
          .replicas_per_cluster = {{a, i % 2 ? 3u : 6u}, {b, i % 2 ? 6u : 3u}},
          .generation = i + 1,
          .workload = "Deployment bench/" + fmt::format("svc{}", s)};
      t0 = NowMs();
      rev = r.Put(mcs::DecisionKey(d.service), mcs::EncodeDecision(d));
    } else {
      auto e = MakeExport(c, s, i % 2 == 1);  // toggle the second endpoint
      t0 = NowMs();
      rev = r.Put(mcs::ExportKey(e.cluster, e.service), mcs::EncodeExportedService(e));
    }
    if (!rev) {
      std::cerr << rev.error().message << "\n";
      return 1;
    }
    std::int64_t worst = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (const auto& path : statuses) {
      for (;;) {
        auto v = ReadStatus(path);
        if (v.applied_revision >= *rev) {
          worst = std::max(worst, v.applied_ms - t0);
          break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
          std::cerr << path << " did not apply revision " << *rev << "\n";
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    ms.push_back(static_cast<double>(worst));
    if (!csv.empty()) {
      std::ofstream(csv, std::ios::app)
          << fmt::format("{},{},{},{}\n", clusters, services, i, worst);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let agents settle
  }
  if (change == "decision") {
    // The changes must have reached the datapath as weights, not only as a
    // revision: the last decision's frontend is weighted by it everywhere.
    const std::string want = fmt::format("bench/svc{}", ((changes - 1) * 7919) % services);
    for (const auto& path : statuses) {
      std::ifstream in(path);
      auto j = nlohmann::json::parse(in, nullptr, false);
      bool found = false;
      for (const auto& f : j.value("weighted_frontends", nlohmann::json::array())) {
        found |= f.value("service", "") == want && f.value("decision_generation", 0) == changes;
      }
      if (!found) {
        std::cerr << path << ": " << want << " is not weighted by decision generation " << changes
                  << "\n";
        return 1;
      }
    }
  }
  fmt::print(
      "convergence over {} changes, {} agents: p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms\n",
      changes, statuses.size(), Percentile(ms, 0.5), Percentile(ms, 0.99),
      *std::max_element(ms.begin(), ms.end()));
  fmt::print(
      "RESULT change={} clusters={} services={} agents={} p50_ms={:.0f} p99_ms={:.0f} "
      "max_ms={:.0f} "
      "sync_s={:.2f}\n",
      change, clusters, services, statuses.size(), Percentile(ms, 0.5), Percentile(ms, 0.99),
      *std::max_element(ms.begin(), ms.end()), sync_s);
  return 0;
}
