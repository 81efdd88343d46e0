#include "datapath/map_writer.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

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
  return mer_service_key{.vip_be = key.vip.network_order(),
                         .port_be = htons(key.port),
                         .proto = static_cast<std::uint8_t>(key.protocol),
                         .pad = 0};
}

mer_service_key MarkerKey(Ipv4Address vip) {
  return mer_service_key{.vip_be = vip.network_order(), .port_be = 0, .proto = 0, .pad = 0};
}

bool SameService(const mer_service& a, const mer_service& b) {
  return a.id == b.id && a.backend_count == b.backend_count && a.maglev_size == b.maglev_size &&
         a.flags == b.flags;
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

// All slots of a Maglev table, in one batch; empty when the table does not
// have exactly `size` slots (it is then rebuilt on the next Apply).
std::vector<std::uint32_t> ReadTable(int fd, std::uint32_t size) {
  std::vector<std::uint32_t> keys(size), values(size);
  std::uint32_t count = size, out_batch = 0;
  int rc =
      bpf_map_lookup_batch(fd, nullptr, &out_batch, keys.data(), values.data(), &count, nullptr);
  // An array reports ENOENT once it is exhausted, also after a full batch.
  if ((rc != 0 && errno != ENOENT) || count != size) return {};
  std::uint32_t probe = size;  // a larger table is not this service's
  std::uint32_t ignored = 0;
  if (bpf_map_lookup_elem(fd, &probe, &ignored) == 0) return {};
  return values;
}

}  // namespace

Result<MapWriter> MapWriter::Recover(const MapSet& maps) {
  MapWriter w(maps);
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
  // Every table present in mer_maglev, so that tables no service points at
  // can be removed.
  for (std::uint32_t id : MapKeys<std::uint32_t>(maps_.maglev)) {
    retired_tables_.insert(id);
    next_service_id_ = std::max(next_service_id_, id + 1);
  }

  ForEachEntry<mer_service_key, mer_service>(
      maps_.services, [&](const mer_service_key& key, const mer_service& v) {
        Ipv4Address vip = Ipv4Address::FromNetworkOrder(key.vip_be);
        if (v.flags & MER_SVC_F_VIP_MARKER) {
          vips_.insert(vip);
          return;
        }
        next_service_id_ = std::max(next_service_id_, v.id + 1);
        FrontendKey fk{vip, ntohs(key.port_be), static_cast<Protocol>(key.proto)};
        InstalledService svc;
        svc.value = v;
        std::uint32_t inner_id = 0;
        if (v.maglev_size > 0 && bpf_map_lookup_elem(maps_.maglev, &v.id, &inner_id) == 0) {
          UniqueFd table_fd(bpf_map_get_fd_by_id(inner_id));
          if (table_fd.valid()) {
            svc.table_map_id = inner_id;
            retired_tables_.erase(v.id);
            svc.table_id = v.id;
            svc.table = ReadTable(table_fd.get(), v.maglev_size);
          }
        }
        services_.emplace(fk, std::move(svc));
      });
  return Status::Ok();
}

std::uint32_t MapWriter::backend_id(const BackendKey& key) const {
  auto it = backends_.find(key);
  return it == backends_.end() ? 0 : it->second.id;
}

