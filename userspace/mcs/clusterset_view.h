// ClusterSetView: what an agent reads out of the registry, decoded and
// validated: the member clusters, every export, and the allocated
// ClusterSet IPs. Bad records are set aside with a reason; everything else
// keeps working.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "model/exported_service.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
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
  std::vector<RejectedRecord> rejected;  // sorted by key

  bool operator==(const ClusterSetView&) const = default;
};

// Decodes every record under /meridian/v1/ (as List returns them).
// Clusters are checked against each other and against `static_clusters`
// (from manifests, which win): a duplicate id or an overlapping pod CIDR
// rejects the cluster that registered later (higher revision), naming both.
// Exports of a cluster without an accepted info record are rejected.
ClusterSetView BuildClusterSetView(const std::vector<registry::KeyValue>& records,
                                   const std::vector<model::Cluster>& static_clusters);

}  // namespace meridian::mcs
