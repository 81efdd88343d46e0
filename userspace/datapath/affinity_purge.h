// Session affinity of removed endpoints: a client whose backend left a
// ClientIP frontend must be balanced afresh at its next new flow, at once
// -- not held (or refused) until its affinity times out. The datapath
// ignores entries whose backend left mer_backends or is terminating; this
// purge covers the endpoint removed from one frontend while another still
// uses it (so its backend entry stays).
#pragma once

#include <cstddef>
#include <set>

#include "common/result.h"
#include "datapath/udp_flow_purge.h"
#include "desired/desired_state.h"

namespace meridian::datapath {

// (frontend, backend) pairs of `before`'s ClientIP frontends whose backend
// is no longer theirs in `after` (see RemovedEndpoints).
std::set<ServiceBackend> RemovedAffinityEndpoints(const desired::DesiredState& before,
                                                  const desired::DesiredState& after,
                                                  const MapWriter& writer);

// Deletes the mer_affinity entries of the given pairs; returns how many.
// One walk over mer_affinity, only when such an endpoint was removed.
Result<std::size_t> PurgeAffinity(int affinity_fd, const std::set<ServiceBackend>& pairs);

}  // namespace meridian::datapath
