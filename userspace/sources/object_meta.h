// metadata of every decoded object. Internal to userspace/sources/.
#pragma once

#include <string>
#include <string_view>

#include "model/object_ref.h"
#include "sources/field_readers.h"

namespace meridian::sources::internal {

enum class NameRule { kDns1035Label, kDns1123Label, kDns1123Subdomain };

// How a kind names its objects.
struct MetaRules {
  std::string_view kind;  // "Service"
  NameRule name_rule;
  // Namespaced objects default to namespace "default"; a cluster-scoped
  // object must not have one, and its key has an empty namespace.
  bool namespaced = true;
};

// Reads metadata.name, .namespace, .labels, .annotations and
// .creationTimestamp of the object at `base`, and names the object in `e`
// ("Service shop/web", "Cluster east") once the name is known.
model::ObjectMeta DecodeMeta(const DocNode& obj, const std::string& base, const MetaRules& rules,
                             const model::SourceRef& src, ObjectErrors& e);

}  // namespace meridian::sources::internal
