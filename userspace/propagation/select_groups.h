// Karmada's selectGroups (spreadconstraint/select_groups.go): the best
// combination of groups (regions) whose values (cluster counts) add up to
// a target, with between min and max groups. Every combination found by a
// depth-first search over the groups sorted by value is a candidate; the
// one with the highest total weight wins, then the highest total value,
// then the first found, except that a combination whose groups are a strict
// prefix of the winner's (both in weight order) replaces it: fewer groups
// when they suffice (docs/propagation-karmada.md, section 5.2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace meridian::propagation {

struct SpreadGroup {
  std::string name;
  std::int64_t value = 0;   // what must add up to the target
  std::int64_t weight = 0;  // the group's score
  bool operator==(const SpreadGroup&) const = default;
};

// The chosen groups, by weight descending then name; empty when no
// combination reaches the target within [min, max]. The search is
// exponential in the number of groups, as Karmada's is: past a bound on
// the combinations visited it stops with an error instead of stalling the
// scheduler.
Result<std::vector<SpreadGroup>> SelectGroups(std::vector<SpreadGroup> groups, int min_groups,
                                              int max_groups, std::int64_t target);

}  // namespace meridian::propagation
