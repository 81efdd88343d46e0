// MapWriter: makes one node's BPF maps match a DesiredState, writing only
// what differs, in an order that never exposes a half-built service:
// backends, then tables, then service entries; removals last. It never
// flushes a map: conntrack is not touched at all.
//
// It keeps a mirror of what it installed. Recover() rebuilds that mirror
// from the kernel, so an agent restart resumes from the pinned maps and a
// first Apply() with unchanged input writes nothing.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "datapath/map_set.h"
#include "datapath/unique_fd.h"
#include "desired/desired_state.h"
#include "meridian/abi.h"

namespace meridian::datapath {

// What one Apply() changed in the kernel.
struct WriteStats {
  std::uint32_t services_written = 0;  // service entries and VIP markers
  std::uint32_t services_deleted = 0;
  std::uint32_t backends_written = 0;
  std::uint32_t backends_deleted = 0;
  std::uint32_t tables_created = 0;  // whole Maglev tables swapped in
  std::uint32_t tables_deleted = 0;
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

  // On error the kernel holds a consistent mix of old and new state (every
  // service entry points at a complete table), the mirror reflects exactly
  // what was written, and the next Apply() resumes.
  Result<WriteStats> Apply(const desired::DesiredState& desired);

  std::size_t installed_services() const { return services_.size(); }
  std::size_t installed_backends() const { return backends_.size(); }
  std::uint32_t backend_id(const desired::BackendKey& key) const;  // 0 if absent

 private:
  struct InstalledService {
    mer_service value{};
    // The table's kernel map id, not an fd: 100k services must not hold 100k
    // open files. 0 when there is no table.
    std::uint32_t table_map_id = 0;
    std::vector<std::uint32_t> table;  // slot -> backend id
    std::uint32_t table_id = 0;        // its key in mer_maglev (= service id)
    bool has_table() const { return table_map_id != 0; }
  };
  struct InstalledBackend {
    std::uint32_t id = 0;
    mer_backend value{};
  };

  explicit MapWriter(const MapSet& maps) : maps_(maps) {}

  Status ReadServices();
  void ReadTunnelState();
  // Adds and updates remote CIDRs, peers and exported endpoints (before the
  // services that may need them); RemoveStaleTunnelState removes (after).
  Status WriteTunnelState(const desired::DesiredState& desired, WriteStats& stats);
  Status RemoveStaleTunnelState(const desired::DesiredState& desired, WriteStats& stats);
  Status ReadBackends();
  Status WriteBackends(const desired::DesiredState& desired, WriteStats& stats);
  Status WriteVipMarkers(const desired::DesiredState& desired, WriteStats& stats);
  // A Maglev table built and filled, waiting to be installed in mer_maglev.
  struct NewTable {
    desired::FrontendKey frontend;
    std::uint32_t id = 0;
    UniqueFd fd;
    std::vector<std::uint32_t> slots;
  };
  // Updates tables in place or builds new ones into `fresh`; no service
  // entry is touched yet.
  Status PrepareTable(const desired::Frontend& fe, std::vector<NewTable>& fresh, WriteStats& stats);
  // Batches of new tables: every update of a map-in-map waits for an RCU
  // grace period (milliseconds), so one per batch, not one per service.
  // Batches are bounded so that the fds held meanwhile stay few.
  Status InstallTables(std::vector<NewTable>& fresh, WriteStats& stats);
  Status WriteServiceEntry(const desired::Frontend& fe, WriteStats& stats);
  Status DeleteRetiredTables(WriteStats& stats);
  Status RemoveStaleFrontends(const desired::DesiredState& desired, WriteStats& stats);
  Status RemoveStaleVipMarkers(const desired::DesiredState& desired, WriteStats& stats);
  Status RemoveStaleBackends(const desired::DesiredState& desired, WriteStats& stats);

  Result<UniqueFd> CreateTable(const desired::FrontendKey& key,
                               const std::vector<std::uint32_t>& ids);

  MapSet maps_;
  std::map<desired::FrontendKey, InstalledService> services_;
  std::set<model::Ipv4Address> vips_;
  std::map<desired::BackendKey, InstalledBackend> backends_;
  // Tables no service entry points at any more (replaced, emptied, removed,
  // or found orphaned at recovery): deleted in one batch at the end.
  std::set<std::uint32_t> retired_tables_;
  std::map<model::Cidr, desired::TunnelRoute> remote_cidrs_;
  std::map<model::Ipv4Address, std::uint32_t> tunnel_peers_;
  std::set<desired::BackendKey> exported_eps_;
  std::uint32_t next_service_id_ = 1;
  std::uint32_t next_backend_id_ = 1;
};

}  // namespace meridian::datapath
