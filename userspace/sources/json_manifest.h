// JSON manifests without yaml-cpp: a .json file is parsed by nlohmann::json
// (strict: a truncated or malformed file is an error) and the decoders read
// the result through DocNode. At 10k services the YAML scanner was two
// thirds of a cold sync; JSON is also what a Kubernetes watch delivers.
// Internal to userspace/sources/.
#pragma once

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

}  // namespace meridian::sources::internal
