// Decodes an about.k8s.io/v1alpha1 ClusterProperty and a v1 Node.
// Internal to userspace/sources/.
#pragma once

#include <optional>
#include <string>

#include "model/cluster_property.h"
#include "model/node.h"
#include "model/object_ref.h"
#include "sources/field_readers.h"

namespace meridian::sources::internal {

// spec.value is required. The cluster id property's value must be a
// DNS-1123 label, as Meridian's cluster names are (registry keys, slice
// names); other properties are kept as they are.
std::optional<model::ClusterProperty> DecodeClusterProperty(const DocNode& obj,
                                                            const std::string& base,
                                                            const model::SourceRef& src,
                                                            ObjectErrors& e);

// status.addresses (first IPv4 InternalIP and ExternalIP; IPv6 and other
// types skipped) and the topology labels.
std::optional<model::Node> DecodeNode(const DocNode& obj, const std::string& base,
                                      const model::SourceRef& src, ObjectErrors& e);

}  // namespace meridian::sources::internal