Result<WriteStats> MapWriter::Apply(const DesiredState& desired) {
  WriteStats stats;
  if (auto s = WriteBackends(desired, stats); !s) return s.error();
  if (auto s = WriteTunnelState(desired, stats); !s) return s.error();
  if (auto s = WriteVipMarkers(desired, stats); !s) return s.error();
  std::vector<NewTable> fresh;
  Status prepared;
  constexpr std::size_t kTablesPerBatch = 256;
  for (const auto& [key, fe] : desired.frontends) {
    prepared = PrepareTable(fe, fresh, stats);
    if (!prepared) break;
    if (fresh.size() >= kTablesPerBatch) {
      if (auto s = InstallTables(fresh, stats); !s) return s.error();
    }
  }
  // Tables built before a failure are still installed and used.
  if (auto s = InstallTables(fresh, stats); !s) return s.error();
  if (!prepared) return prepared.error();
  for (const auto& [key, fe] : desired.frontends) {
    if (auto s = WriteServiceEntry(fe, stats); !s) return s.error();
  }
  if (auto s = RemoveStaleFrontends(desired, stats); !s) return s.error();
  if (auto s = RemoveStaleVipMarkers(desired, stats); !s) return s.error();
  if (auto s = DeleteRetiredTables(stats); !s) return s.error();
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

Result<UniqueFd> MapWriter::CreateTable(const FrontendKey& key,
                                        const std::vector<std::uint32_t>& ids) {
  // The flags must equal the template's in bpf/include/meridian/maps.h.
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
  UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "mer_maglev_tbl", sizeof(std::uint32_t),
                             sizeof(std::uint32_t), ids.size(), &opts));
  if (!fd.valid()) {
    return Error{fmt::format("create Maglev table ({} slots) for {}: {}", ids.size(),
                             key.ToString(), Errno())};
  }
  // Not yet reachable by any program: filled in place through a mapping.
  // The kernel lays array elements out 8 bytes apart (value size rounded
  // up to 8), so each 4-byte id goes at the start of its 8-byte cell.
  constexpr std::size_t kCell = 8;
  std::size_t bytes = ids.size() * kCell;
  std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::size_t len = (bytes + page - 1) / page * page;
  void* mem = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (mem == MAP_FAILED) {
    return Error{fmt::format("map Maglev table for {}: {}", key.ToString(), Errno())};
  }
  auto* cells = static_cast<unsigned char*>(mem);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::memcpy(cells + i * kCell, &ids[i], sizeof(std::uint32_t));
  }
  munmap(mem, len);
  return fd;
}

