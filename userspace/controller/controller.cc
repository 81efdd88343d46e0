#include "controller/controller.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/run_until.h"
#include "common/unix_time.h"
#include "mcs/export_builder.h"
#include "mcs/import_merge.h"
#include "model/service_import.h"

namespace meridian::controller {

namespace asio = boost::asio;

int Controller::Run() {
  auto cidr = model::Cidr::Parse(options_.clusterset_cidr);
  if (!cidr) {
    spdlog::error("--clusterset-cidr '{}' is not an IPv4 CIDR with zero host bits",
                  options_.clusterset_cidr);
    return 1;
  }
  clusterset_cidr_ = *cidr;
  // A malformed URL is the operator's mistake: stop. An unreachable
  // registry is not: keep retrying, as the agent does, so controllers may
  // start before etcd.
  if (auto s = registry::CheckRegistryUrl(options_.registry_url); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  // With the API as source, one client serves the reflectors and the
  // ServiceExport status writes.
  std::shared_ptr<kube::KubeClient> client;
  if (options_.source == "kubernetes") {
    auto opened = sources::OpenKubeClient(options_.kubeconfig);
    if (!opened) {
      spdlog::error("{}", opened.error().message);
      return 1;
    }
    client = *opened;
    status_writer_ = std::make_unique<ExportStatusWriter>(io_, client);
    import_writer_ = std::make_unique<ImportWriter>(io_, client);
    share_writer_ = std::make_unique<ShareWriter>(io_, client);
  }
  auto source =
      sources::OpenSource(sources::SourceOptions{.spec = options_.source,
                                                 .kubeconfig = options_.kubeconfig,
                                                 .owners_file = OwnersFile(),
                                                 .client = client,
                                                 .debounce = std::chrono::milliseconds(100)});
  if (!source.ok()) {
    spdlog::error("{}", source.error().message);
    return 1;
  }
  source_ = std::move(source).value();
  source_->Start(io_, [this] {
    if (publisher_) Sync();
  });

  if (!options_.once) {
    if (auto s = StartHealth(); !s) {
      spdlog::error("{}", s.error().message);
      return 1;
    }
    if (auto s = StartMetrics(); !s) {
      spdlog::error("{}", s.error().message);
      return 1;
    }
  }
  WaitForFirstSync();
  if (auto s = ResolveIdentity(); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (publisher_) {
      auto report = publisher_->Withdraw();
      spdlog::info("signal {}: withdrew {} records, released {} ClusterSet IPs{}", sig,
                   report.deletes, report.released_imports,
                   report.errors.empty() ? "" : "; errors: " + report.errors.front());
    } else {
      spdlog::info("signal {}: the registry was never reached; nothing to withdraw", sig);
    }
    if (scheduler_lease_) scheduler_lease_->Release();
    stopping_ = true;
    WriteStatus(last_report_, last_problems_, last_invalid_);
    io_.stop();
  });
  Connect();
  io_.run();
  return exit_code_;
}

// The owners file keeps the winner of a manifest conflict across restarts:
// in --state-dir, else beside --status-file, else nowhere.
std::string Controller::OwnersFile() const {
  std::string dir = options_.state_dir;
  if (dir.empty() && !options_.status_file.empty()) {
    dir = std::filesystem::path(options_.status_file).parent_path().string();
    if (dir.empty()) dir = ".";
  }
  if (dir.empty()) return "";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return dir + "/manifest-owners-" + options_.cluster + ".json";
}

void Controller::Connect() {
  last_sync_ = std::chrono::steady_clock::now();
  auto reg = registry::OpenRegistry(options_.registry_url);
  if (!reg) {
    if (options_.once) {
      spdlog::error("{}", reg.error().message);
      exit_code_ = 1;
      io_.stop();
      return;
    }
    if (reg.error().message != registry_error_) {
      spdlog::warn("registry unreachable: {} (retrying every {} ms)", reg.error().message,
                   kConnectRetry.count());
    }
    registry_error_ = reg.error().message;
    WriteStatus(SyncReport{}, {});
    renew_timer_.expires_after(kConnectRetry);
    renew_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Connect();
    });
    return;
  }
  if (!registry_error_.empty())
    spdlog::info("registry reached: {}", registry::RedactRegistryUrl(options_.registry_url));
  registry_error_.clear();
  registry_ = std::move(*reg);
  publisher_.emplace(*registry_, PublisherOptions{.cluster = options_.cluster,
                                                  .lease_ttl = options_.lease_ttl,
                                                  .clusterset_cidr = clusterset_cidr_,
                                                  .orphan_grace = 2 * options_.lease_ttl});
  Sync();
  if (options_.once) {
    StopWhenWritesDone(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    return;
  }
  ScheduleRenew();
}

