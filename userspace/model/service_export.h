// ServiceExport (multicluster.x-k8s.io/v1alpha1, KEP-1645): marks the
// Service of the same namespace and name as exported to the ClusterSet.
#pragma once

#include "model/object_ref.h"

namespace meridian::model {

struct ServiceExport {
  ObjectMeta meta;

  bool operator==(const ServiceExport&) const = default;
};

}  // namespace meridian::model
