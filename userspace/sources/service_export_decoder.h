// Decodes a multicluster.x-k8s.io/v1alpha1 ServiceExport (KEP-1645). Internal to
// userspace/sources/.
#pragma once

#include <optional>
#include <string>

#include "model/object_ref.h"
#include "model/service_export.h"
#include "sources/field_readers.h"

namespace meridian::sources::internal {

// `obj` is the whole object, at field path `base` in its document. Problems
// go to `e`; nullopt when there was any.
std::optional<model::ServiceExport> DecodeServiceExport(const DocNode& obj, const std::string& base,
                                                        const model::SourceRef& src,
                                                        ObjectErrors& e);

}  // namespace meridian::sources::internal
