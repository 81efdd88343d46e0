// How `meridianctl monitor` shows and filters the datapath's events
// (struct mer_event, meridian/abi.h): one JSON object or one text line
// per event, and the filters by kind, frontend, pod and verdict.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/frontend_names.h"
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
  // --service VIP[:PORT] or NAMESPACE/NAME: the event's destination (a
  // flow's frontend) is one of these; empty: any.
  std::vector<AddressPort> services;
  // --pod IP: source, destination or backend.
  std::optional<std::uint32_t> pod_be;
  // --verdict NAME: a counter name (lb_new_flow, drop_ct_full, encap, ...).
  std::optional<std::uint32_t> reason;
};

// Every problem names the flag and the value. A --service NAMESPACE/NAME
// is resolved to its frontends in `names` (the agent's, null when it did
// not answer: then it is an error saying so).
Result<EventFilter> ParseEventFilter(const std::string& service, const std::string& pod,
                                     const std::string& verdict,
                                     const FrontendNames* names = nullptr);
bool Matches(const EventFilter& f, const mer_event& e);

// The frontend an event is about: a flow's by its id, another event's by
// its destination; null when `names` is null or does not know it.
const FrontendName* EventFrontend(const mer_event& e, const FrontendNames* names);

// `realtime_offset_ns`: CLOCK_REALTIME - CLOCK_MONOTONIC, to turn the
// event's bpf_ktime_get_ns() into wall time. With `names`, an event whose
// frontend is known carries its Service's name.
nlohmann::json EventJson(const mer_event& e, std::int64_t realtime_offset_ns,
                         const FrontendNames* names = nullptr);
std::string EventLine(const mer_event& e, std::int64_t realtime_offset_ns,
                      const FrontendNames* names = nullptr);

}  // namespace meridian::cli
