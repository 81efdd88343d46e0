// Decodes a meridian.io/v1alpha1 Cluster. Internal to userspace/sources/.
#pragma once

#include <optional>
#include <string>

#include "model/cluster.h"
#include "model/object_ref.h"
#include "sources/field_readers.h"

namespace meridian::sources::internal {

// `obj` is the whole object, at field path `base` in its document. Problems
// go to `e`; nullopt when there was any. Checks everything that can be
// checked within one Cluster; uniqueness across Clusters is the caller's.
std::optional<model::Cluster> DecodeCluster(const DocNode& obj, const std::string& base,
                                            const model::SourceRef& src, ObjectErrors& e);

}  // namespace meridian::sources::internal
