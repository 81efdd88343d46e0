// GET /frontends on the agent's control socket: every installed frontend
// by its id (mer_service.id, as the datapath's events and conntrack name
// it), with its address and the Service and port it belongs to. What lets
// `meridianctl monitor` show and filter events by Service name.
//
//   [{"id": 3, "address": "10.96.0.10", "port": 80, "protocol": "TCP",
//     "internal": false, "service": "default/web", "port_name": "http"}, ...]
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "desired/desired_state.h"

namespace meridian::agent {

// `ids`: the map writer's frontends by id; `state`: the desired state they
// were written from, for the Service names (null: names left empty).
std::string RenderFrontendsJson(const std::map<std::uint32_t, desired::FrontendKey>& ids,
                                const desired::DesiredState* state);

}  // namespace meridian::agent
