// MapWriter: makes one node's BPF maps match a DesiredState, writing only
// what differs, in an order that never exposes a half-built service:
// backends, then tables, then service entries; removals last. It never
// flushes a map: conntrack is not touched at all. Maglev tables live in one
// flat slot array (MaglevSlots); a service entry names its table's range.
//
// It keeps a mirror of what it installed. Recover() rebuilds that mirror
// from the maps, so an agent restart resumes from the pinned maps and a
// first Apply() with unchanged input writes nothing. The maps are a
// MapStore: the kernel's, or memory for tests and benchmarks without root.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "datapath/maglev_slots.h"
#include "datapath/map_codecs.h"
#include "datapath/map_mirror.h"
#include "datapath/map_set.h"
#include "datapath/map_store.h"
#include "desired/desired_state.h"
#include "meridian/abi.h"

namespace meridian::datapath {

// What one Apply() changed in the kernel.
struct WriteStats {
  std::uint32_t services_written = 0;  // service entries and VIP markers
  std::uint32_t services_deleted = 0;
  std::uint32_t backends_written = 0;
  std::uint32_t backends_deleted = 0;
  std::uint32_t tables_created = 0;  // whole Maglev tables placed in a new range
  std::uint32_t tables_deleted = 0;  // ranges no entry names any more (retired)
  std::uint32_t slots_written = 0;   // in-place Maglev slot updates
  std::uint32_t tunnel_written = 0;  // remote CIDRs, peers, exported endpoints
  std::uint32_t tunnel_deleted = 0;

  std::uint32_t total() const {
    return services_written + services_deleted + backends_written + backends_deleted +
           tables_created + tables_deleted + slots_written + tunnel_written + tunnel_deleted;
  }
  bool operator==(const WriteStats&) const = default;
};

class MapWriter {
 public:
  // Reads the installed state from `maps`. Fails only when a map cannot be
  // read at all; inconsistent entries are repaired by the next Apply().
  static Result<MapWriter> Recover(const MapSet& maps);
  static Result<MapWriter> Recover(std::unique_ptr<MapStore> store);

  // On error the kernel holds a consistent mix of old and new state (every
  // service entry points at a complete table), the mirror reflects exactly
  // what was written, and the next Apply() resumes. When the Maglev slots
  // run out, the frontends whose tables fit are still installed.
  Result<WriteStats> Apply(const desired::DesiredState& desired);

  std::size_t installed_services() const { return services_.size(); }
  std::size_t installed_backends() const { return backends_.size(); }
  std::uint32_t backend_id(const desired::BackendKey& key) const;   // 0 if absent
  std::uint32_t service_id(const desired::FrontendKey& key) const;  // 0 if absent
  // The installed frontends and backends by their kernel ids: the names of
  // mer_flows' pairs (/metrics) and which pairs are still alive.
  std::map<std::uint32_t, desired::FrontendKey> FrontendsById() const;
  std::map<std::uint32_t, desired::BackendKey> BackendsById() const;
  std::uint64_t maglev_slots_used() const { return slots_.used(); }
  std::uint32_t maglev_slots_capacity() const { return slots_.capacity(); }
  const MapStore& store() const { return *store_; }
  // The maps, for a writer that recovers from them (a restart in a test).
  std::unique_ptr<MapStore> ReleaseStore() && { return std::move(store_); }

 private:
  struct InstalledService {
    mer_service value{};  // as written; names the table's range
    // The range value.maglev_offset.. (maglev_size slots) is this
    // service's: placed by this writer or adopted at recovery.
    bool has_table = false;
    // The table and backends of the desired frontend the entry was last
    // written for (none after recovery): a frontend that comes again with
    // the same table (by identity) and backends needs no work at all, so
    // a reconcile costs its changes, not a compare of every slot.
    desired::SharedTable table;
    std::vector<desired::Backend> backends;
    // It counts toward its address's VIP marker (vip_refs_).
    bool marks_vip = false;
  };
  struct InstalledBackend {
    std::uint32_t id = 0;
    mer_backend value{};
    // Installed frontends whose recorded backends name it; at 0 it is a
    // candidate for removal (unreferenced_).
    std::uint32_t refs = 0;
  };

  struct SlotRange {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };
  using FreshTables = std::map<desired::FrontendKey, SlotRange>;

  MapWriter(std::unique_ptr<MapStore> store, MaglevSlots slots)
      : store_(std::move(store)), slots_(std::move(slots)) {}

  Status ReadServices();
  // Written before with exactly this table and these backends.
  bool Unchanged(const desired::Frontend& fe) const;
  // Adds and updates remote CIDRs, peers and exported endpoints (before the
  // services that may need them); RemoveStaleTunnelState removes (after).
  Status WriteTunnelState(const desired::DesiredState& desired, WriteStats& stats);
  Status RemoveStaleTunnelState(const desired::DesiredState& desired, WriteStats& stats);
  Status ReadBackends();
  Status WriteBackends(const desired::DesiredState& desired, WriteStats& stats);
  // The VIP marker of the frontend's address exists once a frontend that
  // needs one is recorded (before its entry is written).
  Status MarkVip(InstalledService& svc, const desired::Frontend& fe, WriteStats& stats);
  // The entry now holds `fe`: its table and backends are recorded, and the
  // backends' reference counts follow.
  void Record(InstalledService& svc, const desired::Frontend& fe);
  void Unreference(const InstalledService& svc);
  // Deletes the backends and VIP markers no installed frontend needs.
  Status RemoveUnreferenced(WriteStats& stats);
  // Rewrites a table of unchanged size in place, or places a new one in a
  // free range, recorded in `fresh`; no service entry is touched yet.
  Status PrepareTable(const desired::Frontend& fe, FreshTables& fresh, WriteStats& stats);
  // Points the entry at its table (from `fresh` if new) and retires the
  // range it named before.
  Status WriteServiceEntry(const desired::Frontend& fe, FreshTables& fresh,
                           std::chrono::steady_clock::time_point now, WriteStats& stats);
  Status RemoveStaleFrontends(const desired::DesiredState& desired,
                              std::chrono::steady_clock::time_point now, WriteStats& stats);

  std::unique_ptr<MapStore> store_;
  std::map<desired::FrontendKey, InstalledService> services_;
  MapMirror<VipMarkerCodec> vips_;
  std::map<model::Ipv4Address, std::uint32_t> vip_refs_;  // recorded frontends per VIP
  std::map<desired::BackendKey, InstalledBackend> backends_;
  // Candidates for removal, checked at the end of a successful Apply: what
  // lost its last reference, what was installed but not yet referenced, and
  // after recovery everything recovered. A reconcile thus looks at what it
  // changed, not at every backend and VIP.
  std::set<desired::BackendKey> unreferenced_;
  std::set<model::Ipv4Address> unmarked_vips_;
  MaglevSlots slots_;
  MapMirror<RemoteCidrCodec> remote_cidrs_;
  MapMirror<TunnelPeerCodec> tunnel_peers_;
  MapMirror<ExportedEndpointCodec> exported_eps_;
  std::uint32_t next_service_id_ = 1;
  std::uint32_t next_backend_id_ = 1;
};

}  // namespace meridian::datapath