// --once: the status writes of the one sync finish (or time out) first.
void Controller::StopWhenWritesDone(std::chrono::steady_clock::time_point deadline) {
  const bool idle = (!status_writer_ || status_writer_->idle()) &&
                    (!import_writer_ || import_writer_->idle()) &&
                    (!share_writer_ || share_writer_->idle());
  if (idle || std::chrono::steady_clock::now() > deadline) {
    if (status_writer_) WriteStatus(last_report_, last_problems_, last_invalid_);  // the counts
    io_.stop();
    return;
  }
  renew_timer_.expires_after(std::chrono::milliseconds(20));
  renew_timer_.async_wait([this, deadline](const boost::system::error_code& ec) {
    if (!ec) StopWhenWritesDone(deadline);
  });
}

// Publishing a partial view would withdraw exports that exist: the first
// sync waits for the source's first complete read, but not for ever (an
// unreachable API server is reported in the status while Sync waits on).
void Controller::WaitForFirstSync() {
  RunUntil(
      io_, [this] { return source_->Synced(); }, std::chrono::seconds(30));
}

Status Controller::ResolveIdentity() {
  const std::string flag = options_.cluster;
  for (const auto& p : source_->Read().snapshot.cluster_properties) {
    if (p.meta.key.name != model::kClusterIdProperty) continue;
    if (!flag.empty() && flag != p.value) {
      spdlog::warn("ClusterProperty {} names this cluster {}; --cluster {} is overridden",
                   model::kClusterIdProperty, p.value, flag);
    }
    options_.cluster = p.value;
  }
  if (options_.cluster.empty()) {
    return Error{
        fmt::format("no cluster name: --cluster is not given and {} has no ClusterProperty {}{}",
                    source_->Describe(), model::kClusterIdProperty,
                    source_->Synced() ? "" : " (it was not read whole within 30 s)")};
  }
  if (options_.cluster != flag) {
    logging::ConfigureLogging(options_.log_format, ControllerLogContext(options_.cluster));
    spdlog::info("cluster name {} (from the ClusterProperty {})", options_.cluster,
                 model::kClusterIdProperty);
  }
  return Status::Ok();
}

Status Controller::StartHealth() {
  auto server = health::HealthServer::StartListening(
      io_, options_.health_listen, [this](const std::string& path) { return Health(path); });
  if (!server.ok()) return server.error();
  health_ = std::move(server).value();
  return Status::Ok();
}

// /metrics (controller_metrics.h): the figures of the status file, read
// at scrape time, plus the publisher's record writes and the sync time.
Status Controller::StartMetrics() {
  instruments_ = RegisterControllerMetrics(metrics_, [this] { return MetricsView(); });
  auto server = health::StartMetricsServer(io_, options_.metrics_listen, metrics_);
  if (!server.ok()) return server.error();
  metrics_server_ = std::move(server).value();
  return Status::Ok();
}

ControllerMetricsView Controller::MetricsView() const {
  ControllerMetricsView v;
  v.state = State(last_report_, last_problems_);
  v.registry_up = registry_error_.empty() && publisher_.has_value();
  v.syncs = static_cast<std::uint64_t>(syncs_);
  for (const auto& e : last_report_.exports) {
    ++v.exports_valid;
    if (!e.conflicts.empty()) ++v.exports_in_conflict;
  }
  v.exports_invalid = last_invalid_.size();
  v.problems = last_problems_.size() + last_report_.errors.size();
  if (status_writer_) {
    const auto& c = status_writer_->counters();
    v.export_status = {.present = true, .writes = c.patches, .failures = c.failures};
  }
  if (import_writer_) {
    const auto& c = import_writer_->counters();
    v.imports = {
        .present = true, .writes = c.applies, .deletes = c.deletes, .failures = c.failures};
  }
  if (share_writer_) {
    const auto& c = share_writer_->counters();
    v.shares = {.present = true, .writes = c.patches, .failures = c.failures};
  }
  if (!options_.scheduler_manifests.empty()) {
    v.scheduler = true;
    v.leading = scheduler_lease_ && scheduler_lease_->leading();
    v.decisions = last_round_.planned.size();
    for (const auto& p : last_round_.planned) {
      if (!p.error.empty()) ++v.decision_errors;
    }
  }
  return v;
}

