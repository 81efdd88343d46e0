#include "agent/agent.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "agent/frontend_table.h"
#include "agent/nodeport_config.h"
#include "common/listen_address.h"
#include "common/run_until.h"
#include "common/unix_time.h"
#include "datapath/affinity_purge.h"
#include "datapath/bpffs.h"
#include "datapath/cgroup_attach.h"
#include "datapath/ct_gc.h"
#include "datapath/ct_gc_interval.h"
#include "datapath/flow_counts.h"
#include "datapath/stats_event.h"
#include "datapath/stats_reader.h"
#include "datapath/tc_attach.h"
#include "datapath/udp_flow_purge.h"
#include "desired/desired_state.h"
#include "desired/node_port_clashes.h"
#include "dns/import_catalog.h"
#include "health/service_health.h"
#include "mcs/clusterset_view.h"
#include "mcs/import_merge.h"

namespace meridian::agent {

namespace asio = boost::asio;

Agent::Agent(AgentOptions options) : options_(std::move(options)) {
  if (options_.state_dir.empty()) options_.state_dir = "/run/meridian/" + options_.node;
  status_path_ = options_.state_dir + "/status.json";
  status_.node = options_.node;
  status_.source = options_.source;
  status_.pid = static_cast<long>(getpid());
  status_.heartbeat_interval_ms = options_.resync_interval.count();
}

Agent::~Agent() = default;

Status Agent::Start() {
  if (auto s = datapath::ValidateNodeName(options_.node); !s) return s;
  if (auto s = datapath::EnsureBpffsMounted(options_.bpffs); !s) return s;

  // The owners file keeps the winner of a manifest conflict across restarts.
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  if (ec) return Error{fmt::format("--state-dir {}: {}", options_.state_dir, ec.message())};
  // Probes answer from the start: /readyz says what is still missing.
  if (!options_.once) {
    if (auto s = StartHealth(); !s) return s;
    if (auto s = StartMetrics(); !s) return s;
    StartControlSocket();
    StartPeerProber();
  }
  auto source = sources::OpenSource(
      sources::SourceOptions{.spec = options_.source,
                             .kubeconfig = options_.kubeconfig,
                             .owners_file = options_.state_dir + "/manifest-owners.json",
                             .node = options_.node,
                             .debounce = options_.debounce});
  if (!source.ok()) return source.error();
  source_ = std::move(source).value();
  // Changes before the first reconcile are in its Read.
  source_->Start(io_, [this] {
    if (running_) Reconcile();
  });
  WaitForFirstSync();
  auto config = TunnelConfig();
  if (!config.ok()) return config.error();
  datapath::LoadOptions load{.pin_dir = datapath::NodePinDir(options_.bpffs, options_.node),
                             .sizes = options_.map_sizes,
                             .config = *config};
  auto dp = datapath::NodeDatapath::Load(load);
  if (!dp.ok()) return dp.error();
  datapath_ = std::move(dp).value();
  status_.reused_pinned_maps = datapath_->reused_pins();
  status_.conntrack.capacity = options_.map_sizes.ct;

  auto writer = datapath::MapWriter::Recover(datapath_->maps());
  if (!writer.ok()) return writer.error();
  writer_.emplace(std::move(writer).value());
  spdlog::info("datapath loaded, maps pinned in {} ({}); {} services and {} backends installed",
               load.pin_dir, datapath_->reused_pins() ? "reused" : "new",
               writer_->installed_services(), writer_->installed_backends());
  if (datapath_->ct_migration_pending()) {
    spdlog::info(
        "conntrack of map ABI 8 found: {} entries copied into the new {}; the rest once "
        "the new programs are attached",
        datapath_->ct_entries_migrated(), MER_MAP_NAME(ct));
  }
  for (const datapath::MapResize& r : datapath_->resized_maps()) {
    spdlog::info("map recreated with its entries ({})", r.Describe());
  }
  if (!datapath_->resized_maps().empty() || datapath_->resize_pending()) {
    spdlog::info("{} entries copied into recreated maps; {}", datapath_->resized_entries_copied(),
                 datapath_->resize_pending()
                     ? "what the old programs write is copied once the new ones are attached"
                     : "done");
  }

  if (uplink_) {
    // XDP for NodePorts and/or decapsulation, tc for decapsulation unless
    // XDP does it; whatever is not wanted is detached (a switch of
    // --uplink-decap or --nodeport-mode never leaves a stale program).
    const bool want_xdp = options_.uplink_decap == "xdp" || options_.nodeport_mode != "off";
    const bool want_tc = options_.uplink_decap == "tc";
    std::string how = want_tc ? "tc ingress" : "XDP";
    if (want_xdp) {
      auto mode = datapath::AttachUplinkXdp(uplink_->ifindex, uplink_->name,
                                            datapath_->xdp_from_uplink_fd());
      if (!mode.ok()) return mode.error();
      if (!want_tc) how = "XDP (" + *mode + ")";
      if (options_.nodeport_mode != "off") how += ", NodePorts in XDP (" + *mode + ")";
    } else if (auto s = datapath::DetachOtherUplinkMode(uplink_->ifindex, uplink_->name, "tc");
               !s) {
      return s;
    }
    if (want_tc) {
      if (auto s = datapath::AttachUplinkProgram(uplink_->ifindex, uplink_->name,
                                                 datapath_->from_uplink_fd());
          !s) {
        return s;
      }
    } else if (auto s = datapath::DetachOtherUplinkMode(uplink_->ifindex, uplink_->name, "xdp");
               !s) {
      return s;
    }
    spdlog::info("uplink {} ({}, MTU {}): cluster {} (id {}), VXLAN port {}, decap in {}",
                 uplink_->name, uplink_->address.ToString(), uplink_->mtu,
                 options_.cluster.empty() ? "none" : options_.cluster, config->cluster_id,
                 options_.vxlan_port, how);
  }
  if (!options_.socket_lb_cgroup.empty()) {
    if (auto s = datapath::AttachSocketLb(options_.socket_lb_cgroup, datapath_->socket_lb_fds());
        !s) {
      return s;
    }
    spdlog::info(
        "socket load balancer attached to cgroup {} (connect4, sendmsg4, recvmsg4, "
        "getpeername4)",
        options_.socket_lb_cgroup);
  }
  if (options_.nodeport_mode != "off" && !options_.once) {
    // kube-proxy binds its health check ports to the NodePort addresses.
    std::vector<std::string> addresses;
    for (const auto& a : nodeport_addresses_) addresses.push_back(a.ToString());
    service_health_ = std::make_unique<health::ServiceHealthServers>(
        io_, std::move(addresses), [this] { return last_desired_.has_value() && !apply_pending_; });
  }
  auto links = PodLinkWatcher::Open(options_.pod_interfaces);
  if (!links.ok()) return links.error();
  links_.emplace(std::move(links).value());

  if (!options_.registry_url.empty()) {
    if (auto s = registry::CheckRegistryUrl(options_.registry_url); !s) return s;
    status_.registry.url = registry::RedactRegistryUrl(options_.registry_url);
    status_.registry.state = "connecting";
    registry_watcher_ = std::make_unique<RegistryWatcher>(
        options_.registry_url, io_, [this](RegistryUpdate u) { OnRegistryUpdate(std::move(u)); },
        options_.registry_lease_poll);
    if (!options_.once && options_.dns_listen != "off") {
      if (auto s = StartDns(); !s) return s;
    }
  }
  return Status::Ok();
}

Status Agent::StartHealth() {
  auto server = health::HealthServer::StartListening(
      io_, options_.health_listen, [this](const std::string& path) { return Health(path); });
  if (!server.ok()) return server.error();
  health_ = std::move(server).value();
  if (health_) spdlog::info("health: /healthz and /readyz on {}", options_.health_listen);
  return Status::Ok();
}

// /metrics (agent_metrics.h): read at scrape time from the status and the
// pinned counters; nothing is computed while nobody scrapes.
Status Agent::StartMetrics() {
  reconcile_metrics_ = RegisterAgentMetrics(
      metrics_,
      AgentMetricsSources{
          .status = [this]() -> const AgentStatus& { return FreshStatus(); },
          .stats_fd = [this] { return datapath_ ? datapath_->maps().stats : -1; },
          .map_sizes = options_.map_sizes,
          .dns_counters = [this]() -> const dns::DnsCounters* {
            return dns_ ? &dns_->counters() : nullptr;
          },
          .backend_flows = [this] { return NamedFlowCounts(); },
          .tunnel_stats_fd = [this] { return datapath_ ? datapath_->maps().tunnel_stats : -1; }});
  auto server = health::StartMetricsServer(io_, options_.metrics_listen, metrics_);
  if (!server.ok()) return server.error();
  metrics_server_ = std::move(server).value();
  return Status::Ok();
}

// <state-dir>/agent.sock: meridianctl's way in. It reads the live status
// (not the file's last write) and the metrics; without it meridianctl
// falls back to status.json, so a socket that cannot be made is a warning.
void Agent::StartControlSocket() {
  const std::string path = options_.state_dir + "/agent.sock";
  auto server = health::HealthServer::StartUnix(
      io_, path, [this](const std::string& p) { return ControlRequest(p); });
  if (!server.ok()) {
    spdlog::warn("control socket: {}; meridianctl reads status.json instead",
                 server.error().message);
    return;
  }
  control_server_ = std::move(server).value();
  spdlog::info("control socket: {}", path);
}

health::HealthReply Agent::ControlRequest(const std::string& path) {
  if (path == "/status") return {200, "application/json", RenderStatus(FreshStatus())};
  if (path == "/metrics") {
    return {200, metrics::kPrometheusContentType, metrics::RenderPrometheus(metrics_.Collect())};
  }
  if (path == "/frontends") {
    if (!writer_) return {503, "text/plain; charset=utf-8", "no frontend installed yet\n"};
    return {
        200, "application/json",
        RenderFrontendsJson(writer_->FrontendsById(), last_desired_ ? &*last_desired_ : nullptr)};
  }
  if (path == "/healthz" || path == "/readyz") return Health(path);
  return {404, "text/plain; charset=utf-8",
          "not found: /status, /frontends, /metrics, /healthz and /readyz are served\n"};
}

// Reachability of the peers is information, not a duty: without a raw
// socket the agent runs on and says so.
void Agent::StartPeerProber() {
  if (options_.cluster.empty() || options_.peer_probe_interval.count() == 0) return;
  auto prober = health::PeerProber::Start(io_, {.interval = options_.peer_probe_interval},
                                          [this] { PublishStatus(); });
  if (!prober.ok()) {
    spdlog::warn("{}; peer reachability is not reported", prober.error().message);
    return;
  }
  peer_prober_ = std::move(prober).value();
}

// Every peer endpoint (or gateway) the status lists for probing.
static std::vector<std::string> ProbedAddresses(const std::vector<ClusterStatus>& clusters) {
  std::vector<std::string> out;
  for (const auto& c : clusters) {
    for (const auto& p : c.probes) out.push_back(p.address);
  }
  return out;
}

void Agent::ProbePeers() {
  if (!peer_prober_) return;
  std::vector<model::Ipv4Address> targets;
  for (const auto& address : ProbedAddresses(status_.clusters)) {
    if (auto a = model::Ipv4Address::Parse(address)) targets.push_back(*a);
  }
  peer_prober_->SetTargets(targets);
}

// kube-proxy's /healthz: healthy while the control loop runs (a reconcile
// within three resync intervals), with the last update time. /readyz: the
// node does its job: the source was read whole, the last apply reached the
// kernel and, with a registry, the registry answers. Each unmet condition
// is a line of the 503 body.
health::HealthReply Agent::Health(const std::string& path) const {
  const auto since =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_reconcile_);
  if (path == "/healthz") {
    // Starting (the first read of the source may take first_sync_timeout)
    // is healthy; a loop that stopped reconciling is not.
    const bool healthy =
        since < (running_ ? 3 * options_.resync_interval
                          : options_.first_sync_timeout + std::chrono::seconds(30));
    nlohmann::json body = {
        {"lastUpdated", status_.last_apply_time},
        {"currentTime", NowRfc3339()},
        {"lastReconcileAgoMs", since.count()},
        {"nodeHealthy", healthy},
    };
    return {healthy ? 200u : 503u, "application/json", body.dump() + "\n"};
  }
  std::string reasons;
  if (!running_) reasons += "starting\n";
  if (!source_ || !source_->Synced()) reasons += "source not fully read\n";
  if (apply_pending_) reasons += "maps not programmed (last apply failed or pending)\n";
  if (registry_watcher_ && status_.registry.state != "connected") {
    reasons += "registry " + status_.registry.state + "\n";
  }
  if (reasons.empty()) return {200, "text/plain; charset=utf-8", "ok\n"};
  return {503, "text/plain; charset=utf-8", reasons};
}

