#include "agent/frontend_table.h"

#include <nlohmann/json.hpp>

namespace meridian::agent {

std::string RenderFrontendsJson(const std::map<std::uint32_t, desired::FrontendKey>& ids,
                                const desired::DesiredState* state) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, key] : ids) {
    nlohmann::json f{{"id", id},
                     {"address", key.vip.ToString()},
                     {"port", key.port},
                     {"protocol", model::ToString(key.protocol)},
                     {"internal", key.internal},
                     {"service", ""},
                     {"port_name", ""}};
    if (state) {
      if (auto it = state->frontends.find(key); it != state->frontends.end()) {
        f["service"] = it->second.service.ToString();
        f["port_name"] = it->second.port_name;
      }
    }
    out.push_back(std::move(f));
  }
  return out.dump() + "\n";
}

}  // namespace meridian::agent
