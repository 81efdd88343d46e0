#include "desired/desired_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>

#include "common/parallel_for.h"
#include "propagation/traffic_weights.h"

namespace meridian::desired {
namespace {

using model::EndpointSlice;
using model::Service;
using model::ServicePort;

// Resolves a Service port to the backend port an EndpointSlice offers for it.
// Kubernetes matches slice ports to service ports by name; the slice port
// already carries the resolved target port number.
std::optional<std::uint16_t> BackendPort(const ServicePort& sp, const EndpointSlice& slice) {
  for (const auto& ep : slice.ports) {
    if (ep.name == sp.name && ep.protocol == sp.protocol) return ep.port;
  }
  return std::nullopt;
}

// Backends by key, as endpoints are found. Endpoints that are neither ready
// nor serving are left out; serving-but-terminating ones are kept at weight
// 0 so that their established flows finish -- unless no endpoint is ready:
// then they take new flows too (kube-proxy's rule since KEP-1669: during a
// rolling update's last moments, or a scale to zero, a terminating pod that
// still serves is better than a refused connection). The same address seen
// twice (two slices, two clusters): the ready copy wins.
class BackendSet {
 public:
  void Add(const model::EndpointConditions& c, BackendKey key, std::uint32_t cluster_id) {
    bool takes_new = c.ready && !c.terminating;
    bool finishing = !takes_new && c.serving && c.terminating;
    if (!takes_new && !finishing) return;
    found_.push_back({.key = key,
                      .weight = takes_new ? 1u : 0u,
                      .terminating = !takes_new,
                      .cluster_id = cluster_id});
  }
  // By key; of one key's copies, the last that takes new flows, else the
  // first. (A vector sorted once: a map node per endpoint was a tenth of
  // a 10k-Service reconcile.)
  std::vector<Backend> Take() {
    std::stable_sort(found_.begin(), found_.end(),
                     [](const Backend& a, const Backend& b) { return a.key < b.key; });
    std::vector<Backend> out;
    out.reserve(found_.size());
    bool any_ready = false;
    for (const Backend& b : found_) {
      if (!out.empty() && out.back().key == b.key) {
        if (b.weight > 0) out.back() = b;
      } else {
        out.push_back(b);
      }
    }
    for (const Backend& b : out) any_ready |= b.weight > 0;
    if (!any_ready) {
      for (auto& b : out) b.weight = 1;  // all serving and terminating
    }
    return out;
  }

