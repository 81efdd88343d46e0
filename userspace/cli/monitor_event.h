// How `meridianctl monitor` shows and filters the datapath's events
// (struct mer_event, meridian/abi.h): one JSON object or one text line
// per event, and the filters by kind, frontend, pod and verdict.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "meridian/abi.h"

namespace meridian::cli {

// "flow", "drop", "tunnel" (or "unknown").
std::string EventTypeName(std::uint32_t type);
// The MER_EVENT_TYPE_BIT mask of kind names ("flow", "drop", "tunnel");
// an error names a word that is none. Empty: every kind.
Result<std::uint32_t> EventTypeMask(const std::vector<std::string>& names);

// ADDRESS or ADDRESS:PORT, as the flag `flag` takes it; `noun` names the
// address in the error ("--service 10.96.0: expected VIP or VIP:PORT").
struct AddressPort {
  std::uint32_t addr_be = 0;
  std::optional<std::uint16_t> port;
};
Result<AddressPort> ParseAddressPort(const std::string& flag, const std::string& text,
                                     const std::string& noun);
// Does (addr_be, port_be) match `want`? Its port only when it names one.
bool Matches(const AddressPort& want, std::uint32_t addr_be, std::uint16_t port_be);

struct EventFilter {
  // --service VIP[:PORT]: the event's destination (a flow's frontend).
  std::optional<AddressPort> service;
  // --pod IP: source, destination or backend.
  std::optional<std::uint32_t> pod_be;
  // --verdict NAME: a counter name (lb_new_flow, drop_ct_full, encap, ...).
  std::optional<std::uint32_t> reason;
};

// Every problem names the flag and the value.
Result<EventFilter> ParseEventFilter(const std::string& service, const std::string& pod,
                                     const std::string& verdict);
bool Matches(const EventFilter& f, const mer_event& e);

// `realtime_offset_ns`: CLOCK_REALTIME - CLOCK_MONOTONIC, to turn the
// event's bpf_ktime_get_ns() into wall time.
nlohmann::json EventJson(const mer_event& e, std::int64_t realtime_offset_ns);
std::string EventLine(const mer_event& e, std::int64_t realtime_offset_ns);

}  // namespace meridian::cli