Status Agent::StartDns() {
  const std::string& listen = options_.dns_listen;
  auto parsed = ParseListenAddress("--dns-listen", listen);
  if (!parsed) return parsed.error();
  auto server = dns::DnsServer::Start(
      io_, dns::DnsServerOptions{
               .listen_address = parsed->address,
               .port = parsed->port,
               .udp_rate_limit = {.per_second = static_cast<double>(options_.dns_rate_limit),
                                  .burst = 2.0 * options_.dns_rate_limit}});
  if (!server.ok()) {
    return Error{fmt::format("--dns-listen {}: {}", listen, server.error().message)};
  }
  dns_ = std::move(server).value();
  status_.dns.listen = listen;
  status_.dns.port = dns_->udp_port();
  spdlog::info("DNS: serving clusterset.local on {} (UDP and TCP)", listen);
  return Status::Ok();
}

// The DNS server answers from the same merged imports the datapath was
// built from; the registry revision is the zone serial.
void Agent::UpdateDns(const std::vector<model::ServiceImport>& imports) {
  auto serial = static_cast<std::uint32_t>(registry_revision_);
  dns_->SetCatalog(dns::BuildDnsCatalog(imports, serial));
  status_.dns.names = imports.size();
  status_.dns.serial = serial;
}

// The node's datapath configuration: the local cluster's id comes from its
// Cluster manifest, read once here (it is compiled into the programs'
// read-only data; a change needs an agent restart), and so do the NodePort
// settings and addresses.
Result<mer_config> Agent::TunnelConfig() {
  mer_config config{};
  config.ct = options_.ct_timeouts;
  if (options_.traffic_counters) config.flags |= MER_CFG_TRAFFIC;
  if (options_.foreign_vxlan == "drop") config.flags |= MER_CFG_DROP_FOREIGN_VXLAN;
  if (!options_.uplink.empty()) {
    auto uplink = ReadUplink(options_.uplink);
    if (!uplink.ok()) return uplink.error();
    if (!options_.node_ip.empty()) {
      auto ip = model::Ipv4Address::Parse(options_.node_ip);
      if (!ip) return Error{fmt::format("--node-ip {}: not an IPv4 address", options_.node_ip)};
      uplink->address = *ip;
    }
    uplink_ = *uplink;
    config.uplink_ifindex = static_cast<std::uint32_t>(uplink_->ifindex);
    config.uplink_mtu = uplink_->mtu;
    if (options_.uplink_decap == "xdp") config.flags |= MER_CFG_XDP_DECAP;
  }
  if (options_.nodeport_mode != "off") {
    if (!uplink_) return Error{"--nodeport-mode " + options_.nodeport_mode + " needs --uplink"};
    auto addresses = NodePortAddresses(options_.nodeport_addresses);
    if (!addresses.ok()) return addresses.error();
    nodeport_addresses_ = std::move(addresses).value();
    if (auto s = AcceptLocalSource(uplink_->name); !s) {
      if (!options_.nodeport_mode_defaulted) return s.error();
      // Not asked for by name: the node's other services keep running, and
      // status says why NodePorts are not served (on every reconcile).
      nodeport_disabled_ = fmt::format(
          "NodePorts from outside are off: {} (or pass --nodeport-mode=off)", s.error().message);
      spdlog::error("{}", nodeport_disabled_);
      options_.nodeport_mode = "off";
      nodeport_addresses_.clear();
    }
  }
  if (options_.nodeport_mode != "off") {
    config.flags |= MER_CFG_NODEPORT;
    if (options_.nodeport_mode == "dsr") config.flags |= MER_CFG_DSR;
    config.snat_addr_be = uplink_->address.network_order();
    // DSR frames from the other nodes are received in either mode (a
    // cluster can switch modes node by node); they use the tunnel's port.
    config.vxlan_port_be = htons(options_.vxlan_port);
    std::vector<std::string> shown;
    for (const auto& a : nodeport_addresses_) shown.push_back(a.ToString());
    spdlog::info("NodePorts {}-{} on {} ({}), LoadBalancer IPs and externalIPs in XDP on {}",
                 options_.nodeport_min, options_.nodeport_max,
                 shown.empty() ? "no address" : fmt::format("{}", fmt::join(shown, ", ")),
                 options_.nodeport_mode, uplink_->name);
  }
  if (options_.cluster.empty()) return config;
  if (!uplink_) {
    return Error{
        fmt::format("--cluster {} needs --uplink (the underlay interface)", options_.cluster)};
  }
  auto read = source_->Read();
  const model::Cluster* local = nullptr;
  for (const auto& c : read.snapshot.clusters) {
    if (c.meta.key.name == options_.cluster) local = &c;
  }
  if (!local) {
    return Error{fmt::format("--cluster {}: no Cluster manifest with that name in {}{}",
                             options_.cluster, source_->Describe(),
                             source_->Synced() ? "" : " (not fully read yet)")};
  }
  cluster_id_ = local->id;
  config.cluster_id = local->id;
  config.node_ip_be = uplink_->address.network_order();
  config.vxlan_port_be = htons(options_.vxlan_port);
  if (local->gateway && *local->gateway == uplink_->address) config.flags |= MER_CFG_GATEWAY;
  return config;
}