Status MapWriter::PrepareTable(const Frontend& fe, std::vector<NewTable>& fresh,
                               WriteStats& stats) {
  // One id lookup per backend, not per slot: tables have ~100 slots per
  // backend and a reconcile walks every frontend.
  std::vector<std::uint32_t> backend_ids(fe.backends.size());
  for (std::size_t b = 0; b < backend_ids.size(); ++b) {
    backend_ids[b] = backends_.at(fe.backends[b].key).id;
  }
  std::vector<std::uint32_t> ids(fe.maglev.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = backend_ids[fe.maglev[i]];
  auto it = services_.find(fe.key);
  const InstalledService* svc = it == services_.end() ? nullptr : &it->second;
  if (ids.empty()) return Status::Ok();  // rejecting: no table needed
  if (svc && svc->has_table() && svc->table.size() == ids.size()) {
    // Same size: rewrite only the slots that changed. Each slot update is
    // atomic and every value is a live backend, so readers never see junk.
    std::vector<std::uint32_t> slots, values;
    for (std::uint32_t i = 0; i < ids.size(); ++i) {
      if (svc->table[i] != ids[i]) {
        slots.push_back(i);
        values.push_back(ids[i]);
      }
    }
    if (slots.empty()) return Status::Ok();
    std::uint32_t count = slots.size();
    UniqueFd table_fd(bpf_map_get_fd_by_id(svc->table_map_id));
    if (!table_fd.valid() ||
        bpf_map_update_batch(table_fd.get(), slots.data(), values.data(), &count, nullptr) != 0) {
      return Error{fmt::format("update {} Maglev slots of {}: {}", slots.size(), fe.key.ToString(),
                               Errno())};
    }
    stats.slots_written += slots.size();
    it->second.table = std::move(ids);
    return Status::Ok();
  }
  // New table, or a new size: built completely under a fresh id; the
  // service entry switches to it in one update later.
  auto fd = CreateTable(fe.key, ids);
  if (!fd.ok()) return fd.error();
  fresh.push_back(NewTable{fe.key, next_service_id_++, std::move(fd).value(), std::move(ids)});
  return Status::Ok();
}

Status MapWriter::InstallTables(std::vector<NewTable>& fresh, WriteStats& stats) {
  if (fresh.empty()) return Status::Ok();
  std::vector<std::uint32_t> keys;
  std::vector<int> fds;
  for (const auto& t : fresh) {
    keys.push_back(t.id);
    fds.push_back(t.fd.get());
  }
  std::uint32_t count = keys.size();
  int rc = bpf_map_update_batch(maps_.maglev, keys.data(), fds.data(), &count, nullptr);
  int err = errno;
  // `count` entries went in even when the batch failed part-way.
  for (std::uint32_t i = 0; i < count && i < fresh.size(); ++i) {
    InstalledService& svc = services_[fresh[i].frontend];
    if (svc.has_table()) retired_tables_.insert(svc.table_id);
    bpf_map_info info{};
    std::uint32_t info_len = sizeof info;
    if (bpf_obj_get_info_by_fd(fresh[i].fd.get(), &info, &info_len) != 0) {
      return Error{
          fmt::format("read id of Maglev table of {}: {}", fresh[i].frontend.ToString(), Errno())};
    }
    svc.table_map_id = info.id;
    svc.table = std::move(fresh[i].slots);
    svc.table_id = fresh[i].id;
    ++stats.tables_created;
  }
  if (rc != 0) {
    return Error{
        fmt::format("install Maglev table of {}: {}",
                    fresh[std::min<std::size_t>(count, fresh.size() - 1)].frontend.ToString(),
                    std::strerror(err))};
  }
  fresh.clear();  // closes the fds: mer_maglev holds the tables now
  return Status::Ok();
}

Status MapWriter::WriteServiceEntry(const Frontend& fe, WriteStats& stats) {
  auto it = services_.find(fe.key);
  if (it == services_.end()) it = services_.emplace(fe.key, InstalledService{}).first;
  InstalledService& svc = it->second;
  bool in_kernel = svc.value.id != 0;
  std::size_t active = fe.active_backends();
  mer_service want{.id = svc.value.id,
                   .backend_count = static_cast<std::uint32_t>(active),
                   .maglev_size = 0,
                   .flags = 0};
  if (active > 0) {
    if (!svc.has_table()) {
      return Error{fmt::format("service {}: no Maglev table installed", fe.key.ToString())};
    }
    want.id = svc.table_id;
    want.maglev_size = static_cast<std::uint32_t>(svc.table.size());
  } else if (want.id == 0) {
    want.id = next_service_id_++;  // rejecting from the start: an id, no table
  }
  if (in_kernel && SameService(svc.value, want)) return Status::Ok();
  auto key = ServiceKey(fe.key);
  if (bpf_map_update_elem(maps_.services, &key, &want, BPF_ANY) != 0) {
    return Error{fmt::format("write service {} ({}): {}", fe.key.ToString(), fe.service.ToString(),
                             Errno())};
  }
  svc.value = want;
  ++stats.services_written;
  if (active == 0 && svc.has_table()) {
    // Nothing points at the table any more.
    retired_tables_.insert(svc.table_id);
    svc.table_map_id = 0;
    svc.table.clear();
    svc.table_id = 0;
  }
  return Status::Ok();
}

Status MapWriter::DeleteRetiredTables(WriteStats& stats) {
  if (retired_tables_.empty()) return Status::Ok();
  std::vector<std::uint32_t> keys(retired_tables_.begin(), retired_tables_.end());
  std::uint32_t count = keys.size();
  int rc = bpf_map_delete_batch(maps_.maglev, keys.data(), &count, nullptr);
  int err = errno;
  for (std::uint32_t i = 0; i < count && i < keys.size(); ++i) retired_tables_.erase(keys[i]);
  stats.tables_deleted += count;
  if (rc != 0 && err != ENOENT) {
    return Error{fmt::format("delete {} retired Maglev tables: {}", keys.size() - count,
                             std::strerror(err))};
  }
  if (rc != 0) {
    // A key already gone stops the batch: delete the rest one by one.
    for (auto it = retired_tables_.begin(); it != retired_tables_.end();) {
      std::uint32_t id = *it;
      if (bpf_map_delete_elem(maps_.maglev, &id) != 0 && errno != ENOENT) {
        return Error{fmt::format("delete Maglev table {}: {}", id, Errno())};
      }
      ++stats.tables_deleted;
      it = retired_tables_.erase(it);
    }
  }
  return Status::Ok();
}

Status MapWriter::RemoveStaleFrontends(const DesiredState& desired, WriteStats& stats) {
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
    if (it->second.has_table()) retired_tables_.insert(it->second.table_id);
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
