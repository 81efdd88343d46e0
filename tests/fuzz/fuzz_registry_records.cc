// Registry records (protobuf values another cluster's controller wrote):
// every decoder of mcs/records.h on the same bytes.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "mcs/records.h"

// protobuf logs every string field with invalid UTF-8 at ERROR: quiet, or
// the run is spent writing the log.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const meridian::model::ObjectKey key{"default", "web"};
  (void)meridian::mcs::DecodeClusterInfo("c2", bytes);
  (void)meridian::mcs::DecodeExportedService("c2", key, bytes);
  (void)meridian::mcs::DecodeImportRecord(key, bytes);
  (void)meridian::mcs::DecodeDecision(key, bytes);
  return 0;
}
