// Codecs between the registry's Protobuf records (proto/meridian/v1) and the
// model. Decoding validates everything a reader relies on, so a malformed
// record is rejected with a reason instead of reaching the datapath.
#pragma once

#include <string>

#include "common/result.h"
#include "model/cluster.h"
#include "model/exported_service.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/propagation_decision.h"

namespace meridian::mcs {

// Larger values are rejected unread: a record is a few KiB even for a
// service with hundreds of endpoints.
inline constexpr std::size_t kMaxRecordBytes = 1 << 20;

std::string EncodeClusterInfo(const model::Cluster& cluster, std::int64_t heartbeat_ms);
// `cluster` is the name from the key; the record must carry the same name.
Result<model::Cluster> DecodeClusterInfo(const std::string& cluster, const std::string& bytes);

std::string EncodeExportedService(const model::ExportedService& exported);
// `cluster` and `service` come from the key and must match the record.
Result<model::ExportedService> DecodeExportedService(const std::string& cluster,
                                                     const model::ObjectKey& service,
                                                     const std::string& bytes);

std::string EncodeImportRecord(const model::ObjectKey& service, model::Ipv4Address ip);
Result<model::Ipv4Address> DecodeImportRecord(const model::ObjectKey& service,
                                              const std::string& bytes);

std::string EncodeDecision(const model::PropagationDecision& decision);
// `service` comes from the key and must match the record. Cluster names
// must be DNS labels (RFC 1123), as cluster names are.
Result<model::PropagationDecision> DecodeDecision(const model::ObjectKey& service,
                                                  const std::string& bytes);

}  // namespace meridian::mcs
