// Decodes a discovery.k8s.io/v1 EndpointSlice. Internal to userspace/sources/.
#pragma once

#include <optional>
#include <string>

#include "model/endpoint_slice.h"
#include "model/object_ref.h"
#include "sources/field_readers.h"

namespace meridian::sources::internal {

// `obj` is the whole object, at field path `base` in its document. Problems
// go to `e`; nullopt when there was any.
std::optional<model::EndpointSlice> DecodeEndpointSlice(const DocNode& obj, const std::string& base,
                                                        const model::SourceRef& src,
                                                        ObjectErrors& e);

}  // namespace meridian::sources::internal
