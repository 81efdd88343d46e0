#include "desired/desired_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

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

std::vector<Backend> CollectBackends(const ServicePort& sp,
                                     const std::vector<const EndpointSlice*>& slices) {
  std::map<BackendKey, Backend> by_key;
  for (const EndpointSlice* slice : slices) {
    auto port = BackendPort(sp, *slice);
    if (!port) continue;
    for (const auto& ep : slice->endpoints) {
      const auto& c = ep.conditions;
      bool takes_new = c.ready && !c.terminating;
      bool finishing = !takes_new && c.serving && c.terminating;
      if (!takes_new && !finishing) continue;
      for (const auto& addr : ep.addresses) {
        Backend b{.key = {addr, *port, sp.protocol},
                  .weight = takes_new ? 1u : 0u,
                  .terminating = !takes_new};
        auto [it, inserted] = by_key.emplace(b.key, b);
        // The same address in two slices: the ready copy wins.
        if (!inserted && takes_new) it->second = b;
      }
    }
  }
  std::vector<Backend> out;
  out.reserve(by_key.size());
  for (auto& [key, b] : by_key) out.push_back(b);
  return out;
}

}  // namespace

std::string FrontendKey::ToString() const {
  return fmt::format("{}:{}/{}", vip.ToString(), port, model::ToString(protocol));
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
  for (const auto& [key, fe] : frontends) out.insert(key.vip);
  return out;
}

std::set<BackendKey> DesiredState::BackendKeys() const {
  std::set<BackendKey> out;
  for (const auto& [key, fe] : frontends)
    for (const auto& b : fe.backends) out.insert(b.key);
  return out;
}

// Endpoints of exported Services that live in the local cluster's pod
// CIDRs, at the target port of every Service port.
static std::set<BackendKey> ExportedEndpoints(const model::ResourceSnapshot& snapshot,
                                              const model::Cluster& local,
                                              const DesiredState& state) {
  std::set<model::ObjectKey> exported;
  for (const auto& e : snapshot.service_exports) exported.insert(e.meta.key);
  std::set<BackendKey> out;
  for (const auto& [key, fe] : state.frontends) {
    if (!exported.count(fe.service)) continue;
    for (const auto& b : fe.backends) {
      for (const auto& cidr : local.pod_cidrs) {
        if (cidr.Contains(b.key.address)) out.insert(b.key);
      }
    }
  }
  return out;
}

Result<DesiredState> BuildDesiredState(const model::ResourceSnapshot& snapshot,
                                       const DesiredOptions& options) {
  const lb::MaglevConfig& maglev = options.maglev;
  std::map<model::ObjectKey, std::vector<const EndpointSlice*>> slices_by_service;
  for (const auto& slice : snapshot.endpoint_slices) {
    slices_by_service[{slice.meta.key.ns, slice.service_name}].push_back(&slice);
  }

  DesiredState state;
  for (const auto& svc : snapshot.services) {
    if (!svc.cluster_ip) continue;  // headless: DNS only, no VIP
    const auto& slices = slices_by_service[svc.meta.key];
    for (const auto& sp : svc.ports) {
      Frontend fe{.key = {*svc.cluster_ip, sp.port, sp.protocol},
                  .service = svc.meta.key,
                  .port_name = sp.name,
                  .backends = CollectBackends(sp, slices)};
      std::vector<lb::MaglevBackend> mb;
      mb.reserve(fe.backends.size());
      for (const auto& b : fe.backends) mb.push_back({b.key.ToString(), b.weight});
      auto table = lb::BuildMaglevTable(mb, maglev);
      if (!table.ok()) {
        return Error{fmt::format("Service {} port {}: {}", svc.meta.key.ToString(),
                                 fe.key.ToString(), table.error().message)};
      }
      fe.maglev = std::move(table).value();
      state.frontends.emplace(fe.key, std::move(fe));
    }
  }
  auto routes = BuildClusterRoutes(snapshot, options.local_cluster);
  if (!routes.ok()) return routes.error();
  state.remote_cidrs = std::move(routes->remote_cidrs);
  state.tunnel_peers = std::move(routes->peers);
  if (routes->local) state.exported_endpoints = ExportedEndpoints(snapshot, *routes->local, state);
  return state;
}

}  // namespace meridian::desired
