#include "datapath/map_writer.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "datapath/kernel_map_store.h"

namespace meridian::datapath {
namespace {

using desired::BackendKey;
using desired::DesiredState;
using desired::Frontend;
using desired::FrontendKey;
using model::Ipv4Address;
using model::Protocol;

std::string Errno(int err) { return std::strerror(err); }

mer_service_key ServiceKey(const FrontendKey& key) {
  return mer_service_key{
      .vip_be = key.vip.network_order(),
      .port_be = htons(key.port),
      .proto = static_cast<std::uint8_t>(key.protocol),
      .scope = key.internal ? std::uint8_t{MER_SVC_SCOPE_INTERNAL} : std::uint8_t{0}};
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
  return Recover(std::make_unique<KernelMapStore>(maps));
}

Result<MapWriter> MapWriter::Recover(std::unique_ptr<MapStore> store) {
  auto slots = store->MapSlots();
  if (!slots.ok()) return slots.error();
  MapWriter w(std::move(store), std::move(slots).value());
  if (auto s = w.ReadBackends(); !s) return s.error();
  if (auto s = w.ReadServices(); !s) return s.error();
  w.vips_.Recover(*w.store_);
  for (const auto& [vip, present] : w.vips_.installed()) w.unmarked_vips_.insert(vip);
  for (const auto& [key, b] : w.backends_) w.unreferenced_.insert(key);
  w.remote_cidrs_.Recover(*w.store_);
  w.tunnel_peers_.Recover(*w.store_);
  w.exported_eps_.Recover(*w.store_);
  return w;
}

Status MapWriter::ReadBackends() {
  std::vector<std::uint32_t> duplicates;
  ForEachEntry<std::uint32_t, mer_backend>(
      *store_, MapId::backends, [&](std::uint32_t id, const mer_backend& v) {
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
    if (int err = store_->Delete(MapId::backends, &id); err != 0 && err != ENOENT) {
      return Error{fmt::format("delete duplicate backend id {}: {}", id, Errno(err))};
    }
  }
  return Status::Ok();
}

Status MapWriter::ReadServices() {
  ForEachEntry<mer_service_key, mer_service>(
      *store_, MapId::services, [&](const mer_service_key& key, const mer_service& v) {
        Ipv4Address vip = Ipv4Address::FromNetworkOrder(key.vip_be);
        if (v.flags & MER_SVC_F_VIP_MARKER) return;  // vips_

        next_service_id_ = std::max(next_service_id_, v.id + 1);
        FrontendKey fk{vip, ntohs(key.port_be), static_cast<Protocol>(key.proto),
                       key.scope == MER_SVC_SCOPE_INTERNAL};
        // A range that leaves the array or that another entry took first
        // is not adopted: the next Apply() gives the service a new table.
        InstalledService svc{
            .value = v,
            .has_table = v.maglev_size > 0 && slots_.Adopt(v.maglev_offset, v.maglev_size)};
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

std::map<std::uint32_t, desired::FrontendKey> MapWriter::FrontendsById() const {
  std::map<std::uint32_t, desired::FrontendKey> out;
  for (const auto& [key, installed] : services_) out.emplace(installed.value.id, key);
  return out;
}

std::map<std::uint32_t, desired::BackendKey> MapWriter::BackendsById() const {
  std::map<std::uint32_t, desired::BackendKey> out;
  for (const auto& [key, installed] : backends_) out.emplace(installed.id, key);
  return out;
}

Result<WriteStats> MapWriter::Apply(const DesiredState& desired) {
  const auto now = std::chrono::steady_clock::now();
  slots_.ReleaseRetired(now);
  WriteStats stats;
  if (auto s = WriteBackends(desired, stats); !s) return s.error();
  if (auto s = WriteTunnelState(desired, stats); !s) return s.error();
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
  if (auto s = RemoveUnreferenced(stats); !s) return s.error();
  if (auto s = RemoveStaleTunnelState(desired, stats); !s) return s.error();
  return stats;
}

bool MapWriter::Unchanged(const Frontend& fe) const {
  auto it = services_.find(fe.key);
  return it != services_.end() && it->second.value.id != 0 && it->second.table.SameAs(fe.maglev) &&
         it->second.backends == fe.backends;
}

Status MapWriter::WriteBackends(const DesiredState& desired, WriteStats& stats) {
  for (const auto& [fkey, fe] : desired.frontends) {
    if (Unchanged(fe)) continue;  // its backends were written with it
    for (const auto& b : fe.backends) {
      mer_backend value = BackendValue(b);
      auto it = backends_.find(b.key);
      if (it != backends_.end() && SameBackend(it->second.value, value)) continue;
      std::uint32_t id = it != backends_.end() ? it->second.id : next_backend_id_;
      if (int err = store_->Update(MapId::backends, &id, &value); err != 0) {
        return Error{fmt::format("write backend {} (id {}) of {}: {}", b.key.ToString(), id,
                                 fkey.ToString(), Errno(err))};
      }
      if (it == backends_.end()) {
        ++next_backend_id_;
        backends_.emplace(b.key, InstalledBackend{id, value, 0});
        unreferenced_.insert(b.key);  // until a frontend that names it is recorded
      } else {
        it->second.value = value;
      }
      ++stats.backends_written;
    }
  }
  return Status::Ok();
}

Status MapWriter::MarkVip(InstalledService& svc, const Frontend& fe, WriteStats& stats) {
  const bool marks = fe.marks_vip();
  if (marks == svc.marks_vip) return Status::Ok();
  if (marks) {
    if (auto s = vips_.Put(*store_, fe.key.vip, Present{}, stats.services_written); !s) return s;
    ++vip_refs_[fe.key.vip];
  } else if (--vip_refs_[fe.key.vip] == 0) {
    unmarked_vips_.insert(fe.key.vip);
  }
  svc.marks_vip = marks;
  return Status::Ok();
}

void MapWriter::Record(InstalledService& svc, const Frontend& fe) {
  svc.table = fe.maglev;
  if (svc.backends == fe.backends) return;
  for (const auto& b : fe.backends) ++backends_.at(b.key).refs;
  Unreference(svc);  // after: a backend it keeps never reaches 0 on the way
  svc.backends = fe.backends;
}

void MapWriter::Unreference(const InstalledService& svc) {
  for (const auto& b : svc.backends) {
    auto it = backends_.find(b.key);
    if (it != backends_.end() && --it->second.refs == 0) unreferenced_.insert(b.key);
  }
}

Status MapWriter::RemoveUnreferenced(WriteStats& stats) {
  for (auto it = unmarked_vips_.begin(); it != unmarked_vips_.end();) {
    auto refs = vip_refs_.find(*it);
    if (refs == vip_refs_.end() || refs->second == 0) {
      if (auto s = vips_.Remove(*store_, *it, stats.services_deleted); !s) return s;
      if (refs != vip_refs_.end()) vip_refs_.erase(refs);
    }
    it = unmarked_vips_.erase(it);
  }
  for (auto it = unreferenced_.begin(); it != unreferenced_.end();) {
    auto b = backends_.find(*it);
    if (b != backends_.end() && b->second.refs == 0) {
      // Flows still pinned to this id re-select a backend in the datapath.
      if (int err = store_->Delete(MapId::backends, &b->second.id); err != 0 && err != ENOENT) {
        return Error{fmt::format("delete backend {}: {}", it->ToString(), Errno(err))};
      }
      ++stats.backends_deleted;
      backends_.erase(b);
    }
    it = unreferenced_.erase(it);
  }
  return Status::Ok();
}

Status MapWriter::PrepareTable(const Frontend& fe, FreshTables& fresh, WriteStats& stats) {
  if (Unchanged(fe)) return Status::Ok();
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
  if (auto s = MarkVip(svc, fe, stats); !s) return s;
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
  if (in_kernel && SameService(svc.value, want)) {
    Record(svc, fe);
    return Status::Ok();
  }
  auto key = ServiceKey(fe.key);
  if (int err = store_->Update(MapId::services, &key, &want); err != 0) {
    return Error{fmt::format("write service {} ({}): {}", fe.key.ToString(), fe.service.ToString(),
                             Errno(err))};
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
  Record(svc, fe);
  if (placed != fresh.end()) fresh.erase(placed);
  return Status::Ok();
}

Status MapWriter::RemoveStaleFrontends(const DesiredState& desired,
                                       std::chrono::steady_clock::time_point now,
                                       WriteStats& stats) {
  // Both maps are ordered by key: one walk, no lookups.
  auto want = desired.frontends.begin();
  for (auto it = services_.begin(); it != services_.end();) {
    while (want != desired.frontends.end() && want->first < it->first) ++want;
    if (want != desired.frontends.end() && want->first == it->first) {
      ++it;
      continue;
    }
    auto key = ServiceKey(it->first);
    if (int err = store_->Delete(MapId::services, &key); err != 0 && err != ENOENT) {
      return Error{fmt::format("delete service {}: {}", it->first.ToString(), Errno(err))};
    }
    ++stats.services_deleted;
    if (it->second.has_table) {
      slots_.Retire(it->second.value.maglev_offset, it->second.value.maglev_size, now);
      ++stats.tables_deleted;
    }
    Unreference(it->second);
    if (it->second.marks_vip && --vip_refs_[it->first.vip] == 0)
      unmarked_vips_.insert(it->first.vip);
    it = services_.erase(it);
  }
  return Status::Ok();
}

Status MapWriter::WriteTunnelState(const DesiredState& desired, WriteStats& stats) {
  for (const auto& [cidr, route] : desired.remote_cidrs) {
    if (auto s = remote_cidrs_.Put(*store_, cidr, route, stats.tunnel_written); !s) return s;
  }
  for (const auto& [ip, cluster_id] : desired.tunnel_peers) {
    if (auto s = tunnel_peers_.Put(*store_, ip, cluster_id, stats.tunnel_written); !s) return s;
  }
  for (const auto& ep : desired.exported_endpoints) {
    if (auto s = exported_eps_.Put(*store_, ep, Present{}, stats.tunnel_written); !s) return s;
  }
  return Status::Ok();
}

Status MapWriter::RemoveStaleTunnelState(const DesiredState& desired, WriteStats& stats) {
  if (auto s = remote_cidrs_.RemoveUnwanted(
          *store_, [&](const model::Cidr& c) { return desired.remote_cidrs.count(c) > 0; },
          stats.tunnel_deleted);
      !s) {
    return s;
  }
  if (auto s = tunnel_peers_.RemoveUnwanted(
          *store_, [&](Ipv4Address ip) { return desired.tunnel_peers.count(ip) > 0; },
          stats.tunnel_deleted);
      !s) {
    return s;
  }
  return exported_eps_.RemoveUnwanted(
      *store_, [&](const BackendKey& ep) { return desired.exported_endpoints.count(ep) > 0; },
      stats.tunnel_deleted);
}

}  // namespace meridian::datapath
