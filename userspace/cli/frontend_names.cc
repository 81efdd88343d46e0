#include "cli/frontend_names.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <nlohmann/json.hpp>

#include "model/ipv4.h"

namespace meridian::cli {

Result<FrontendNames> FrontendNames::Parse(const std::string& json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    return Error{"frontends: expected a JSON array of frontends"};
  }
  FrontendNames out;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto& f = doc[i];
    auto bad = [&](const char* field) {
      return Error{fmt::format("frontends[{}].{}: missing or of the wrong type", i, field)};
    };
    if (!f.is_object()) return Error{fmt::format("frontends[{}]: expected an object", i)};
    FrontendName n;
    if (!f.contains("id") || !f["id"].is_number_unsigned()) return bad("id");
    n.id = f["id"].get<std::uint32_t>();
    if (!f.contains("address") || !f["address"].is_string()) return bad("address");
    auto addr = model::Ipv4Address::Parse(f["address"].get<std::string>());
    if (!addr) {
      return Error{fmt::format("frontends[{}].address {}: not an IPv4 address", i,
                               f["address"].get<std::string>())};
    }
    n.addr_be = addr->network_order();
    if (!f.contains("port") || !f["port"].is_number_unsigned() ||
        f["port"].get<unsigned>() > 65535) {
      return bad("port");
    }
    n.port = f["port"].get<std::uint16_t>();
    if (!f.contains("protocol") || !f["protocol"].is_string()) return bad("protocol");
    const std::string proto = f["protocol"].get<std::string>();
    if (proto == "TCP") {
      n.proto = IPPROTO_TCP;
    } else if (proto == "UDP") {
      n.proto = IPPROTO_UDP;
    } else {
      return Error{fmt::format("frontends[{}].protocol \"{}\": not TCP or UDP", i, proto)};
    }
    // Optional; of the wrong type they are errors, not exceptions.
    if (f.contains("internal")) {
      if (!f["internal"].is_boolean()) return bad("internal");
      n.internal = f["internal"].get<bool>();
    }
    for (auto [field, into] : {std::pair{"service", &n.service}, {"port_name", &n.port_name}}) {
      if (!f.contains(field)) continue;
      if (!f[field].is_string()) return bad(field);
      *into = f[field].get<std::string>();
    }
    out.by_id_[n.id] = out.all_.size();
    out.by_destination_.try_emplace({n.addr_be, n.port, n.proto}, out.all_.size());
    out.all_.push_back(std::move(n));
  }
  return out;
}

const FrontendName* FrontendNames::ById(std::uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &all_[it->second];
}

const FrontendName* FrontendNames::ByDestination(std::uint32_t addr_be, std::uint16_t port_be,
                                                 std::uint8_t proto) const {
  auto it = by_destination_.find({addr_be, ntohs(port_be), proto});
  return it == by_destination_.end() ? nullptr : &all_[it->second];
}

std::vector<const FrontendName*> FrontendNames::OfService(const std::string& service) const {
  std::vector<const FrontendName*> out;
  for (const auto& f : all_) {
    if (f.service == service) out.push_back(&f);
  }
  return out;
}

}  // namespace meridian::cli
