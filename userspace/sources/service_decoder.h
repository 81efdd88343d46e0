// Decodes a v1 Service. Internal to userspace/sources/.
#pragma once

#include <optional>
#include <string>

#include "model/object_ref.h"
#include "model/service.h"
#include "sources/field_readers.h"

namespace meridian::sources::internal {

// `obj` is the whole object, at field path `base` in its document. Problems
// go to `e`; nullopt when there was any.
std::optional<model::Service> DecodeService(const DocNode& obj, const std::string& base,
                                            const model::SourceRef& src, ObjectErrors& e);

}  // namespace meridian::sources::internal
