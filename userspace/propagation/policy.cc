#include "propagation/policy.h"

#include <algorithm>

namespace meridian::propagation {

bool SelectorMatches(const Policy& policy, const ResourceSelector& s, const Workload& workload) {
  if (!policy.ns.empty() && policy.ns != workload.ns) return false;
  if (s.api_version != workload.api_version || s.kind != workload.kind) return false;
  if (!s.name.empty() && s.name != workload.name) return false;
  if (!s.ns.empty() && s.ns != workload.ns) return false;
  return !s.label_selector || Matches(*s.label_selector, workload.labels);
}

bool Selects(const Policy& policy, const Workload& workload) {
  return std::any_of(
      policy.selectors.begin(), policy.selectors.end(),
      [&](const ResourceSelector& s) { return SelectorMatches(policy, s, workload); });
}

}  // namespace meridian::propagation
