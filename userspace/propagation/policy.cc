#include "propagation/policy.h"

namespace meridian::propagation {

bool Selects(const Policy& policy, const Workload& workload) {
  if (!policy.ns.empty() && policy.ns != workload.ns) return false;
  for (const auto& s : policy.selectors) {
    if (s.api_version != workload.api_version || s.kind != workload.kind) continue;
    if (!s.name.empty() && s.name != workload.name) continue;
    if (!s.ns.empty() && s.ns != workload.ns) continue;
    if (s.label_selector && !Matches(*s.label_selector, workload.labels)) continue;
    return true;
  }
  return false;
}

}  // namespace meridian::propagation
