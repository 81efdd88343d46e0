// ExportPublisher: keeps one cluster's records in the registry equal to what
// it should publish -- its ClusterInfo and one ExportedService per exported
// Service, all under one lease TTL -- and allocates ClusterSet IPs. It writes
// only under /meridian/v1/clusters/<cluster>/ and /meridian/v1/imports/.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/cidr.h"
#include "model/cluster.h"
#include "model/exported_service.h"
#include "model/object_ref.h"
#include "model/service_import.h"
#include "registry/registry.h"

namespace meridian::controller {

struct PublisherOptions {
  std::string cluster;
  std::chrono::milliseconds lease_ttl{10000};
  model::Cidr clusterset_cidr;
  // An import no cluster exports any more is released after this long (its
  // last exporter died without withdrawing).
  std::chrono::milliseconds orphan_grace{20000};
};

// One of this cluster's exports as the ClusterSet merged it (KEP-1645): the
// import it is part of, and every conflict of that import. The KEP puts a
// conflict on every export of the conflicted service, not only the loser's.
struct ExportState {
  model::ObjectKey service;
  model::ImportType import_type = model::ImportType::kClusterSetIP;
  model::SessionAffinity session_affinity = model::SessionAffinity::kNone;
  std::vector<std::string> clusters;             // exporting clusters, oldest export first
  std::vector<model::ExportConflict> conflicts;  // of the whole import

  bool operator==(const ExportState&) const = default;
};

struct SyncReport {
  int puts = 0, keepalives = 0, deletes = 0, released_imports = 0;
  std::vector<std::string> errors;   // one per failed record; the rest went on
  std::vector<ExportState> exports;  // sorted by service; empty if the registry could not be read
};

class ExportPublisher {
 public:
  ExportPublisher(registry::Registry& reg, PublisherOptions options)
      : reg_(reg), options_(std::move(options)) {}

  // Writes what changed, renews the lease of what did not, deletes what is
  // no longer exported, and lets each export's ClusterSet IP follow the
  // merged import (not this cluster's own export): allocated only while
  // the import is ClusterSetIP, released when it becomes headless.
  // Call at least every lease_ttl / 3. The first call adopts (or removes)
  // records a previous run left behind.
  SyncReport Sync(const model::Cluster& info, const std::vector<model::ExportedService>& exports);
  // Reads the records a previous run left under this cluster's prefix (at
  // most once; Sync calls it if the caller did not). Returns the creation
  // time each previously published export carried, so that a restart does
  // not make an export younger than it was (the merge's oldest-wins rule
  // depends on it).
  Result<std::map<model::ObjectKey, std::int64_t>> Adopt();
  bool adopted() const { return adopted_; }
  // Deletes every record of this cluster, and the import records nobody
  // else exports: a clean shutdown, so peers need not wait for the lease.
  SyncReport Withdraw();

 private:
  void ReleaseIfUnexported(const model::ObjectKey& service, SyncReport& report);
  // Merges each of `exports` with the other clusters' exports of the same
  // service (from one List of the clusters' records), fills report.exports,
  // and allocates or releases each import's ClusterSet IP by its merged type.
  void FollowImports(const std::vector<model::ExportedService>& exports,
                     const std::vector<registry::KeyValue>& records, SyncReport& report);
  void CollectOrphanImports(const std::vector<registry::KeyValue>& records, SyncReport& report);

  registry::Registry& reg_;
  PublisherOptions options_;
  bool adopted_ = false;
  std::map<std::string, std::string> published_;  // key -> value we wrote
  std::int64_t started_ms_ = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> orphan_since_;
};

}  // namespace meridian::controller
