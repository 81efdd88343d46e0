#include "propagation/webster.h"

#include <queue>
#include <vector>

namespace meridian::propagation {

std::uint32_t Fnv1a32(std::string_view s) {
  std::uint32_t h = 0x811c9dc5u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x01000193u;
  }
  return h;
}

TieOrder TieOrderForUid(std::string_view uid) {
  if (uid.empty()) return TieOrder::kNameAscending;
  return (Fnv1a32(uid) & 1u) ? TieOrder::kNameDescending : TieOrder::kNameAscending;
}

namespace {

struct Party {
  const std::string* name;
  std::int64_t votes;
  std::int32_t seats;
  // Karmada compares the averages as doubles, ties by ==.
  double average() const {
    return static_cast<double>(votes) / static_cast<double>(2 * std::int64_t{seats} + 1);
  }
};

// True when `a` gets the next seat before `b` (a strict total order: names
// are unique, so a heap pops exactly Karmada's choice).
bool Before(const Party& a, const Party& b, TieOrder order) {
  const double pa = a.average(), pb = b.average();
  if (pa != pb) return pa > pb;
  if (a.seats != b.seats) return a.seats < b.seats;
  return order == TieOrder::kNameAscending ? *a.name < *b.name : *a.name > *b.name;
}

}  // namespace

std::map<std::string, std::int32_t> AllocateWebsterSeats(
    std::int32_t new_seats, const std::map<std::string, std::int64_t>& votes,
    const std::map<std::string, std::int32_t>& initial, TieOrder order) {
  std::map<std::string, std::int32_t> result = initial;
  for (const auto& [name, v] : votes) result.try_emplace(name, 0);
  // A party without votes has average 0: it wins a seat only when no
  // party has votes, as in Karmada.
  auto later = [order](const Party& a, const Party& b) { return Before(b, a, order); };
  std::priority_queue<Party, std::vector<Party>, decltype(later)> heap(later);
  for (const auto& [name, seats] : result) {
    auto v = votes.find(name);
    const std::int64_t n = v == votes.end() || v->second < 0 ? 0 : v->second;
    heap.push(Party{&name, n, seats});
  }
  for (std::int32_t i = 0; i < new_seats && !heap.empty(); ++i) {
    Party p = heap.top();
    heap.pop();
    ++p.seats;
    ++result[*p.name];
    heap.push(p);
  }
  return result;
}

}  // namespace meridian::propagation
