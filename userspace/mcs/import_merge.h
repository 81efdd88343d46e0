// The MCS merge (KEP-1645): every cluster's export of one (namespace, name)
// forms one ServiceImport. Pure: the same exports give the same imports on
// every node.
#pragma once

#include <map>
#include <vector>

#include "model/exported_service.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/service_import.h"

namespace meridian::mcs {

// Conflict reasons, spelled as the KEP and mcs-api spell them.
inline constexpr char kPortConflict[] = "PortConflict";
inline constexpr char kTypeConflict[] = "TypeConflict";
inline constexpr char kSessionAffinityConflict[] = "SessionAffinityConflict";

// Rules:
// - exports are ordered oldest first (export creation time, then cluster
//   name, so the order is total and every node agrees);
// - the oldest export decides type and session affinity; each other export
//   that differs gets a TypeConflict / SessionAffinityConflict;
// - ports are the union, merged by name: a port whose name is taken with a
//   different protocol or number, or whose protocol+number is taken under a
//   different name, loses to the older one (PortConflict);
// - a conflicting export still contributes its endpoints;
// - the ClusterSet IP comes from `ips` (the registry's import records) and
//   is only attached to ClusterSetIP imports.
// Output sorted by key.
std::vector<model::ServiceImport> MergeImports(
    std::vector<model::ExportedService> exports,
    const std::map<model::ObjectKey, model::Ipv4Address>& ips);

}  // namespace meridian::mcs
