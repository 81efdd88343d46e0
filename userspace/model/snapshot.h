// ResourceSnapshot: every object a source currently holds, decoded and
// validated. Sources produce snapshots; the desired-state builder reads them.
#pragma once

#include <vector>

#include "model/cluster.h"
#include "model/cluster_property.h"
#include "model/endpoint_slice.h"
#include "model/node.h"
#include "model/service.h"
#include "model/service_export.h"

namespace meridian::model {

struct ResourceSnapshot {
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<ServiceExport> service_exports;
  std::vector<Cluster> clusters;
  std::vector<ClusterProperty> cluster_properties;  // about.k8s.io
  std::vector<Node> nodes;                          // from the API: the agent's own Node only

  bool operator==(const ResourceSnapshot&) const = default;
};

}  // namespace meridian::model
