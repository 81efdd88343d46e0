// Manifest files: DecodeManifests must return objects or errors for any
// text, never crash, whether it reads it as YAML (*.yaml) or as JSON
// (*.json, its own reader).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sources/manifest_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)meridian::sources::DecodeManifests(text, "fuzz.yaml");
  (void)meridian::sources::DecodeManifests(text, "fuzz.json");
  return 0;
}
