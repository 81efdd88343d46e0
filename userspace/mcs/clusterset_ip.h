// ClusterSet IP allocation: one VIP per non-headless import, identical in
// every cluster because it lives in the registry (/meridian/v1/imports/<ns>/<svc>)
// and is claimed by compare-and-swap: two controllers racing for the same
// import, or for the same address, cannot both win.
#pragma once

#include "common/result.h"
#include "model/cidr.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "registry/registry.h"

namespace meridian::mcs {

// Returns the import's ClusterSet IP, allocating the lowest free address of
// `cidr` (not its network or broadcast address) if it has none. Errors when
// the CIDR is exhausted or the registry fails.
Result<model::Ipv4Address> EnsureClusterSetIp(registry::Registry& reg,
                                              const model::ObjectKey& service,
                                              const model::Cidr& cidr);

// Deletes the import record (its IP returns to the pool).
Status ReleaseClusterSetIp(registry::Registry& reg, const model::ObjectKey& service);

}  // namespace meridian::mcs
