#include "dns/dns_counters.h"

namespace meridian::dns {

QueryType ClassifyQueryType(std::uint16_t qtype) {
  switch (qtype) {
    case rr::kA:
      return QueryType::kA;
    case rr::kAaaa:
      return QueryType::kAaaa;
    case rr::kSrv:
      return QueryType::kSrv;
    case rr::kPtr:
      return QueryType::kPtr;
    case rr::kAny:
      return QueryType::kAny;
    default:
      return QueryType::kOther;
  }
}

std::string_view ToString(QueryType type) {
  switch (type) {
    case QueryType::kA:
      return "A";
    case QueryType::kAaaa:
      return "AAAA";
    case QueryType::kSrv:
      return "SRV";
    case QueryType::kPtr:
      return "PTR";
    case QueryType::kAny:
      return "ANY";
    default:
      return "other";
  }
}

}  // namespace meridian::dns