int Agent::Run() {
  if (auto s = Start(); !s) {
    spdlog::error("{}", s.error().message);
    // Only where the state dir is known to be this node's: an invalid
    // --node must not create a directory named after it.
    if (datapath::ValidateNodeName(options_.node)) {
      status_.errors = {"start: " + s.error().message};
      status_.state = "stopped";
      PublishStatus();
    }
    return 1;
  }
  HandleLinkEvents();  // the initial dump is already queued on the socket
  // The old programs are replaced everywhere now: what they wrote to an
  // ABI 8 conntrack since the load is copied, and that map let go.
  if (datapath_->ct_migration_pending()) {
    auto copied = datapath_->FinishCtMigration();
    if (!copied.ok()) {
      spdlog::error("conntrack migration: {}", copied.error().message);
      // Reported by every reconcile (each rewrites the errors), until a
      // restart: flows of the old conntrack may have lost their entries.
      migration_errors_.push_back("conntrack migration: " + copied.error().message);
    } else {
      spdlog::info("conntrack migration done: {} entries copied in all",
                   datapath_->ct_entries_migrated());
    }
  }
  if (datapath_->resize_pending()) {
    auto copied = datapath_->FinishMapResizes();
    if (!copied.ok()) {
      spdlog::error("map resize: {}", copied.error().message);
      migration_errors_.push_back("map resize: " + copied.error().message);
    } else {
      spdlog::info("map resize done: {} entries copied in all",
                   datapath_->resized_entries_copied());
    }
  }
  if (registry_watcher_) {
    // Start from the ClusterSet's state rather than serve a manifests-only
    // state for a moment; an unreachable registry does not block startup.
    RunUntil(
        io_, [this] { return status_.registry.state != "connecting"; }, std::chrono::seconds(5));
  }
  running_ = true;
  Reconcile();
  if (options_.once) {
    Shutdown();
    return status_.errors.empty() ? 0 : 2;
  }

  signals_.async_wait([this](const boost::system::error_code&, int sig) {
    spdlog::info("signal {}: stopping", sig);
    Shutdown();
    io_.stop();
  });
  netlink_desc_.emplace(io_, dup(links_->fd()));
  ArmNetlink();
  ScheduleResync(options_.resync_interval);
  ScheduleCtGc();
  io_.run();
  return 0;
}

