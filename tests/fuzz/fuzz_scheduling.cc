// meridianctl schedule's inputs: a PropagationPolicy, a workload and
// Cluster objects, each decoded from the same text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sources/scheduling_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)meridian::sources::DecodePropagationPolicy(text, "policy.yaml");
  (void)meridian::sources::DecodeWorkload(text, "workload.yaml");
  (void)meridian::sources::DecodeMemberClusters(text, "clusters.yaml");
  return 0;
}