 private:
  std::vector<Backend> found_;  // in the order found
};

std::vector<Backend> CollectBackends(const ServicePort& sp,
                                     const std::vector<const EndpointSlice*>& slices) {
  BackendSet set;
  for (const EndpointSlice* slice : slices) {
    auto port = BackendPort(sp, *slice);
    if (!port) continue;
    for (const auto& ep : slice->endpoints) {
      for (const auto& addr : ep.addresses) set.Add(ep.conditions, {addr, *port, sp.protocol}, 0);
    }
  }
  return set.Take();
}

// Backends of one import port: every endpoint of `exports` that offers it.
std::vector<Backend> ImportBackends(const model::ExportedPort& port,
                                    const std::vector<const model::ExportedService*>& exports,
                                    const std::map<std::string, std::uint32_t>& cluster_ids) {
  BackendSet set;
  for (const auto* e : exports) {
    auto id = cluster_ids.find(e->cluster);
    std::uint32_t cluster_id = id == cluster_ids.end() ? 0u : id->second;
    for (const auto& ep : e->endpoints) {
      for (const auto& p : ep.ports) {
        if (p.name != port.name || p.protocol != port.protocol) continue;
        set.Add(ep.conditions, {ep.address, p.port, port.protocol}, cluster_id);
      }
    }
  }
  return set.Take();
}

// Weights the frontend's active backends by the decision (docs/
// propagation.md, "Traffic weights"); terminating backends keep weight 0.
// `cluster_names` maps a backend's cluster id to the decision's names (0,
// this cluster's own endpoints of a global Service: `local_cluster`).
void ApplyDecision(Frontend& fe, const model::PropagationDecision& decision,
                   const std::map<std::uint32_t, std::string>& cluster_names,
                   const std::string& local_cluster) {
  std::vector<propagation::ActiveBackend> active;
  std::vector<Backend*> weighted;
  for (auto& b : fe.backends) {
    if (b.weight == 0) continue;
    auto name = cluster_names.find(b.cluster_id);
    active.push_back({b.cluster_id == 0             ? local_cluster
                      : name == cluster_names.end() ? std::string()
                                                    : name->second});
    weighted.push_back(&b);
  }
  auto weights = propagation::DecisionWeights(active, decision);
  if (!weights) return;  // no replica where backends are: endpoints decide
  for (std::size_t i = 0; i < weighted.size(); ++i) weighted[i]->weight = (*weights)[i];
  fe.decision_generation = decision.generation;
}

bool AnyActive(const std::vector<Backend>& backends) {
  return std::any_of(backends.begin(), backends.end(), [](const Backend& b) { return b.weight; });
}

// The table is a pure function of the backends and the config: a frontend
// whose backends did not change takes the previous table.
bool ReuseTable(Frontend& fe, const DesiredOptions& options) {
  if (!options.previous) return false;
  auto it = options.previous->frontends.find(fe.key);
  if (it == options.previous->frontends.end() || it->second.backends != fe.backends) return false;
  fe.maglev = it->second.maglev;
  return true;
}

Status BuildTable(Frontend& fe, const lb::MaglevConfig& maglev, std::string_view what) {
  std::vector<lb::MaglevBackend> mb;
  mb.reserve(fe.backends.size());
  for (const auto& b : fe.backends) mb.push_back({b.key.ToString(), b.weight});
  auto table = lb::BuildMaglevTable(mb, maglev);
  if (!table.ok()) {
    return Error{fmt::format("{} {} port {}: {}", what, fe.service.ToString(), fe.key.ToString(),
                             table.error().message)};
  }
  fe.maglev = SharedTable(*table);
  return Status::Ok();
}

// A frontend whose Maglev table is still to be built, and how errors name it.
struct PendingTable {
  Frontend* frontend;
  std::string_view what;  // "Service", "ServiceImport": with the frontend's object, for errors
  // An earlier pending frontend with the same backends, if known: its
  // table is copied, not built again (one Service port's NodePort on every
  // node address, its externalIPs, often its ClusterIP: one table).
  const Frontend* same_as = nullptr;
};

// Tables are independent of each other and were the largest cost of a
// cold sync (10k services: ~0.5 s on one core), so new ones are built on
// every core. Reuse is decided first, on this thread: a reconcile after one
// change builds one table and starts no thread. The error reported is the
// first in build order, as when tables were built one by one.
Status FillMaglevTables(const std::vector<PendingTable>& pending, const DesiredOptions& options) {
  std::vector<const PendingTable*> build, copy;
  for (const PendingTable& p : pending) {
    if (ReuseTable(*p.frontend, options)) continue;
    (p.same_as ? copy : build).push_back(&p);
  }
  std::vector<Status> results(build.size());
  ParallelFor(build.size(), /*min_per_thread=*/256, [&](std::size_t i) {
    results[i] = BuildTable(*build[i]->frontend, options.maglev, build[i]->what);
  });
  for (auto& r : results) {
    if (!r.ok()) return r;
  }
  for (const PendingTable* p : copy) p->frontend->maglev = p->same_as->maglev;
  return Status::Ok();
}

}  // namespace

std::string FrontendKey::ToString() const {
  return fmt::format("{}:{}/{}{}", vip.ToString(), port, model::ToString(protocol),
                     internal ? " internal" : "");
}

std::string BackendKey::ToString() const {
  return fmt::format("{}:{}/{}", address.ToString(), port, model::ToString(protocol));
}

std::size_t Frontend::active_backends() const {
  return std::count_if(backends.begin(), backends.end(),
                       [](const Backend& b) { return b.weight > 0; });
}

std::set<model::Ipv4Address> DesiredState::Vips() const {
  std::set<model::Ipv4Address> out;
  for (const auto& [key, fe] : frontends) {
    if (fe.marks_vip()) out.insert(key.vip);
  }
  return out;
}

// Copies of `slices` with only the endpoints `keep` accepts, in `storage`.
static std::vector<const EndpointSlice*> KeepEndpoints(
    const std::vector<const EndpointSlice*>& slices,
    const std::function<bool(const model::Endpoint&)>& keep, std::vector<EndpointSlice>& storage) {
  storage.reserve(slices.size());  // the pointers below stay valid
  std::vector<const EndpointSlice*> out;
  for (const auto* slice : slices) {
    EndpointSlice copy = *slice;
    std::erase_if(copy.endpoints, [&](const model::Endpoint& ep) { return !keep(ep); });
    storage.push_back(std::move(copy));
    out.push_back(&storage.back());
  }
  return out;
}

// A traffic policy's Local: the endpoints on this node; none when its
// name is unknown.
static std::function<bool(const model::Endpoint&)> OnThisNode(const DesiredOptions& options) {
  return [&options](const model::Endpoint& ep) {
    return !options.node_name.empty() && ep.node_name == options.node_name;
  };
}

// kube-proxy's view of a Service's endpoints from this node's pods:
// internalTrafficPolicy Local keeps the endpoints on this node; else
// topology hints (PreferClose) keep the endpoints hinted for this node's
// zone, but only when every ready endpoint has hints and some are for this
// zone (otherwise all are used, as in kube-proxy's topology.go). Filtered
// slices are copied into `storage`; the others are used as they are.
static std::vector<const EndpointSlice*> NodeView(const model::Service& svc,
                                                  const std::vector<const EndpointSlice*>& slices,
                                                  const DesiredOptions& options,
                                                  std::vector<EndpointSlice>& storage) {
  std::function<bool(const model::Endpoint&)> keep;
  if (svc.internal_traffic_policy == model::TrafficPolicy::kLocal) {
    keep = OnThisNode(options);
  } else if (svc.prefer_close && !options.node_zone.empty()) {
    auto hinted = [&](const model::Endpoint& ep) {
      return std::find(ep.zone_hints.begin(), ep.zone_hints.end(), options.node_zone) !=
             ep.zone_hints.end();
    };
    bool every_ready_hinted = true, some_for_zone = false;
    for (const auto* slice : slices) {
      for (const auto& ep : slice->endpoints) {
        if (!ep.conditions.ready) continue;
        every_ready_hinted &= !ep.zone_hints.empty();
        some_for_zone |= hinted(ep);
      }
    }
    if (!every_ready_hinted || !some_for_zone) return slices;
    keep = hinted;
  } else {
    return slices;
  }
  return KeepEndpoints(slices, keep, storage);
}

// Where a Service port is reached from outside the cluster: its nodePort
// (within the range) on each node address, and its own port on each
// externalIP and, for a LoadBalancer, each ingress IP.
static std::vector<FrontendKey> ExternalKeys(const Service& svc, const ServicePort& sp,
                                             const DesiredOptions& options) {
  std::vector<FrontendKey> keys;
  const bool node_ports =
      svc.type == model::ServiceType::kNodePort || svc.type == model::ServiceType::kLoadBalancer;
  if (node_ports && sp.node_port && *sp.node_port >= options.nodeport_min &&
      *sp.node_port <= options.nodeport_max) {
    for (const auto& addr : options.nodeport_addresses)
      keys.push_back({addr, *sp.node_port, sp.protocol});
  }
  if (svc.type == model::ServiceType::kExternalName) return keys;
  for (const auto& ip : svc.external_ips) keys.push_back({ip, sp.port, sp.protocol});
  if (svc.type == model::ServiceType::kLoadBalancer) {
    for (const auto& ip : svc.load_balancer_ips) keys.push_back({ip, sp.port, sp.protocol});
  }
  return keys;
}

// A Service's external frontends (see BuildDesiredState), after every
// VIP's: a key already in `state` stays with its frontend. Frontends of one
// port have the same backends, so they share one Maglev table, the
// ClusterIP frontend's too when its backends are the same.
static void AddExternalFrontends(const Service& svc,
                                 const std::vector<const EndpointSlice*>& slices,
                                 const DesiredOptions& options, DesiredState& state,
                                 std::vector<PendingTable>& pending) {
  const bool local = svc.external_traffic_policy == model::TrafficPolicy::kLocal;
  std::vector<EndpointSlice> filtered;
  std::optional<std::vector<const EndpointSlice*>> on_node;  // filtered once, if needed
  for (const auto& sp : svc.ports) {
    if (!model::IsProxied(sp.protocol)) continue;  // SCTP passes untouched
    const std::vector<FrontendKey> keys = ExternalKeys(svc, sp, options);
    if (keys.empty()) continue;
    if (local && !on_node) on_node = KeepEndpoints(slices, OnThisNode(options), filtered);
    const std::vector<Backend> backends = CollectBackends(sp, local ? *on_node : slices);
    const Frontend* table = nullptr;  // a pending frontend with the same backends
    if (auto vip = state.frontends.find({*svc.cluster_ip, sp.port, sp.protocol});
        vip != state.frontends.end() && vip->second.backends == backends) {
      table = &vip->second;
    }
    // eTP Local: clients inside the cluster get every endpoint (the twin).
    std::optional<std::vector<Backend>> everywhere;
    if (local) everywhere = CollectBackends(sp, slices);
    const Frontend* twin_table = nullptr;
    for (const auto& key : keys) {
      if (state.frontends.count(key)) continue;
      Frontend fe{.key = key,
                  .service = svc.meta.key,
                  .port_name = sp.name,
                  .backends = backends,
                  .affinity_timeout_s = svc.session_affinity_timeout_s,
                  .drop_without_backends = local,
                  .external = true,
                  .has_internal_twin = local};
      auto it = state.frontends.emplace(key, std::move(fe)).first;
      pending.push_back({&it->second, "Service", table});
      if (!table) table = &it->second;
      if (!everywhere) continue;
      FrontendKey twin_key = key;
      twin_key.internal = true;
      Frontend twin{.key = twin_key,
                    .service = svc.meta.key,
                    .port_name = sp.name,
                    .backends = *everywhere,
                    .affinity_timeout_s = svc.session_affinity_timeout_s};
      auto t = state.frontends.emplace(twin_key, std::move(twin)).first;
      pending.push_back({&t->second, "Service", twin_table});
      if (!twin_table) twin_table = &t->second;
    }
  }
}

// Endpoints of exported Services that live in the local cluster's pod
// CIDRs, at the target port of every Service port. `all_backends`: a
// frontend's backends before NodeView filtered them (remote clusters reach
// every endpoint, whatever this node's pods may use).
static std::set<BackendKey> ExportedEndpoints(
    const model::ResourceSnapshot& snapshot, const model::Cluster& local, const DesiredState& state,
    const std::map<FrontendKey, std::vector<Backend>>& all_backends) {
  std::set<model::ObjectKey> exported;
  for (const auto& e : snapshot.service_exports) exported.insert(e.meta.key);
  std::set<BackendKey> out;
  for (const auto& [key, fe] : state.frontends) {
    if (!exported.count(fe.service)) continue;
    auto all = all_backends.find(key);
    for (const auto& b : all == all_backends.end() ? fe.backends : all->second) {
      for (const auto& cidr : local.pod_cidrs) {
        if (cidr.Contains(b.key.address)) out.insert(b.key);
      }
    }
  }
  return out;
}

Result<DesiredState> BuildDesiredState(const model::ResourceSnapshot& snapshot,
                                       const std::vector<model::ServiceImport>& imports,
                                       const DesiredOptions& options) {
  // Keyed by views of the objects' own strings: no copy per slice.
  using NameView = std::pair<std::string_view, std::string_view>;
  std::map<NameView, std::vector<const EndpointSlice*>> slices_by_service;
  for (const auto& slice : snapshot.endpoint_slices) {
    slices_by_service[{slice.meta.key.ns, slice.service_name}].push_back(&slice);
  }
  const std::vector<const EndpointSlice*> no_slices;
  auto slices_of = [&](const model::Service& svc) -> const std::vector<const EndpointSlice*>& {
    auto it = slices_by_service.find({svc.meta.key.ns, svc.meta.key.name});
    return it == slices_by_service.end() ? no_slices : it->second;
  };

  std::map<std::string, std::uint32_t> cluster_ids;
  std::map<std::uint32_t, std::string> cluster_names;
  for (const auto& c : snapshot.clusters) {
    cluster_ids[c.meta.key.name] = c.id;
    cluster_names[c.id] = c.meta.key.name;
  }
  std::map<model::ObjectKey, const model::ServiceImport*> imports_by_key;
  for (const auto& imp : imports) imports_by_key[imp.key] = &imp;

  DesiredState state;
  std::vector<PendingTable> pending;
  std::map<FrontendKey, std::vector<Backend>> all_backends;  // before NodeView
  for (const auto& svc : snapshot.services) {
    if (!svc.cluster_ip) continue;  // headless: DNS only, no VIP
    const auto& all_slices = slices_of(svc);
    std::vector<EndpointSlice> filtered;
    const auto slices = NodeView(svc, all_slices, options, filtered);
    // A global Service also reaches the other clusters' exports of its name.
    std::vector<const model::ExportedService*> remote;
    const model::GlobalAffinity affinity = svc.global_affinity;
    const model::PropagationDecision* decision = nullptr;
    if (svc.global) {
      if (auto imp = imports_by_key.find(svc.meta.key); imp != imports_by_key.end()) {
        if (imp->second->decision) decision = &*imp->second->decision;
        for (const auto& e : imp->second->exports) {
          if (e.cluster != options.local_cluster) remote.push_back(&e);
        }
      }
    }
    for (const auto& sp : svc.ports) {
      if (!model::IsProxied(sp.protocol)) continue;  // SCTP passes untouched
      Frontend fe{
          .key = {*svc.cluster_ip, sp.port, sp.protocol},
          .service = svc.meta.key,
          .port_name = sp.name,
          .backends = CollectBackends(sp, slices),
          .affinity_timeout_s = svc.session_affinity_timeout_s,
          .drop_without_backends = svc.internal_traffic_policy == model::TrafficPolicy::kLocal};
      if (!filtered.empty()) all_backends[fe.key] = CollectBackends(sp, all_slices);
      if (!remote.empty()) {
        auto far = ImportBackends({sp.name, sp.protocol, sp.port}, remote, cluster_ids);
        bool use_local = affinity != model::GlobalAffinity::kRemote || !AnyActive(far);
        bool use_remote = affinity != model::GlobalAffinity::kLocal || !AnyActive(fe.backends);
        if (!use_local) fe.backends.clear();
        if (use_remote) {
          std::map<BackendKey, Backend> merged;
          for (const auto& b : fe.backends) merged.emplace(b.key, b);
          for (const auto& b : far) merged.emplace(b.key, b);
          fe.backends.clear();
          for (auto& [k, b] : merged) fe.backends.push_back(b);
        }
        if (decision) ApplyDecision(fe, *decision, cluster_names, options.local_cluster);
      }
      auto [it, inserted] = state.frontends.emplace(fe.key, std::move(fe));
      if (inserted) pending.push_back({&it->second, "Service"});
    }
  }
  // The ClusterSet VIPs. A VIP that is also a local ClusterIP keeps the
  // local Service (a misconfigured ClusterSet CIDR must not hijack it).
  for (const auto& imp : imports) {
    if (!imp.clusterset_ip || imp.type != model::ImportType::kClusterSetIP) continue;
    std::vector<const model::ExportedService*> all;
    for (const auto& e : imp.exports) all.push_back(&e);
    for (const auto& port : imp.ports) {
      if (!model::IsProxied(port.protocol)) continue;  // SCTP passes untouched
      Frontend fe{.key = {*imp.clusterset_ip, port.port, port.protocol},
                  .service = imp.key,
                  .port_name = port.name,
                  .backends = ImportBackends(port, all, cluster_ids),
                  // The merge keeps the oldest export's ClientIP but not its
                  // timeout: Kubernetes' default applies.
                  .affinity_timeout_s = imp.session_affinity == model::SessionAffinity::kClientIP
                                            ? model::kDefaultAffinityTimeoutS
                                            : 0};
      if (state.frontends.count(fe.key)) continue;
      if (imp.decision) ApplyDecision(fe, *imp.decision, cluster_names, options.local_cluster);
      auto [it, inserted] = state.frontends.emplace(fe.key, std::move(fe));
      if (inserted) pending.push_back({&it->second, "ServiceImport"});
    }
  }
  for (const auto& svc : snapshot.services) {
    if (!svc.cluster_ip) continue;  // headless: nothing to proxy
    AddExternalFrontends(svc, slices_of(svc), options, state, pending);
  }
  if (auto s = FillMaglevTables(pending, options); !s) return s.error();
  auto routes = BuildClusterRoutes(snapshot, options.local_cluster, options.node_ip);
  if (!routes.ok()) return routes.error();
  state.remote_cidrs = std::move(routes->remote_cidrs);
  state.tunnel_peers = std::move(routes->peers);
  if (routes->local) {
    state.exported_endpoints = ExportedEndpoints(snapshot, *routes->local, state, all_backends);
    // What this cluster published, headless Services included: the
    // endpoints remote clusters were told about.
    for (const auto& imp : imports) {
      for (const auto& e : imp.exports) {
        if (e.cluster != options.local_cluster) continue;
        for (const auto& ep : e.endpoints) {
          for (const auto& p : ep.ports)
            state.exported_endpoints.insert({ep.address, p.port, p.protocol});
        }
      }
    }
  }
  return state;
}

}  // namespace meridian::desired
