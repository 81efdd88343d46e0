// The API server allocates each nodePort (per protocol) to one Service; a
// manifest directory can name one twice. BuildDesiredState keeps the
// Service the source lists first; this names every later one, so that the
// agent reports it (status.json errors) instead of dropping it silently.
#pragma once

#include <string>
#include <vector>

#include "model/service.h"

namespace meridian::desired {

// One line per clash, in source order: "Service shop/b:
// spec.ports[0].nodePort: 30080/TCP is already allocated to Service
// shop/a; not served for shop/b".
std::vector<std::string> NodePortClashes(const std::vector<model::Service>& services);

}  // namespace meridian::desired
