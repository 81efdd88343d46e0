#include "datapath/map_writer.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "datapath/map_iter.h"

namespace meridian::datapath {
namespace {

using desired::BackendKey;
using desired::DesiredState;
using desired::Frontend;
using desired::FrontendKey;
using model::Ipv4Address;
using model::Protocol;

std::string Errno() { return std::strerror(errno); }

mer_service_key ServiceKey(const FrontendKey& key) {
  return mer_service_key{
      .vip_be = key.vip.network_order(),
      .port_be = htons(key.port),
      .proto = static_cast<std::uint8_t>(key.protocol),
      .scope = key.internal ? std::uint8_t{MER_SVC_SCOPE_INTERNAL} : std::uint8_t{0}};
}

mer_service_key MarkerKey(Ipv4Address vip) {
  return mer_service_key{.vip_be = vip.network_order(), .port_be = 0, .proto = 0, .scope = 0};
}

std::uint32_t ServiceFlags(const Frontend& fe) {
  std::uint32_t flags = 0;
  if (fe.drop_without_backends) flags |= MER_SVC_F_DROP_NO_BACKEND;
  if (fe.external) flags |= MER_SVC_F_EXTERNAL;
  if (fe.has_internal_twin) flags |= MER_SVC_F_INTERNAL_TWIN;
  return flags;
}

// Every field, flags included: a change of any of them alone is written.
bool SameService(const mer_service& a, const mer_service& b) {
  return a.id == b.id && a.backend_count == b.backend_count && a.maglev_size == b.maglev_size &&
         a.flags == b.flags && a.maglev_offset == b.maglev_offset &&
         a.affinity_timeout_s == b.affinity_timeout_s;
}

bool SameBackend(const mer_backend& a, const mer_backend& b) {
  return a.addr_be == b.addr_be && a.port_be == b.port_be && a.proto == b.proto &&
         a.flags == b.flags && a.cluster_id == b.cluster_id;
}

mer_backend BackendValue(const desired::Backend& b) {
  return mer_backend{.addr_be = b.key.address.network_order(),
                     .port_be = htons(b.key.port),
                     .proto = static_cast<std::uint8_t>(b.key.protocol),
                     .flags = static_cast<std::uint8_t>(b.terminating ? MER_BE_F_TERMINATING : 0),
                     .cluster_id = b.cluster_id,
                     .pad = 0};
}

}  // namespace

Result<MapWriter> MapWriter::Recover(const MapSet& maps) {
  auto slots = MaglevSlots::Map(maps.maglev);
  if (!slots.ok()) return slots.error();
  MapWriter w(maps, std::move(slots).value());
  if (auto s = w.ReadBackends(); !s) return s.error();
  if (auto s = w.ReadServices(); !s) return s.error();
  w.ReadTunnelState();
  return w;
}

Status MapWriter::ReadBackends() {
  std::vector<std::uint32_t> duplicates;
  ForEachEntry<std::uint32_t, mer_backend>(
      maps_.backends, [&](std::uint32_t id, const mer_backend& v) {
        BackendKey bk{Ipv4Address::FromNetworkOrder(v.addr_be), ntohs(v.port_be),
                      static_cast<Protocol>(v.proto)};
        next_backend_id_ = std::max(next_backend_id_, id + 1);
        auto [it, inserted] = backends_.emplace(bk, InstalledBackend{id, v});
        // Two ids for one backend: keep the lower, remove the other.
        if (!inserted) {
          duplicates.push_back(std::max(id, it->second.id));
          if (id < it->second.id) it->second = InstalledBackend{id, v};
        }
      });
  for (std::uint32_t id : duplicates) {
    if (bpf_map_delete_elem(maps_.backends, &id) != 0 && errno != ENOENT) {
      return Error{fmt::format("delete duplicate backend id {}: {}", id, Errno())};
    }
  }
  return Status::Ok();
}

Status MapWriter::ReadServices() {
  ForEachEntry<mer_service_key, mer_service>(maps_.services, [&](const mer_service_key& key,
                                                                 const mer_service& v) {
    Ipv4Address vip = Ipv4Address::FromNetworkOrder(key.vip_be);
    if (v.flags & MER_SVC_F_VIP_MARKER) {
      vips_.insert(vip);
      return;
    }
    next_service_id_ = std::max(next_service_id_, v.id + 1);
    FrontendKey fk{vip, ntohs(key.port_be), static_cast<Protocol>(key.proto),
                   key.scope == MER_SVC_SCOPE_INTERNAL};
    // A range that leaves the array or that another entry took first
    // is not adopted: the next Apply() gives the service a new table.
    InstalledService svc{
        .value = v, .has_table = v.maglev_size > 0 && slots_.Adopt(v.maglev_offset, v.maglev_size)};
    services_.emplace(fk, svc);
  });
  return Status::Ok();
}

std::uint32_t MapWriter::backend_id(const BackendKey& key) const {
  auto it = backends_.find(key);
  return it == backends_.end() ? 0 : it->second.id;
}

std::uint32_t MapWriter::service_id(const FrontendKey& key) const {
  auto it = services_.find(key);
  return it == services_.end() ? 0 : it->second.value.id;
}

Result<WriteStats> MapWriter::Apply(const DesiredState& desired) {
  const auto now = std::chrono::steady_clock::now();
  slots_.ReleaseRetired(now);
  WriteStats stats;
  if (auto s = WriteBackends(desired, stats); !s) return s.error();
  if (auto s = WriteTunnelState(desired, stats); !s) return s.error();
  if (auto s = WriteVipMarkers(desired, stats); !s) return s.error();
  // Tables first, then the entries that name them. A failure (the slots
  // ran out) stops the tables; the frontends before it still get their
  // entries, so whatever fits is served.
  FreshTables fresh;
  Status prepared;
  const FrontendKey* unprepared = nullptr;
  for (const auto& [key, fe] : desired.frontends) {
    prepared = PrepareTable(fe, fresh, stats);
    if (!prepared) {
      unprepared = &key;
      break;
    }
  }
  for (const auto& [key, fe] : desired.frontends) {
    if (&key == unprepared) break;
    if (auto s = WriteServiceEntry(fe, fresh, now, stats); !s) {
      for (const auto& [k, range] : fresh) slots_.Retire(range.offset, range.size, now);
      return s.error();
    }
  }
  if (!prepared) return prepared.error();
  if (auto s = RemoveStaleFrontends(desired, now, stats); !s) return s.error();
  if (auto s = RemoveStaleVipMarkers(desired, stats); !s) return s.error();
  if (auto s = RemoveStaleBackends(desired, stats); !s) return s.error();
  if (auto s = RemoveStaleTunnelState(desired, stats); !s) return s.error();
  return stats;
}

Status MapWriter::WriteBackends(const DesiredState& desired, WriteStats& stats) {
  for (const auto& [fkey, fe] : desired.frontends) {
    for (const auto& b : fe.backends) {
      mer_backend value = BackendValue(b);
      auto it = backends_.find(b.key);
      if (it != backends_.end() && SameBackend(it->second.value, value)) continue;
      std::uint32_t id = it != backends_.end() ? it->second.id : next_backend_id_;
      if (bpf_map_update_elem(maps_.backends, &id, &value, BPF_ANY) != 0) {
        return Error{fmt::format("write backend {} (id {}) of {}: {}", b.key.ToString(), id,
                                 fkey.ToString(), Errno())};
      }
      if (it == backends_.end()) {
        ++next_backend_id_;
        backends_.emplace(b.key, InstalledBackend{id, value});
      } else {
        it->second.value = value;
      }
      ++stats.backends_written;
    }
  }
  return Status::Ok();
}

Status MapWriter::WriteVipMarkers(const DesiredState& desired, WriteStats& stats) {
  for (const auto& vip : desired.Vips()) {
    if (vips_.count(vip)) continue;
    auto key = MarkerKey(vip);
    mer_service marker{
        .id = 0, .backend_count = 0, .maglev_size = 0, .flags = MER_SVC_F_VIP_MARKER};
    if (bpf_map_update_elem(maps_.services, &key, &marker, BPF_ANY) != 0) {
      return Error{fmt::format("write VIP marker {}: {}", vip.ToString(), Errno())};
    }
    vips_.insert(vip);
    ++stats.services_written;
  }
  return Status::Ok();
}

Status MapWriter::PrepareTable(const Frontend& fe, FreshTables& fresh, WriteStats& stats) {
  // One id lookup per backend, not per slot: tables have ~100 slots per
  // backend and a reconcile walks every frontend.
  std::vector<std::uint32_t> backend_ids(fe.backends.size());
  for (std::size_t b = 0; b < backend_ids.size(); ++b) {
    backend_ids[b] = backends_.at(fe.backends[b].key).id;
  }
  std::vector<std::uint32_t> ids(fe.maglev.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = backend_ids[fe.maglev[i]];
  if (ids.empty()) return Status::Ok();  // rejecting: no table needed
  const auto size = static_cast<std::uint32_t>(ids.size());
  auto it = services_.find(fe.key);
  if (it != services_.end() && it->second.has_table && it->second.value.maglev_size == size) {
    stats.slots_written += slots_.Rewrite(it->second.value.maglev_offset, ids);
    return Status::Ok();
  }
  // New table, or a new size: complete in its own range before the entry
  // switches to it.
  auto offset = slots_.Place(ids);
  if (!offset) {
    return Error{
        fmt::format("no room in " MER_MAP_NAME(maglev) " for the {}-slot Maglev table of {}: {}; "
                                                       "raise --maglev-slots",
                    size, fe.key.ToString(), slots_.Describe())};
  }
  fresh[fe.key] = SlotRange{*offset, size};
  ++stats.tables_created;
  return Status::Ok();
}

Status MapWriter::WriteServiceEntry(const Frontend& fe, FreshTables& fresh,
                                    std::chrono::steady_clock::time_point now, WriteStats& stats) {
  auto it = services_.find(fe.key);
  if (it == services_.end()) it = services_.emplace(fe.key, InstalledService{}).first;
  InstalledService& svc = it->second;
  const bool in_kernel = svc.value.id != 0;
  const std::size_t active = fe.active_backends();
  mer_service want{.id = in_kernel ? svc.value.id : next_service_id_,
                   .backend_count = static_cast<std::uint32_t>(active),
                   .maglev_size = 0,
                   .flags = ServiceFlags(fe),
                   .maglev_offset = 0,
                   .affinity_timeout_s = fe.affinity_timeout_s};
  auto placed = fresh.find(fe.key);
  if (active > 0) {
    if (placed != fresh.end()) {
      want.maglev_offset = placed->second.offset;
      want.maglev_size = placed->second.size;
    } else if (svc.has_table) {
      want.maglev_offset = svc.value.maglev_offset;
      want.maglev_size = svc.value.maglev_size;
    } else {
      return Error{fmt::format("service {}: no Maglev table installed", fe.key.ToString())};
    }
  }
  if (in_kernel && SameService(svc.value, want)) return Status::Ok();
  auto key = ServiceKey(fe.key);
  if (bpf_map_update_elem(maps_.services, &key, &want, BPF_ANY) != 0) {
    return Error{fmt::format("write service {} ({}): {}", fe.key.ToString(), fe.service.ToString(),
                             Errno())};
  }
  if (!in_kernel) ++next_service_id_;
  ++stats.services_written;
  // The range the entry named before, if it names another now.
  if (svc.has_table && (want.maglev_size == 0 || want.maglev_offset != svc.value.maglev_offset)) {
    slots_.Retire(svc.value.maglev_offset, svc.value.maglev_size, now);
    ++stats.tables_deleted;
  }
  svc.value = want;
  svc.has_table = want.maglev_size > 0;
  if (placed != fresh.end()) fresh.erase(placed);
  return Status::Ok();
}

Status MapWriter::RemoveStaleFrontends(const DesiredState& desired,
                                       std::chrono::steady_clock::time_point now,
                                       WriteStats& stats) {
  for (auto it = services_.begin(); it != services_.end();) {
    if (desired.frontends.count(it->first)) {
      ++it;
      continue;
    }
    auto key = ServiceKey(it->first);
    if (bpf_map_delete_elem(maps_.services, &key) != 0 && errno != ENOENT) {
      return Error{fmt::format("delete service {}: {}", it->first.ToString(), Errno())};
    }
    ++stats.services_deleted;
    if (it->second.has_table) {
      slots_.Retire(it->second.value.maglev_offset, it->second.value.maglev_size, now);
      ++stats.tables_deleted;
    }
    it = services_.erase(it);
  }
  return Status::Ok();
}

Status MapWriter::RemoveStaleVipMarkers(const DesiredState& desired, WriteStats& stats) {
  auto wanted = desired.Vips();
  for (auto it = vips_.begin(); it != vips_.end();) {
    if (wanted.count(*it)) {
      ++it;
      continue;
    }
    auto key = MarkerKey(*it);
    if (bpf_map_delete_elem(maps_.services, &key) != 0 && errno != ENOENT) {
      return Error{fmt::format("delete VIP marker {}: {}", it->ToString(), Errno())};
    }
    ++stats.services_deleted;
    it = vips_.erase(it);
  }
  return Status::Ok();
}

Status MapWriter::RemoveStaleBackends(const DesiredState& desired, WriteStats& stats) {
  auto wanted = desired.BackendKeys();
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    // Flows still pinned to this id re-select a backend in the datapath.
    if (bpf_map_delete_elem(maps_.backends, &it->second.id) != 0 && errno != ENOENT) {
      return Error{fmt::format("delete backend {}: {}", it->first.ToString(), Errno())};
    }
    ++stats.backends_deleted;
    it = backends_.erase(it);
  }
  return Status::Ok();
}

void MapWriter::ReadTunnelState() {
  ForEachEntry<mer_cidr_key, mer_remote_cidr>(
      maps_.remote_cidrs, [&](const mer_cidr_key& k, const mer_remote_cidr& v) {
        remote_cidrs_[model::Cidr(Ipv4Address::FromNetworkOrder(k.addr_be),
                                  static_cast<std::uint8_t>(k.prefixlen))] = {
            Ipv4Address::FromNetworkOrder(v.tunnel_ip_be), v.cluster_id};
      });
  ForEachEntry<std::uint32_t, mer_tunnel_peer>(
      maps_.tunnel_peers, [&](std::uint32_t ip_be, const mer_tunnel_peer& v) {
        tunnel_peers_[Ipv4Address::FromNetworkOrder(ip_be)] = v.cluster_id;
      });
  ForEachEntry<mer_endpoint_key, std::uint32_t>(
      maps_.exported_eps, [&](const mer_endpoint_key& k, std::uint32_t) {
        exported_eps_.insert({Ipv4Address::FromNetworkOrder(k.addr_be), ntohs(k.port_be),
                              static_cast<Protocol>(k.proto)});
      });
}

namespace {

mer_cidr_key CidrKey(const model::Cidr& c) { return {c.prefix_len(), c.network().network_order()}; }

mer_endpoint_key EndpointKey(const BackendKey& k) {
  return {k.address.network_order(), htons(k.port), static_cast<std::uint8_t>(k.protocol), 0};
}

}  // namespace

Status MapWriter::WriteTunnelState(const DesiredState& desired, WriteStats& stats) {
  for (const auto& [cidr, route] : desired.remote_cidrs) {
    auto it = remote_cidrs_.find(cidr);
    if (it != remote_cidrs_.end() && it->second == route) continue;
    auto key = CidrKey(cidr);
    mer_remote_cidr value{route.tunnel_ip.network_order(), route.cluster_id};
    if (bpf_map_update_elem(maps_.remote_cidrs, &key, &value, BPF_ANY) != 0) {
      return Error{fmt::format("write remote pod CIDR {} via {}: {}", cidr.ToString(),
                               route.tunnel_ip.ToString(), Errno())};
    }
    remote_cidrs_[cidr] = route;
    ++stats.tunnel_written;
  }
  for (const auto& [ip, cluster_id] : desired.tunnel_peers) {
    auto it = tunnel_peers_.find(ip);
    if (it != tunnel_peers_.end() && it->second == cluster_id) continue;
    std::uint32_t key = ip.network_order();
    mer_tunnel_peer value{cluster_id, 0};
    if (bpf_map_update_elem(maps_.tunnel_peers, &key, &value, BPF_ANY) != 0) {
      return Error{
          fmt::format("write tunnel peer {} (cluster {}): {}", ip.ToString(), cluster_id, Errno())};
    }
    tunnel_peers_[ip] = cluster_id;
    ++stats.tunnel_written;
  }
  for (const auto& ep : desired.exported_endpoints) {
    if (exported_eps_.count(ep)) continue;
    auto key = EndpointKey(ep);
    std::uint32_t value = 0;
    if (bpf_map_update_elem(maps_.exported_eps, &key, &value, BPF_ANY) != 0) {
      return Error{fmt::format("write exported endpoint {}: {}", ep.ToString(), Errno())};
    }
    exported_eps_.insert(ep);
    ++stats.tunnel_written;
  }
  return Status::Ok();
}

Status MapWriter::RemoveStaleTunnelState(const DesiredState& desired, WriteStats& stats) {
  for (auto it = remote_cidrs_.begin(); it != remote_cidrs_.end();) {
    if (desired.remote_cidrs.count(it->first)) {
      ++it;
      continue;
    }
    auto key = CidrKey(it->first);
    if (bpf_map_delete_elem(maps_.remote_cidrs, &key) != 0 && errno != ENOENT) {
      return Error{fmt::format("delete remote pod CIDR {}: {}", it->first.ToString(), Errno())};
    }
    ++stats.tunnel_deleted;
    it = remote_cidrs_.erase(it);
  }
  for (auto it = tunnel_peers_.begin(); it != tunnel_peers_.end();) {
    if (desired.tunnel_peers.count(it->first)) {
      ++it;
      continue;
    }
    std::uint32_t key = it->first.network_order();
    if (bpf_map_delete_elem(maps_.tunnel_peers, &key) != 0 && errno != ENOENT) {
      return Error{fmt::format("delete tunnel peer {}: {}", it->first.ToString(), Errno())};
    }
    ++stats.tunnel_deleted;
    it = tunnel_peers_.erase(it);
  }
  for (auto it = exported_eps_.begin(); it != exported_eps_.end();) {
    if (desired.exported_endpoints.count(*it)) {
      ++it;
      continue;
    }
    auto key = EndpointKey(*it);
    if (bpf_map_delete_elem(maps_.exported_eps, &key) != 0 && errno != ENOENT) {
      return Error{fmt::format("delete exported endpoint {}: {}", it->ToString(), Errno())};
    }
    ++stats.tunnel_deleted;
    it = exported_eps_.erase(it);
  }
  return Status::Ok();
}

}  // namespace meridian::datapath
