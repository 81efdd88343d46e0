// Webster (Sainte-Laguë) highest-averages division, as Karmada's scheduler
// divides replicas among clusters since v1.16 (its webstermethod.go;
// docs/propagation-karmada.md, section 7). Seats go one at a time to the
// party with the highest votes / (2 * seats + 1); so the division of N + 1
// seats is the division of N plus one seat (house monotonicity: adding
// replicas never takes one from a cluster).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace meridian::propagation {

// Who wins a tie of exactly equal averages, after "fewer seats first":
// the smaller name, or the larger.
enum class TieOrder : std::uint8_t { kNameAscending, kNameDescending };

// FNV-1a, 32 bits, over the bytes of `s`.
std::uint32_t Fnv1a32(std::string_view s);

// Karmada's tie-break for a workload: FNV-1a of its UID, odd -> names
// descending, even -> ascending; an empty UID -> ascending. Different
// workloads thus put the odd replica of a tie on the first or the last
// cluster about equally often, each always the same way.
TieOrder TieOrderForUid(std::string_view uid);

// Hands out `new_seats` seats, one at a time, on top of `initial`, by
// `votes` (a party's weight; a party missing from `votes` has none, and
// gets a new seat only when no party has votes). Returns every party of either map, with its seats,
// in name order. No party: an empty map. Ties: exactly equal averages
// (compared as doubles, as Karmada does) go to the party with fewer seats,
// then by `order`. Negative votes count as none.
std::map<std::string, std::int32_t> AllocateWebsterSeats(
    std::int32_t new_seats, const std::map<std::string, std::int64_t>& votes,
    const std::map<std::string, std::int32_t>& initial = {},
    TieOrder order = TieOrder::kNameAscending);

}  // namespace meridian::propagation
