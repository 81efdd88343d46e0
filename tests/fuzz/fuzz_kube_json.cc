// Objects as the Kubernetes API server sends them (LIST items, WATCH
// events): any JSON object through the decoder the kubernetes source uses.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "sources/object_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  auto decoded = meridian::sources::DecodeObjectJson(json, "kubernetes");
  (void)decoded;
  return 0;
}
