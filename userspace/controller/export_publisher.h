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

struct SyncReport {
  int puts = 0, keepalives = 0, deletes = 0, released_imports = 0;
  std::vector<std::string> errors;  // one per failed record; the rest went on
};

class ExportPublisher {
 public:
  ExportPublisher(registry::Registry& reg, PublisherOptions options)
      : reg_(reg), options_(std::move(options)) {}

  // Writes what changed, renews the lease of what did not, deletes what is
  // no longer exported, and ensures every ClusterSetIP export has its IP.
  // Call at least every lease_ttl / 3. The first call adopts (or removes)
  // records a previous run left behind.
  SyncReport Sync(const model::Cluster& info, const std::vector<model::ExportedService>& exports);
  // Deletes every record of this cluster, and the import records nobody
  // else exports: a clean shutdown, so peers need not wait for the lease.
  SyncReport Withdraw();

 private:
  void ReleaseIfUnexported(const model::ObjectKey& service, SyncReport& report);
  void CollectOrphanImports(SyncReport& report);

  registry::Registry& reg_;
  PublisherOptions options_;
  bool adopted_ = false;
  std::map<std::string, std::string> published_;  // key -> value we wrote
  std::int64_t started_ms_ = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> orphan_since_;
};

}  // namespace meridian::controller
