// ClusterSetView: what an agent reads out of the registry, decoded and
// validated: the member clusters, every export, and the allocated
// ClusterSet IPs. Bad records are set aside with a reason; everything else
// keeps working.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "model/exported_service.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/propagation_decision.h"
#include "registry/registry.h"

namespace meridian::mcs {

struct RejectedRecord {
  std::string key;
  std::string reason;
};

struct ClusterSetView {
  std::vector<model::Cluster> clusters;         // accepted, sorted by name
  std::vector<model::ExportedService> exports;  // of accepted clusters only
  std::map<model::ObjectKey, model::Ipv4Address> clusterset_ips;
  // The elected scheduler's decisions, by the Service they weight.
  std::map<model::ObjectKey, model::PropagationDecision> decisions;
  std::vector<RejectedRecord> rejected;  // sorted by key

  bool operator==(const ClusterSetView&) const = default;
};

// Decoded records by key, reused while a record's revision is unchanged:
// an agent re-reads the whole ClusterSet on every change, but only the
// changed records need decoding.
class RecordCache {
 public:
  struct Entry {
    std::int64_t revision = 0;
    std::uint64_t generation = 0;  // the Sweep round that last used it
    std::optional<model::Cluster> cluster;
    std::optional<model::ExportedService> exported;
    std::optional<model::Ipv4Address> ip;
    std::optional<model::ObjectKey> import_key;  // with ip: the import it belongs to
    std::optional<model::PropagationDecision> decision;
    std::string error;  // the key or the value did not parse
  };
  // The entry for (key, revision), decoding with `decode` on a miss.
  template <class Decode>
  const Entry& Get(const std::string& key, std::int64_t revision, Decode decode) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.revision != revision) {
      Entry e = decode();
      e.revision = revision;
      it = entries_.insert_or_assign(key, std::move(e)).first;
    }
    it->second.generation = generation_;
    return it->second;
  }
  // Forgets keys not used since the last call (deleted records).
  void Sweep() {
    std::erase_if(entries_, [&](const auto& kv) { return kv.second.generation != generation_; });
    ++generation_;
  }

 private:
  std::map<std::string, Entry> entries_;
  std::uint64_t generation_ = 1;
};

// Decodes every record under /meridian/v1/ (as List returns them).
// Clusters are checked against each other and against `static_clusters`
// (from manifests, which win): a duplicate id or an overlapping pod CIDR
// rejects the cluster that registered later (higher revision), naming both.
// Exports of a cluster without an accepted info record are rejected.
// `cache` (optional) skips decoding records whose revision it has seen.
ClusterSetView BuildClusterSetView(const std::vector<registry::KeyValue>& records,
                                   const std::vector<model::Cluster>& static_clusters,
                                   RecordCache* cache = nullptr);

}  // namespace meridian::mcs