// A source that is not fully read (a Kubernetes LIST in flight) would
// make the first reconcile withdraw what it has not seen yet; wait for it,
// but not for ever: an unreachable API server must not keep the pinned
// datapath from being adopted and reported. Reconcile skips the apply
// until the source is synced.
void Agent::WaitForFirstSync() {
  if (!RunUntil(
          io_, [this] { return source_->Synced(); }, options_.first_sync_timeout)) {
    spdlog::warn("{}: not fully read after {} ms; serving the pinned state until it is",
                 source_->Describe(), options_.first_sync_timeout.count());
  }
}

void Agent::ArmNetlink() {
  netlink_desc_->async_wait(asio::posix::stream_descriptor::wait_read,
                            [this](const boost::system::error_code& ec) {
                              if (ec) return;
                              HandleLinkEvents();
                              ArmNetlink();
                            });
}

void Agent::ScheduleResync(std::chrono::milliseconds after) {
  resync_timer_.expires_after(after);
  resync_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    Reconcile();
    // A failed apply is retried soon; otherwise the resync is a safety net.
    ScheduleResync(apply_pending_ ? std::chrono::milliseconds(1000) : options_.resync_interval);
  });
}

void Agent::ScheduleCtGc() {
  if (options_.ct_gc_interval.count() == 0) return;
  if (ct_gc_next_.count() == 0) ct_gc_next_ = options_.ct_gc_interval;
  status_.conntrack.gc_interval_ms = ct_gc_next_.count();
  ct_gc_timer_.expires_after(ct_gc_next_);
  ct_gc_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    CollectIdleFlows();
    ScheduleCtGc();
  });
}

// Idle conntrack entries (datapath/ct_gc.h), counted as ct_expired in
// mer_stats and in status.json.
void Agent::CollectIdleFlows() {
  const auto started = Clock::now();
  const auto& maps = datapath_->maps();
  auto gc = datapath::CollectIdleFlows(maps.ct, datapath::MonotonicSeconds());
  auto& ct = status_.conntrack;
  if (!gc.ok()) {
    spdlog::warn("conntrack collector: {}", gc.error().message);
    ct.last_error = gc.error().message;
    return;
  }
  ct.last_error.clear();
  ct.collections++;
  ct.entries = gc->scanned - gc->deleted;
  ct.expired += gc->deleted;
  ct.last_collection_ms = MsSince(started);
  if (auto s = datapath::AddStatEvents(maps.stats, MER_STAT_CT_EXPIRED, gc->deleted); !s) {
    spdlog::warn("{}", s.error().message);
  }
  EstimateCtEvictions(gc->deleted);
  PruneFlowCounts();
  const auto next =
      datapath::NextCtGcInterval(ct_gc_next_, datapath::CtGcBoundsFor(options_.ct_gc_interval),
                                 gc->scanned, gc->deleted, ct.capacity);
  if (next != ct_gc_next_) {
    spdlog::debug("conntrack collector: next run in {} ms (deleted {} of {}, capacity {})",
                  next.count(), gc->deleted, gc->scanned, ct.capacity);
  }
  ct_gc_next_ = next;
  if (gc->deleted) {
    spdlog::debug("conntrack collector: {} idle entries deleted of {} in {:.1f} ms", gc->deleted,
                  gc->scanned, ct.last_collection_ms);
    // At most once per collection, and only when it changed something;
    // the resync's heartbeat writes it otherwise.
    PublishStatus();
  }
}

void Agent::PruneFlowCounts() {
  // Work with the change: a collection after nothing was removed has
  // nothing to look for among the pairs.
  if (!writer_ || !flow_prune_pending_) return;
  ++status_.conntrack.flow_pair_scans;
  const auto frontends = writer_->FrontendsById();
  const auto backends = writer_->BackendsById();
  const datapath::KeepPair alive = [&](std::uint32_t service_id, std::uint32_t backend_id) {
    return frontends.contains(service_id) && backends.contains(backend_id);
  };
  const auto& maps = datapath_->maps();
  std::size_t deleted = 0;
  for (const auto& [fd, name] : {std::pair{maps.flows, MER_MAP_NAME(flows)},
                                 std::pair{maps.traffic, MER_MAP_NAME(traffic)}}) {
    auto pruned = datapath::PrunePairs(fd, name, alive);
    if (!pruned.ok()) {
      spdlog::warn("pair counters: {}", pruned.error().message);
      return;  // tried again at the next collection
    }
    deleted += *pruned;
  }
  flow_prune_pending_ = false;
  if (deleted) {
    spdlog::debug("pair counters: {} entries of removed frontends or backends deleted", deleted);
  }
}