std::string Controller::State(const SyncReport& report,
                              const std::vector<std::string>& problems) const {
  if (stopping_) return "stopped";
  if (!registry_error_.empty()) return "unreachable";
  return report.errors.empty() && problems.empty() ? "publishing" : "degraded";
}

// /healthz: the loop runs (a sync or a connection attempt within a lease
// TTL and 10 s).
// /readyz: the registry is reached and the source was read whole.
health::HealthReply Controller::Health(const std::string& path) const {
  const auto since = std::chrono::steady_clock::now() - last_sync_;
  if (path == "/healthz") {
    // Before the first sync the start may wait 30 s for the source.
    const bool healthy = since < options_.lease_ttl + std::chrono::seconds(syncs_ == 0 ? 40 : 10);
    return {healthy ? 200u : 503u, "text/plain; charset=utf-8",
            healthy ? "ok\n" : "no sync for too long\n"};
  }
  std::string reasons;
  if (!registry_error_.empty() || !publisher_) reasons += "registry not reached\n";
  if (!source_->Synced()) reasons += "source not fully read\n";
  if (reasons.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
  return {503, "text/plain; charset=utf-8", reasons};
}

void Controller::ScheduleRenew() {
  renew_timer_.expires_after(options_.lease_ttl / 3);
  renew_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Sync();
    ScheduleRenew();
  });
}

