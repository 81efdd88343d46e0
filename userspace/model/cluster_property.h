// ClusterProperty (about.k8s.io/v1alpha1, KEP-2149 "About API"): one named
// property of the cluster. Two names matter to MCS: the cluster's id in its
// ClusterSet and the ClusterSet's name.
#pragma once

#include <string>

#include "model/object_ref.h"

namespace meridian::model {

inline constexpr char kClusterIdProperty[] = "cluster.clusterset.k8s.io";
inline constexpr char kClusterSetProperty[] = "clusterset.k8s.io";

struct ClusterProperty {
  ObjectMeta meta;  // cluster-scoped: meta.key.ns is empty
  std::string value;

  bool operator==(const ClusterProperty&) const = default;
};

}  // namespace meridian::model
