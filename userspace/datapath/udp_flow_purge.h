// UDP flows of removed endpoints: found by comparing two desired states,
// then deleted from conntrack (both directions).
//
// Why only UDP, and why here: an established TCP flow keeps its backend
// after the endpoint leaves the service, while the pod answers (the
// datapath follows the backend address in the conntrack entry), as with
// kube-proxy. A UDP "flow" has no end the client can see, so it would stick
// to a removed endpoint as long as the client keeps its socket; kube-proxy
// deletes such conntrack entries so the client's next datagram is balanced
// again, and so does the agent. The datapath already moves a UDP flow whose
// backend left mer_backends; this purge covers the endpoint removed from
// one service while another service still uses it (so its backend entry
// stays), which makes the rule the same whatever the other services are.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <utility>

#include "common/result.h"
#include "desired/desired_state.h"

namespace meridian::datapath {

class MapWriter;

// (mer_service.id, backend id): one service's flows to one backend.
using ServiceBackend = std::pair<std::uint32_t, std::uint32_t>;

// The (frontend, backend) pairs of `before`'s frontends for which `which`
// holds whose backend is no longer a backend of that frontend in `after`,
// as installed by `writer` (after it applied `after`). Frontends that are
// gone, and backends that left the maps, are left out.
std::set<ServiceBackend> RemovedEndpoints(
    const desired::DesiredState& before, const desired::DesiredState& after,
    const MapWriter& writer, const std::function<bool(const desired::Frontend&)>& which);

// UDP (frontend, backend) pairs of `before` whose backend is no longer a
// backend of that frontend in `after`, as installed by `writer` (after it
// applied `after`). Frontends that are gone, and backends that left the
// maps, need no purge (the datapath stops or moves those flows itself).
std::set<ServiceBackend> RemovedUdpEndpoints(const desired::DesiredState& before,
                                             const desired::DesiredState& after,
                                             const MapWriter& writer);

// Deletes every UDP conntrack entry of the given pairs; returns how many
// entries it deleted. One walk over mer_ct: it runs only when a UDP
// endpoint was removed.
Result<std::size_t> PurgeUdpFlows(int ct_fd, const std::set<ServiceBackend>& flows);

}  // namespace meridian::datapath
