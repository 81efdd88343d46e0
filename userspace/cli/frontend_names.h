// The agent's frontends by id, with their Service names (GET /frontends on
// the control socket, agent/frontend_table.h): how `meridianctl monitor`
// names the frontend of an event and resolves `--service NAMESPACE/NAME`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/result.h"

namespace meridian::cli {

struct FrontendName {
  std::uint32_t id = 0;  // mer_service.id
  std::uint32_t addr_be = 0;
  std::uint16_t port = 0;  // host order
  std::uint8_t proto = 0;  // IPPROTO_TCP / IPPROTO_UDP
  bool internal = false;   // the internal twin of an external frontend
  std::string service;     // "namespace/name"; empty when the agent did not know it
  std::string port_name;
};

class FrontendNames {
 public:
  // The body of GET /frontends; an error names the entry and field that
  // is wrong.
  static Result<FrontendNames> Parse(const std::string& json);

  const FrontendName* ById(std::uint32_t id) const;
  // The frontend a packet to addr:port (network order) of `proto` reaches.
  const FrontendName* ByDestination(std::uint32_t addr_be, std::uint16_t port_be,
                                    std::uint8_t proto) const;
  // Every frontend of the Service "namespace/name".
  std::vector<const FrontendName*> OfService(const std::string& service) const;
  std::size_t size() const { return all_.size(); }

 private:
  std::vector<FrontendName> all_;
  std::map<std::uint32_t, std::size_t> by_id_;
  // (address, host-order port, protocol) -> the first frontend there (an
  // external frontend and its internal twin share it): drop and tunnel
  // events are named by it, one lookup per event.
  std::map<std::tuple<std::uint32_t, std::uint16_t, std::uint8_t>, std::size_t> by_destination_;
};

}  // namespace meridian::cli
