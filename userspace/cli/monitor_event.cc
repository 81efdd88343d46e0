#include "cli/monitor_event.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "datapath/stats_reader.h"
#include "model/ipv4.h"

namespace meridian::cli {
namespace {

using model::Ipv4Address;

std::string Addr(std::uint32_t be) { return Ipv4Address::FromNetworkOrder(be).ToString(); }
std::string Endpoint(std::uint32_t be, std::uint16_t port_be) {
  return fmt::format("{}:{}", Addr(be), ntohs(port_be));
}
std::string Proto(std::uint8_t p) {
  return p == IPPROTO_TCP    ? "TCP"
         : p == IPPROTO_UDP  ? "UDP"
         : p == IPPROTO_ICMP ? "ICMP"
                             : std::to_string(p);
}
std::string Reason(std::uint32_t r) {
  const auto& names = datapath::StatNames();
  return r < names.size() ? names[r] : fmt::format("#{}", r);
}
std::vector<std::string> FlowFlags(std::uint16_t f) {
  std::vector<std::string> out;
  if (f & MER_CT_F_NODEPORT) out.push_back("nodeport");
  if (f & MER_CT_F_DSR) out.push_back("dsr");
  return out;
}
// Wall time of the event, UTC, to the microsecond.
std::string Time(const mer_event& e, std::int64_t offset_ns, bool date) {
  const std::int64_t ns = static_cast<std::int64_t>(e.ts_ns) + offset_ns;
  const std::time_t s = ns / 1'000'000'000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  const long us = (ns % 1'000'000'000) / 1000;
  char buf[32];
  std::strftime(buf, sizeof buf, date ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
  return fmt::format("{}.{:06}{}", buf, us, date ? "Z" : "");
}
bool HasPorts(const mer_event& e) { return e.proto == IPPROTO_TCP || e.proto == IPPROTO_UDP; }
std::string Source(const mer_event& e) {
  return HasPorts(e) ? Endpoint(e.saddr_be, e.sport_be) : Addr(e.saddr_be);
}
std::string Destination(const mer_event& e) {
  return HasPorts(e) ? Endpoint(e.daddr_be, e.dport_be) : Addr(e.daddr_be);
}

}  // namespace

std::string EventTypeName(std::uint32_t type) {
  switch (type) {
    case MER_EVENT_FLOW:
      return "flow";
    case MER_EVENT_DROP:
      return "drop";
    case MER_EVENT_TUNNEL:
      return "tunnel";
  }
  return "unknown";
}

Result<std::uint32_t> EventTypeMask(const std::vector<std::string>& names) {
  if (names.empty()) return std::uint32_t{MER_EVENT_ALL_TYPES};
  std::uint32_t mask = 0;
  for (const auto& n : names) {
    bool known = false;
    for (std::uint32_t t : {MER_EVENT_FLOW, MER_EVENT_DROP, MER_EVENT_TUNNEL}) {
      if (n == EventTypeName(t)) {
        mask |= MER_EVENT_TYPE_BIT(t);
        known = true;
      }
    }
    if (!known) return Error{fmt::format("--type {}: not flow, drop or tunnel", n)};
  }
  return mask;
}

Result<AddressPort> ParseAddressPort(const std::string& flag, const std::string& text,
                                     const std::string& noun) {
  AddressPort out;
  const auto colon = text.find(':');
  auto addr = Ipv4Address::Parse(std::string_view(text).substr(0, colon));
  if (!addr) return Error{fmt::format("{} {}: expected {} or {}:PORT", flag, text, noun, noun)};
  out.addr_be = addr->network_order();
  if (colon != std::string::npos) {
    const std::string_view port = std::string_view(text).substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Error{fmt::format("{} {}: port must be 1-65535", flag, text)};
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

bool Matches(const AddressPort& want, std::uint32_t addr_be, std::uint16_t port_be) {
  return want.addr_be == addr_be && (!want.port || *want.port == ntohs(port_be));
}

Result<EventFilter> ParseEventFilter(const std::string& service, const std::string& pod,
                                     const std::string& verdict, const FrontendNames* names) {
  EventFilter f;
  if (service.find('/') != std::string::npos) {
    if (!names) {
      return Error{fmt::format(
          "--service {}: a Service name needs the agent's frontends, and the agent did not "
          "answer on its control socket; give the frontend as VIP or VIP:PORT",
          service)};
    }
    for (const FrontendName* n : names->OfService(service)) {
      f.services.push_back({.addr_be = n->addr_be, .port = n->port});
    }
    if (f.services.empty()) {
      return Error{
          fmt::format("--service {}: no frontend of that Service is installed on this node "
                      "(meridianctl services lists them)",
                      service)};
    }
  } else if (!service.empty()) {
    auto parsed = ParseAddressPort("--service", service, "VIP");
    if (!parsed.ok()) {
      if (!Ipv4Address::Parse(std::string_view(service).substr(0, service.find(':')))) {
        return Error{
            fmt::format("--service {}: expected VIP, VIP:PORT or NAMESPACE/NAME", service)};
      }
      return parsed.error();
    }
    f.services.push_back(*parsed);
  }
  if (!pod.empty()) {
    auto addr = Ipv4Address::Parse(pod);
    if (!addr) return Error{fmt::format("--pod {}: expected an IPv4 address", pod)};
    f.pod_be = addr->network_order();
  }
  if (!verdict.empty()) {
    const auto& names = datapath::StatNames();
    for (std::uint32_t i = 0; i < names.size(); ++i) {
      if (names[i] == verdict) f.reason = i;
    }
    if (!f.reason) {
      return Error{fmt::format(
          "--verdict {}: not a counter name (meridianctl stats lists them, e.g. lb_new_flow, "
          "drop_ct_full, encap)",
          verdict)};
    }
  }
  return f;
}

bool Matches(const EventFilter& f, const mer_event& e) {
  if (!f.services.empty() &&
      std::none_of(f.services.begin(), f.services.end(),
                   [&](const AddressPort& s) { return Matches(s, e.daddr_be, e.dport_be); })) {
    return false;
  }
  if (f.pod_be && e.saddr_be != *f.pod_be && e.daddr_be != *f.pod_be &&
      !(e.type == MER_EVENT_FLOW && e.backend_addr_be == *f.pod_be)) {
    return false;
  }
  if (f.reason && e.reason != *f.reason) return false;
  return true;
}

const FrontendName* EventFrontend(const mer_event& e, const FrontendNames* names) {
  if (!names) return nullptr;
  if (e.type == MER_EVENT_FLOW) return names->ById(e.service_id);
  return names->ByDestination(e.daddr_be, e.dport_be, e.proto);
}

nlohmann::json EventJson(const mer_event& e, std::int64_t realtime_offset_ns,
                         const FrontendNames* names) {
  nlohmann::json j{{"time", Time(e, realtime_offset_ns, /*date=*/true)},
                   {"type", EventTypeName(e.type)},
                   {"reason", Reason(e.reason)},
                   {"proto", Proto(e.proto)},
                   {"source", Source(e)},
                   {"destination", Destination(e)},
                   {"bytes", e.len}};
  if (e.type == MER_EVENT_FLOW) {
    j["service_id"] = e.service_id;
    j["backend_id"] = e.backend_id;
    j["backend"] = Endpoint(e.backend_addr_be, e.backend_port_be);
    j["cluster_id"] = e.cluster_id;
    j["flags"] = FlowFlags(e.ct_flags);
  } else if (e.type == MER_EVENT_TUNNEL) {
    j["direction"] = e.dir == MER_TUNNEL_RX ? "rx" : "tx";
    j["cluster_id"] = e.cluster_id;
  }
  if (const FrontendName* f = EventFrontend(e, names); f && !f->service.empty()) {
    j["service"] = f->service;
  }
  return j;
}

std::string EventLine(const mer_event& e, std::int64_t realtime_offset_ns,
                      const FrontendNames* names) {
  const FrontendName* frontend = EventFrontend(e, names);
  const std::string service =
      frontend && !frontend->service.empty() ? " " + frontend->service : std::string();
  std::string line = fmt::format("{} {:<6} {:<24} {:<4} {} -> {}",
                                 Time(e, realtime_offset_ns, /*date=*/false), EventTypeName(e.type),
                                 Reason(e.reason), Proto(e.proto), Source(e), Destination(e));
  if (e.type == MER_EVENT_FLOW) {
    line += fmt::format(" => {} (service {}{}, backend {}, cluster {})",
                        Endpoint(e.backend_addr_be, e.backend_port_be), e.service_id, service,
                        e.backend_id, e.cluster_id);
    if (auto flags = FlowFlags(e.ct_flags); !flags.empty())
      line += fmt::format(" [{}]", fmt::join(flags, ","));
  } else if (e.type == MER_EVENT_TUNNEL) {
    line += fmt::format(" {} cluster {}", e.dir == MER_TUNNEL_RX ? "from" : "to", e.cluster_id);
  }
  if (e.type != MER_EVENT_FLOW && !service.empty()) line += fmt::format(" (service{})", service);
  return line;
}

}  // namespace meridian::cli
