// Text pieces of decode errors: quoted values, field paths, object names.
// Internal to userspace/sources/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "model/object_ref.h"

namespace meridian::sources::internal {

// Quotes a value for an error message. Long values are cut: the message must
// stay one readable log line even if someone pasted a certificate into a port.
std::string Quote(std::string_view s);

// Field paths: Join("spec", "ports") is "spec.ports" (and Join("", "spec")
// is "spec"), At("spec.ports", 1) is "spec.ports[1]", KeyAt("labels", "a")
// is `labels["a"]`.
std::string Join(const std::string& base, std::string_view name);
std::string At(const std::string& base, std::size_t i);
std::string KeyAt(const std::string& base, std::string_view key);

// "Service shop/web" for a namespaced object, "Cluster east" for a
// cluster-scoped one (empty namespace).
std::string ObjectName(std::string_view kind, const model::ObjectKey& key);

}  // namespace meridian::sources::internal
