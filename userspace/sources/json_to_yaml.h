// JSON manifests without yaml-cpp's scanner: a .json file is parsed by
// nlohmann::json (strict: a truncated or malformed file is an error) and
// converted to the YAML::Node tree the decoders read. At 10k services the
// YAML scanner was two thirds of a cold sync; JSON is also what a
// Kubernetes watch delivers. Internal to userspace/sources/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::sources::internal {

struct JsonDocument {
  std::optional<nlohmann::json> value;  // set on success
  std::string error;                    // "invalid JSON at line L, column C: <what>"
};

// Strict parse. A key that occurs twice in one object is an error, as in
// the YAML path.
JsonDocument ParseJsonManifest(std::string_view text);

// The tree the decoders read. Strings become quoted scalars (tag "!") and
// numbers, booleans and null plain ones (tag "?"), exactly as yaml-cpp
// would load the same text, so the decoders' type checks behave the same.
// Each call builds a tree with its own node memory: callers convert a
// List's items one at a time, which keeps yaml-cpp's node sets small.
YAML::Node ToYamlNode(const nlohmann::json& value);

}  // namespace meridian::sources::internal