void Controller::Sync() {
  ++syncs_;
  last_sync_ = std::chrono::steady_clock::now();
  struct ObserveDuration {
    const ControllerInstruments& in;
    std::chrono::steady_clock::time_point started;
    ~ObserveDuration() {
      if (!in.sync_duration) return;
      in.sync_duration->Observe(
          {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  } observe{instruments_, last_sync_};
  auto state = source_->Read();
  std::vector<std::string> problems = std::move(state.errors);
  if (!source_->Synced()) {
    // Publishing a partial view would withdraw exports that exist; the
    // records already published stay until their lease runs out.
    problems.push_back(source_->Describe() + ": waiting for the first complete read");
    WriteStatus(SyncReport{}, problems);
    return;
  }
  const model::Cluster* self = nullptr;
  for (const auto& c : state.snapshot.clusters) {
    if (c.meta.key.name == options_.cluster) self = &c;
  }
  for (const auto& p : state.snapshot.cluster_properties) {
    // The KEP: a cluster's id is fixed while it is a member. A new one
    // takes effect at the next start (which rejoins under it).
    if (p.meta.key.name == model::kClusterIdProperty && p.value != options_.cluster) {
      problems.push_back(fmt::format(
          "ClusterProperty {} now names this cluster {}; publishing as {} until restarted",
          model::kClusterIdProperty, p.value, options_.cluster));
    }
  }
  SyncReport report;
  std::vector<mcs::ExportProblem> invalid;
  if (!self) {
    problems.push_back(fmt::format("no Cluster manifest named {} in {}: nothing is published",
                                   options_.cluster, source_->Describe()));
  } else {
    AdoptCreationTimes();
    for (const auto& se : state.snapshot.service_exports) {
      first_seen_ms_.emplace(se.meta.key, UnixNowMs());
    }
    auto built = mcs::BuildExports(state.snapshot, options_.cluster, first_seen_ms_);
    for (const auto& p : built.problems) problems.push_back(p.reason + ": " + p.message);
    invalid = std::move(built.problems);
    report = publisher_->Sync(*self, built.exports);
    if (instruments_.record_writes) {
      instruments_.record_writes->Add({{"op", "put"}}, report.puts);
      instruments_.record_writes->Add({{"op", "keepalive"}}, report.keepalives);
      instruments_.record_writes->Add({{"op", "delete"}}, report.deletes);
    }
    LogConflictChanges(report);
    WriteBackConditions(state.snapshot, report, invalid);
    WriteBackImports(state.snapshot, problems);
    if (report.puts || report.deletes || !report.errors.empty()) {
      spdlog::info("published {} exports: {} writes, {} deletes, {} renewals{}",
                   built.exports.size(), report.puts, report.deletes, report.keepalives,
                   report.errors.empty() ? "" : fmt::format(", {} errors", report.errors.size()));
    }
  }
  RunScheduler();
  for (const auto& e : report.errors) spdlog::warn("{}", e);
  for (const auto& p : problems) spdlog::debug("{}", p);
  WriteStatus(report, problems, invalid);
}

void Controller::RunScheduler() {
  if (options_.scheduler_manifests.empty() || !registry_) return;
  if (!scheduler_lease_) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    scheduler_lease_.emplace(*registry_, fmt::format("{}/{}/{}", options_.cluster, host, getpid()),
                             options_.lease_ttl);
  }
  auto leading = scheduler_lease_->Step();
  if (!leading.ok()) {
    scheduler_error_ = leading.error().message;
    return;
  }
  scheduler_error_.clear();
  if (!*leading) {
    last_round_ = {};
    return;
  }
  auto records = registry_->List("/meridian/v1/");
  if (!records.ok()) {
    scheduler_error_ = records.error().message;
    return;
  }
  // Only clusters alive in the registry are candidates: a cluster whose
  // controller stopped renewing is gone from the view, and its replicas
  // are placed elsewhere.
  // Records are decoded once per revision (the cache the import
  // write-back uses too), not on every round.
  auto view = mcs::BuildClusterSetView(*records, {}, &record_cache_);
  last_round_ =
      RunScheduleRound(*registry_, options_.scheduler_manifests, view.clusters, view.decisions);
  for (const auto& e : last_round_.errors) spdlog::debug("scheduler: {}", e);
}

void Controller::AdoptCreationTimes() {
  if (publisher_->adopted()) return;
  auto previous = publisher_->Adopt();
  if (!previous) return;  // Sync reports the error and tries again next time
  // A ServiceExport without creationTimestamp is as old as its first
  // publication, which the previous run's record remembers: the older of
  // that and what this process saw is kept.
  for (const auto& [key, ms] : *previous) {
    auto [it, inserted] = first_seen_ms_.emplace(key, ms);
    if (!inserted) it->second = std::min(it->second, ms);
  }
}

// Each ServiceExport's KEP conditions, from this sync. Not when the
// registry could not be read: the exports' state is then unknown, and the
// last written conditions stay.
void Controller::WriteBackConditions(const model::ResourceSnapshot& snapshot,
                                     const SyncReport& report,
                                     const std::vector<mcs::ExportProblem>& invalid) {
  if (!status_writer_ || (report.exports.empty() && !report.errors.empty())) return;
  std::map<model::ObjectKey, ExportOutcome> outcomes;
  for (const auto& se : snapshot.service_exports) outcomes[se.meta.key];
  for (const auto& e : report.exports) {
    if (auto it = outcomes.find(e.service); it != outcomes.end()) it->second.published = e;
  }
  for (const auto& p : invalid) {
    if (auto it = outcomes.find(p.service); it != outcomes.end()) it->second.invalid = p;
  }
  status_writer_->Update(outcomes);
}

// Every import of the ClusterSet, as the agents merge them (the same
// records, the same rules), so the objects say what the datapath does.
// One List of the registry per sync; records are decoded once per revision.
void Controller::WriteBackImports(const model::ResourceSnapshot& snapshot,
                                  std::vector<std::string>& problems) {
  if (!import_writer_) return;
  auto records = registry_->List("/meridian/v1/");
  if (!records) {
    // The objects keep what they last said; the next sync tries again.
    problems.push_back("ServiceImports not updated: " + records.error().message);
    return;
  }
  auto view = mcs::BuildClusterSetView(*records, snapshot.clusters, &record_cache_);
  import_writer_->Update(mcs::MergeImports(std::move(view.exports), view.clusterset_ips));
  if (share_writer_) share_writer_->Update(view.decisions, options_.cluster);
}

// One line when an import's conflicts appear or change, one when they clear.
void Controller::LogConflictChanges(const SyncReport& report) {
  if (report.exports.empty() && !report.errors.empty()) return;  // the registry was not read
  std::map<model::ObjectKey, std::vector<std::string>> now;
  for (const auto& e : report.exports) {
    for (const auto& c : e.conflicts) now[e.service].push_back(c.ToString());
  }
  for (const auto& [key, lines] : now) {
    auto it = conflicts_.find(key);
    if (it != conflicts_.end() && it->second == lines) continue;
    spdlog::warn("export {}: conflict in the ClusterSet: {}", key.ToString(),
                 fmt::join(lines, "; "));
  }
  for (const auto& [key, lines] : conflicts_) {
    if (!now.count(key)) spdlog::info("export {}: conflict cleared", key.ToString());
  }
  conflicts_ = std::move(now);
}

void Controller::WriteStatus(const SyncReport& report, const std::vector<std::string>& problems,
                             const std::vector<mcs::ExportProblem>& invalid) {
  if (&report != &last_report_) {  // kept for the "stopped" write on exit, and /metrics
    last_report_ = report;
    last_problems_ = problems;
    last_invalid_ = invalid;
  }
  if (options_.status_file.empty()) return;
  nlohmann::json j;
  j["cluster"] = options_.cluster;
  j["registry"] = registry::RedactRegistryUrl(options_.registry_url);
  j["state"] = State(report, problems);
  // Stamped on every write; writes happen at least every lease_ttl / 3, so
  // an older heartbeat means the controller is gone without saying so.
  j["pid"] = static_cast<long>(getpid());
  j["heartbeat_unix_ms"] = UnixNowMs();
  j["heartbeat_interval_ms"] = (options_.lease_ttl / 3).count();
  j["syncs"] = syncs_;
  j["last_sync"] = {{"puts", report.puts},
                    {"keepalives", report.keepalives},
                    {"deletes", report.deletes},
                    {"released_imports", report.released_imports}};
  j["errors"] = report.errors;
  if (!registry_error_.empty()) j["errors"].push_back("registry unreachable: " + registry_error_);
  j["problems"] = problems;
  if (status_writer_) {
    const auto& c = status_writer_->counters();
    j["export_status_writes"] = {
        {"patches", c.patches}, {"failures", c.failures}, {"last_error", c.last_error}};
  }
  if (share_writer_) {
    const auto& c = share_writer_->counters();
    nlohmann::json applied = nlohmann::json::object();
    for (const auto& [key, replicas] : share_writer_->applied()) applied[key.ToString()] = replicas;
    j["share_writes"] = {{"patches", c.patches},
                         {"missing", c.missing},
                         {"failures", c.failures},
                         {"last_error", c.last_error},
                         {"applied", applied}};
  }
  if (import_writer_) {
    const auto& c = import_writer_->counters();
    j["import_writes"] = {{"imports", import_writer_->written()},
                          {"applies", c.applies},
                          {"deletes", c.deletes},
                          {"failures", c.failures},
                          {"last_error", c.last_error}};
  }
  if (!options_.scheduler_manifests.empty()) {
    nlohmann::json decisions = nlohmann::json::array();
    for (const auto& p : last_round_.planned) {
      decisions.push_back({{"service", p.decision.service.ToString()},
                           {"workload", p.decision.workload},
                           {"policy", p.policy},
                           {"generation", p.decision.generation},
                           {"replicas", p.decision.replicas_per_cluster},
                           {"affinity_name", p.decision.affinity_name},
                           {"error", p.error}});
    }
    const bool leading = scheduler_lease_ && scheduler_lease_->leading();
    j["scheduler"] = {{"leading", leading},
                      {"identity", scheduler_lease_ ? scheduler_lease_->identity() : ""},
                      {"holder", scheduler_lease_ ? scheduler_lease_->holder() : ""},
                      {"error", scheduler_error_},
                      {"published", last_round_.published},
                      {"deleted", last_round_.deleted},
                      {"errors", last_round_.errors},
                      {"decisions", decisions}};
  }
  // Per ServiceExport, the KEP's conditions: Valid (false with its reason
  // when the export is not published) and Conflict (every conflict of the
  // merged import, on every export that is part of it).
  nlohmann::json exports = nlohmann::json::array();
  for (const auto& e : report.exports) {
    nlohmann::json conflicts = nlohmann::json::array();
    for (const auto& c : e.conflicts) conflicts.push_back(c.ToString());
    exports.push_back({{"name", e.service.ToString()},
                       {"valid", true},
                       {"import_type", model::ToString(e.import_type)},
                       {"session_affinity", model::ToString(e.session_affinity)},
                       {"clusters", e.clusters},
                       {"conflicts", conflicts}});
  }
  for (const auto& p : invalid) {
    exports.push_back({{"name", p.service.ToString()},
                       {"valid", false},
                       {"reason", p.reason},
                       {"message", p.message}});
  }
  j["exports"] = exports;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(options_.status_file).parent_path(),
                                      ec);
  // Replace, never throw, on bytes that are not UTF-8: no input may stop
  // the controller from reporting (or from publishing, which follows).
  if (auto w = WriteFileAtomically(
          options_.status_file,
          j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      !w) {
    spdlog::warn("status: {}", w.error().message);
  }
}

}  // namespace meridian::controller