std::vector<BackendFlows> Agent::NamedFlowCounts() const {
  std::vector<BackendFlows> out;
  if (!writer_ || !datapath_) return out;
  auto counts = datapath::ReadFlowCounts(datapath_->maps().flows);
  if (!counts.ok()) {
    spdlog::warn("metrics: {}", counts.error().message);
    return out;
  }
  auto traffic = datapath::ReadPairTraffic(datapath_->maps().traffic);
  if (!traffic.ok()) {
    spdlog::warn("metrics: {}", traffic.error().message);
    traffic = std::vector<datapath::PairTraffic>{};  // the flows still count
  }
  const auto frontends = writer_->FrontendsById();
  const auto backends = writer_->BackendsById();
  // One row per pair found in either map (a socket-LB flow has no traffic;
  // a pair counted on another CPU only may have traffic and no flow yet).
  std::map<std::pair<std::uint32_t, std::uint32_t>, BackendFlows> pairs;
  auto row = [&](std::uint32_t service_id, std::uint32_t backend_id) -> BackendFlows* {
    auto f = frontends.find(service_id);
    auto b = backends.find(backend_id);
    if (f == frontends.end() || b == backends.end()) return nullptr;  // pruned later
    auto [it, added] = pairs.try_emplace({service_id, backend_id});
    if (added) it->second = {.frontend = f->second.ToString(), .backend = b->second.ToString()};
    return &it->second;
  };
  for (const auto& c : *counts) {
    if (auto* r = row(c.service_id, c.backend_id)) r->flows = c.flows;
  }
  for (const auto& t : *traffic) {
    if (auto* r = row(t.service_id, t.backend_id)) {
      r->packets = t.packets;
      r->bytes = t.bytes;
      r->has_traffic = true;
    }
  }
  out.reserve(pairs.size());
  for (auto& [key, r] : pairs) out.push_back(std::move(r));
  return out;
}

// The LRU's evictions (datapath/ct_eviction_estimate.h), counted as
// ct_evicted in mer_stats and in status.json, and logged: a table that
// evicts is too small for the node's flows, and established flows that
// lose their entries are balanced again by Maglev (the same backend while
// the backends are the same).
void Agent::EstimateCtEvictions(std::uint64_t collected) {
  const auto& maps = datapath_->maps();
  auto stats = datapath::ReadStats(maps.stats);
  if (!stats.ok()) {
    spdlog::warn("conntrack eviction estimate: {}", stats.error().message);
    return;
  }
  const std::uint64_t purged = status_.udp_flows_purged - ct_purged_at_last_collection_;
  ct_purged_at_last_collection_ = status_.udp_flows_purged;
  auto& ct = status_.conntrack;
  const std::uint64_t evicted = ct_evictions_.Update((*stats)[MER_STAT_CT_ENTRIES_ADDED].packets,
                                                     collected + purged, ct.entries);
  ct.evicted = ct_evictions_.evicted();
  if (evicted == 0) return;
  if (auto s = datapath::AddStatEvents(maps.stats, MER_STAT_CT_EVICTED, evicted); !s) {
    spdlog::warn("{}", s.error().message);
  }
  spdlog::warn(
      "conntrack is full: the LRU evicted about {} entries since the last collection ({} of {} "
      "in use); raise --max-conntrack",
      evicted, ct.entries, ct.capacity);
}

void Agent::HandleLinkEvents() {
  auto events = links_->Read();
  if (!events.ok()) {
    spdlog::warn("{}; re-reading all links", events.error().message);
    auto reopened = PodLinkWatcher::Open(options_.pod_interfaces);
    if (reopened.ok()) {
      links_.emplace(std::move(reopened).value());
      if (netlink_desc_) netlink_desc_.emplace(io_, dup(links_->fd()));
    }
    return;
  }
  if (events->addresses_changed) RefreshNodePortAddresses();
  for (const auto& ev : events->links) {
    if (ev.removed) {
      if (status_.attached_interfaces.erase(ev.name)) {
        spdlog::info("pod interface {} removed", ev.name);
        PublishStatus();
      }
      continue;
    }
    auto it = status_.attached_interfaces.find(ev.name);
    if (it != status_.attached_interfaces.end() && it->second == ev.ifindex) continue;
    Attach(ev.ifindex, ev.name);
  }
}

// kube-proxy serves NodePorts on the addresses the node has now: an
// address added (or removed) after the start gets (or loses) its
// frontends at once. The SNAT address is the uplink's, compiled into the
// programs at load: a change of it needs a restart (logged).
void Agent::RefreshNodePortAddresses() {
  if (options_.nodeport_mode == "off") return;
  auto addresses = NodePortAddresses(options_.nodeport_addresses);
  if (!addresses.ok()) {
    spdlog::warn("NodePort addresses: {}", addresses.error().message);
    return;
  }
  if (*addresses == nodeport_addresses_) return;
  std::vector<std::string> shown;
  for (const auto& a : *addresses) shown.push_back(a.ToString());
  spdlog::info("NodePort addresses now {}",
               shown.empty() ? "none" : fmt::format("{}", fmt::join(shown, ", ")));
  if (uplink_ &&
      std::find(addresses->begin(), addresses->end(), uplink_->address) == addresses->end()) {
    spdlog::warn(
        "the uplink address {} (the SNAT source) is no longer a NodePort address; "
        "restart the agent if it changed",
        uplink_->address.ToString());
  }
  nodeport_addresses_ = std::move(*addresses);
  if (service_health_) {
    std::vector<std::string> listen;
    for (const auto& a : nodeport_addresses_) listen.push_back(a.ToString());
    service_health_->SetAddresses(std::move(listen));
  }
  apply_pending_ = true;  // the next reconcile rebuilds the external frontends
  if (running_) Reconcile();
}

void Agent::Attach(int ifindex, const std::string& name) {
  auto s =
      datapath::AttachPodPrograms(ifindex, name, datapath_->from_pod_fd(), datapath_->to_pod_fd());
  if (!s) {
    spdlog::error("{}", s.error().message);
    return;
  }
  status_.attached_interfaces[name] = ifindex;
  spdlog::info("attached to pod interface {} (ifindex {})", name, ifindex);
  PublishStatus();
}

void Agent::OnRegistryUpdate(RegistryUpdate update) {
  if (update.leases) {
    // Information only: nothing to reconcile, the status shows them.
    cluster_leases_.clear();
    for (auto& l : *update.leases) cluster_leases_[l.key] = l;
    PublishStatus();
    return;
  }
  registry_error_ = update.error;
  registry_revision_ = std::max(registry_revision_, update.revision);
  if (ApplyRegistryUpdate(registry_records_, std::move(update))) registry_changed_ = true;
  status_.registry.state = registry_error_.empty() ? "connected" : "unreachable";
  status_.registry.error = registry_error_;
  status_.registry.revision = registry_revision_;
  status_.registry.records = registry_records_.size();
  // Updates that queued up while a reconcile ran are applied together: one
  // reconcile for the batch, not one per record.
  if (registry_reconcile_queued_) return;
  registry_reconcile_queued_ = true;
  asio::post(io_, [this] {
    registry_reconcile_queued_ = false;
    Reconcile();
  });
}

// The imports status: what `meridianctl` and operators read.
static std::vector<ImportStatus> DescribeImports(const std::vector<model::ServiceImport>& imports) {
  std::vector<ImportStatus> out;
  for (const auto& imp : imports) {
    ImportStatus s{.name = imp.key.ToString(),
                   .type = model::ToString(imp.type),
                   .clusterset_ip = imp.clusterset_ip ? imp.clusterset_ip->ToString() : "",
                   .session_affinity = model::ToString(imp.session_affinity),
                   .clusters = imp.Clusters()};
    for (const auto& p : imp.ports) {
      s.ports.push_back(fmt::format("{}{}{}/{}", p.name, p.name.empty() ? "" : ":", p.port,
                                    model::ToString(p.protocol)));
    }
    for (const auto& c : imp.conflicts) {
      s.conflicts.push_back(c.ToString());
    }
    if (imp.decision) {
      s.decision_generation = imp.decision->generation;
      s.decision_replicas = imp.decision->replicas_per_cluster;
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The ClusterSet's clusters, for status.json (meridianctl clusters): a
// few per ClusterSet, so described on every reconcile.
void Agent::DescribeClusters(const std::vector<model::Cluster>& clusters) {
  const std::int64_t now = UnixNowMs();
  std::map<std::string, std::int64_t> first_seen;
  std::vector<ClusterStatus> out;
  for (const auto& c : clusters) {
    const std::string& name = c.meta.key.name;
    auto seen = cluster_first_seen_ms_.find(name);
    first_seen[name] = seen == cluster_first_seen_ms_.end() ? now : seen->second;
    ClusterStatus s{.name = name,
                    .id = c.id,
                    .local = name == options_.cluster,
                    .source = c.meta.source.file,
                    .known_since_unix_ms = first_seen[name]};
    for (const auto& cidr : c.pod_cidrs) s.pod_cidrs.push_back(cidr.ToString());
    for (const auto& ep : c.tunnel_endpoints) {
      std::vector<std::string> cidrs;
      for (const auto& cidr : ep.pod_cidrs) cidrs.push_back(cidr.ToString());
      s.tunnel_endpoints.push_back(
          fmt::format("{} {}", ep.address.ToString(), fmt::join(cidrs, ",")));
    }
    if (c.gateway) s.tunnel_endpoints.push_back("gateway " + c.gateway->ToString());
    // What the prober watches: where this node's tunnel packets to the peer go.
    if (!s.local && peer_prober_) {
      if (c.gateway) {
        s.probes.push_back({.address = c.gateway->ToString()});
      } else {
        for (const auto& ep : c.tunnel_endpoints) {
          s.probes.push_back({.address = ep.address.ToString()});
        }
      }
    }
    out.push_back(std::move(s));
  }
  cluster_first_seen_ms_ = std::move(first_seen);
  const bool targets_changed = ProbedAddresses(out) != ProbedAddresses(status_.clusters);
  status_.clusters = std::move(out);
  if (targets_changed) ProbePeers();
}

// The frontends weighted by a propagation decision, for status.json (and
// so `meridianctl services`); re-rendered only when they change.
void Agent::DescribeWeights(const ReconcileInput& in, const desired::DesiredState& state) {
  std::map<std::uint32_t, std::string> cluster_names;
  for (const auto& c : in.snapshot.clusters) cluster_names[c.id] = c.meta.key.name;
  std::map<model::ObjectKey, const model::PropagationDecision*> decisions;
  for (const auto& imp : in.imports) {
    if (imp.decision) decisions[imp.key] = &*imp.decision;
  }
  std::vector<WeightedFrontend> weighted;
  for (const auto& [key, fe] : state.frontends) {
    if (!fe.decision_generation) continue;
    WeightedFrontend w{.frontend = key.ToString(),
                       .service = fe.service.ToString(),
                       .generation = *fe.decision_generation};
    const auto* d = decisions.count(fe.service) ? decisions[fe.service] : nullptr;
    for (const auto& b : fe.backends) {
      auto name = cluster_names.find(b.cluster_id);
      std::string cluster = b.cluster_id == 0             ? options_.cluster
                            : name == cluster_names.end() ? fmt::format("#{}", b.cluster_id)
                                                          : name->second;
      std::uint32_t replicas = 0;
      if (d) {
        auto r = d->replicas_per_cluster.find(cluster);
        if (r != d->replicas_per_cluster.end()) replicas = r->second;
      }
      w.backends.push_back({.backend = b.key.ToString(),
                            .cluster = std::move(cluster),
                            .replicas = replicas,
                            .weight = b.weight});
    }
    weighted.push_back(std::move(w));
  }
  if (weighted != status_.weighted) {
    status_.weighted = std::move(weighted);
    status_.weighted_json = RenderWeightsJson(status_.weighted);
  }
}

// One reconcile: gather the inputs, check them, build and apply the
// desired state when something changed, report. Each step is below.
void Agent::Reconcile() {
  ++status_.reconciles;
  const auto started = Clock::now();
  ApplyPhases phases;
  ReconcileInput in = Gather(phases);
  CheckClusterId(in);
  DescribeClusters(in.snapshot.clusters);
  for (auto& clash : desired::NodePortClashes(in.snapshot.services)) {
    in.errors.push_back(std::move(clash));
  }
  // Applying a partial view would withdraw services that exist.
  const bool synced = source_->Synced();
  if (!synced) in.errors.push_back(source_->Describe() + ": waiting for the first complete read");
  if (synced) SyncServiceHealth(in);
  LogErrorChanges(in.errors);
  last_reconcile_ = Clock::now();
  if (synced && (in.changed || apply_pending_ || registry_changed_)) {
    registry_changed_ = false;
    BuildAndApply(in, started, phases);
  }
  Report(std::move(in.errors), started);
}

// healthCheckNodePorts follow the manifests; only a change (or a port that
// could not be opened last time) recomputes them.
void Agent::SyncServiceHealth(ReconcileInput& in) {
  if (!service_health_) return;
  if (in.changed || !service_health_errors_.empty()) {
    auto wanted = health::ComputeServiceHealthTargets(in.snapshot, options_.node);
    const std::size_t before = service_health_->ports();
    service_health_errors_ = std::move(wanted.errors);
    for (auto& e : service_health_->Sync(wanted.targets)) {
      service_health_errors_.push_back(std::move(e));
    }
    if (service_health_->ports() != before) {
      spdlog::info("service health checks: {} healthCheckNodePort(s) served",
                   service_health_->ports());
    }
  }
  in.errors.insert(in.errors.end(), service_health_errors_.begin(), service_health_errors_.end());
}

double Agent::MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The manifests, then the registry's view of the ClusterSet: remote
// clusters, every export (merged into ServiceImports), ClusterSet IPs.
Agent::ReconcileInput Agent::Gather(ApplyPhases& phases) {
  const auto reading = Clock::now();
  auto read = source_->Read();
  phases.read = MsSince(reading);
  const auto merging = Clock::now();
  ReconcileInput in;
  in.changed = read.changed;
  in.errors = std::move(read.errors);
  if (!nodeport_disabled_.empty()) in.errors.push_back(nodeport_disabled_);
  in.errors.insert(in.errors.end(), migration_errors_.begin(), migration_errors_.end());
  // The manifests' own Clusters are kept apart: the registry's view
  // replaces them in the snapshot. The rest moves (10k services: a copy
  // cost 20 ms).
  in.manifest_clusters = read.snapshot.clusters;
  in.snapshot = std::move(read.snapshot);
  status_.node_object = {};
  for (const auto& n : in.snapshot.nodes) {
    if (n.meta.key.name != options_.node) continue;
    status_.node_object = {.found = true,
                           .internal_ip = n.internal_ip ? n.internal_ip->ToString() : "",
                           .external_ip = n.external_ip ? n.external_ip->ToString() : "",
                           .zone = n.zone,
                           .region = n.region};
  }
  if (registry_watcher_) {
    auto view = mcs::BuildClusterSetView(registry_records_, in.manifest_clusters, &record_cache_);
    status_.registry.rejected.clear();
    for (const auto& r : view.rejected) {
      in.errors.push_back(fmt::format("registry record {} rejected: {}", r.key, r.reason));
      status_.registry.rejected.emplace_back(r.key, r.reason);
    }
    if (!registry_error_.empty()) in.errors.push_back("registry unreachable: " + registry_error_);
    in.snapshot.clusters = std::move(view.clusters);
    in.imports = mcs::MergeImports(std::move(view.exports), view.clusterset_ips);
    for (auto& imp : in.imports) {
      if (auto d = view.decisions.find(imp.key); d != view.decisions.end())
        imp.decision = d->second;
    }
    auto described = DescribeImports(in.imports);
    if (described != status_.imports) {
      status_.imports = std::move(described);
      status_.imports_json = RenderImportsJson(status_.imports);
    }
    if (dns_) UpdateDns(in.imports);
  }
  phases.registry = MsSince(merging);
  return in;
}

// The id is compiled into the programs: a changed one is reported on every
// reconcile until it is restored or the agent restarts (checking only when
// the manifests changed let the next quiet reconcile hide it).
void Agent::CheckClusterId(ReconcileInput& in) const {
  if (options_.cluster.empty()) return;
  // The About API's name for this cluster (KEP-2149) is what the
  // controller publishes under; an agent named otherwise would not find
  // its own exports among the ClusterSet's.
  for (const auto& p : in.snapshot.cluster_properties) {
    if (p.meta.key.name == model::kClusterIdProperty && p.value != options_.cluster) {
      in.errors.push_back(fmt::format(
          "ClusterProperty {} names this cluster {}, but --cluster is {}: set --cluster to {}",
          model::kClusterIdProperty, p.value, options_.cluster, p.value));
    }
  }
  for (const auto& c : in.manifest_clusters) {
    if (c.meta.key.name == options_.cluster && c.id != cluster_id_) {
      in.errors.push_back(
          fmt::format("Cluster {}: spec.id changed from {} to {}; restart the agent to use it",
                      options_.cluster, cluster_id_, c.id));
    }
  }
}

// One line when an error appears, one when it goes away.
void Agent::LogErrorChanges(const std::vector<std::string>& errors) {
  std::set<std::string> current(errors.begin(), errors.end());
  for (const auto& e : current) {
    if (!logged_errors_.count(e)) spdlog::error("rejected: {} (serving the last good state)", e);
  }
  for (const auto& e : logged_errors_) {
    if (!current.count(e)) spdlog::info("resolved: {}", e);
  }
  logged_errors_ = std::move(current);
}

// Desired state -> map writer -> kernel. A failed apply is retried by the
// next reconcile (apply_pending_); the last good state stays in force.
void Agent::BuildAndApply(ReconcileInput& in, Clock::time_point started, ApplyPhases& phases) {
  const auto building = Clock::now();
  auto state = desired::BuildDesiredState(
      in.snapshot, in.imports,
      desired::DesiredOptions{.maglev = options_.maglev,
                              .local_cluster = options_.cluster,
                              .node_ip = uplink_ ? std::optional(uplink_->address) : std::nullopt,
                              .node_name = options_.node,
                              .node_zone = status_.node_object.zone,
                              .nodeport_addresses = nodeport_addresses_,
                              .nodeport_min = options_.nodeport_min,
                              .nodeport_max = options_.nodeport_max,
                              .previous = last_desired_ ? &*last_desired_ : nullptr});
  phases.desired = MsSince(building);
  if (!state.ok()) {
    in.errors.push_back(state.error().message);
    spdlog::error("desired state: {}", state.error().message);
    return;
  }
  const auto writing = Clock::now();
  auto writes = writer_->Apply(*state);
  phases.write = MsSince(writing);
  if (!writes.ok()) {
    apply_pending_ = true;
    flow_prune_pending_ = true;  // it may have removed some before it failed
    ++status_.apply_failures;
    in.errors.push_back("apply: " + writes.error().message);
    spdlog::error("apply: {} (will retry)", writes.error().message);
    return;
  }
  apply_pending_ = false;
  PurgeRemovedEndpoints(*state);
  DescribeWeights(in, *state);
  last_desired_ = std::move(*state);
  status_.last_writes = *writes;
  if (writes->services_deleted || writes->backends_deleted) flow_prune_pending_ = true;
  status_.last_apply_time = NowRfc3339();
  if (registry_watcher_ && registry_revision_ > status_.registry.applied_revision) {
    status_.registry.applied_revision = registry_revision_;
    status_.registry.applied_unix_ms = UnixNowMs();
  }
  if (writes->total() > 0) {
    phases.total = MsSince(started);
    status_.last_apply_ms = phases;
    reconcile_metrics_.Observe(phases);
    spdlog::info(
        "applied: {} frontends, {} backends ({} map writes) in {:.0f} ms: read {:.0f}, "
        "registry {:.0f}, desired {:.0f}, write {:.0f}",
        writer_->installed_services(), writer_->installed_backends(), writes->total(), phases.total,
        phases.read, phases.registry, phases.desired, phases.write);
  }
}

void Agent::Report(std::vector<std::string> errors, Clock::time_point started) {
  status_.errors = std::move(errors);
  status_.state = status_.errors.empty() ? "serving" : "degraded";
  status_.services = writer_->installed_services();
  status_.backends = writer_->installed_backends();
  status_.maglev_slots_used = writer_->maglev_slots_used();
  status_.maglev_slots_capacity = writer_->maglev_slots_capacity();
  status_.last_reconcile_ms = MsSince(started);
  PublishStatus();
}

// kube-proxy's rules for a removed endpoint: established TCP keeps going
// (the datapath does that); UDP flows are purged so the next datagram is
// balanced again (datapath/udp_flow_purge.h), and ClientIP affinities so
// the client's next new flow is (datapath/affinity_purge.h).
void Agent::PurgeRemovedEndpoints(const desired::DesiredState& next) {
  if (!last_desired_) return;
  auto purge = [](const std::set<datapath::ServiceBackend>& removed, auto&& run,
                  std::uint64_t& counter, const char* what) {
    if (removed.empty()) return;
    auto purged = run(removed);
    if (!purged) {
      spdlog::warn("{}", purged.error().message);
      return;
    }
    counter += *purged;
    spdlog::info("removed endpoints: purged {} {} of {} (service, backend) pairs", *purged, what,
                 removed.size());
  };
  const auto& maps = datapath_->maps();
  purge(
      datapath::RemovedUdpEndpoints(*last_desired_, next, *writer_),
      [&](const auto& r) { return datapath::PurgeUdpFlows(maps.ct, r); }, status_.udp_flows_purged,
      "UDP conntrack entries");
  purge(
      datapath::RemovedAffinityEndpoints(*last_desired_, next, *writer_),
      [&](const auto& r) { return datapath::PurgeAffinity(maps.affinity, r); },
      status_.affinities_purged, "ClientIP affinities");
}

// Each cluster's registry lease, as the last lease poll read it (a
// cluster from a manifest has none: its source is a file, not a key).
void Agent::RefreshClusterLeases() {
  for (auto& c : status_.clusters) {
    auto it = cluster_leases_.find(c.source);
    if (it == cluster_leases_.end()) {
      c.lease = {};
      continue;
    }
    const auto& l = it->second;
    c.lease = {.ttl_ms = l.lease.ttl.count(),
               .remaining_ms = l.lease.remaining.count(),
               .read_unix_ms = l.read_unix_ms};
  }
}

// Each peer endpoint as the prober sees it now, and the cluster's verdict.
void Agent::RefreshPeerProbes() {
  if (!peer_prober_) return;
  for (auto& c : status_.clusters) {
    for (auto& p : c.probes) {
      auto a = model::Ipv4Address::Parse(p.address);
      auto probe = a ? peer_prober_->Find(*a) : std::nullopt;
      if (!probe) continue;
      p.state = health::ReachabilityName(probe->state);
      p.rtt_us = probe->rtt ? probe->rtt->count() : -1;
      p.since_reply_ms = probe->since_reply ? probe->since_reply->count() : -1;
      p.sent = probe->sent;
      p.replies = probe->replies;
      p.error = probe->last_error;
    }
    c.reachability = ClusterReachability(c.probes);
  }
}

const AgentStatus& Agent::FreshStatus() {
  RefreshClusterLeases();
  RefreshPeerProbes();
  if (dns_) {
    const auto& c = dns_->counters();
    status_.dns.udp_queries = c.udp_queries;
    status_.dns.tcp_queries = c.tcp_queries;
    status_.dns.noerror = c.responses(dns::Rcode::kNoError);
    status_.dns.nxdomain = c.responses(dns::Rcode::kNxDomain);
    status_.dns.refused = c.responses(dns::Rcode::kRefused);
    status_.dns.formerr = c.formerr;
    status_.dns.dropped = c.dropped;
    status_.dns.truncated = c.truncated;
    status_.dns.rate_limited = c.rate_limited;
  }
  return status_;
}

void Agent::PublishStatus() {
  FreshStatus();
  status_.heartbeat_unix_ms = UnixNowMs();
  if (auto s = WriteStatusFile(status_, status_path_); !s) {
    spdlog::warn("status: {}", s.error().message);
  }
}

void Agent::Shutdown() {
  // Without --detach-on-exit the datapath outlives the agent: the status
  // says "stopped" (nobody reconciles any more) but keeps the interfaces.
  if (options_.detach_on_exit) {
    for (const auto& [name, ifindex] : status_.attached_interfaces) {
      if (auto s = datapath::DetachPodPrograms(ifindex, name); !s) {
        spdlog::warn("{}", s.error().message);
      }
    }
    status_.attached_interfaces.clear();
    if (!options_.socket_lb_cgroup.empty()) {
      if (auto s = datapath::DetachSocketLb(options_.socket_lb_cgroup); !s) {
        spdlog::warn("{}", s.error().message);
      }
    }
  }
  status_.state = "stopped";
  PublishStatus();
}

}  // namespace meridian::agent
