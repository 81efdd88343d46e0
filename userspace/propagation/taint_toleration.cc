#include "propagation/taint_toleration.h"

#include <fmt/format.h>

#include <algorithm>

namespace meridian::propagation {

bool Tolerates(const Toleration& toleration, const Taint& taint) {
  if (!toleration.effect.empty() && toleration.effect != taint.effect) return false;
  if (!toleration.key.empty() && toleration.key != taint.key) return false;
  return toleration.op == Toleration::Op::kExists || toleration.value == taint.value;
}

std::optional<Taint> UntoleratedTaint(const std::vector<Taint>& taints,
                                      const std::vector<Toleration>& tolerations) {
  for (const auto& t : taints) {
    // PreferNoSchedule only scores in Kubernetes; Karmada filters on the two others.
    if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
    const bool tolerated = std::any_of(tolerations.begin(), tolerations.end(),
                                       [&](const Toleration& tol) { return Tolerates(tol, t); });
    if (!tolerated) return t;
  }
  return std::nullopt;
}

std::string UntoleratedTaintReason(const Taint& taint) {
  return fmt::format("had untolerated taint {{{} {} {} <nil>}}", taint.key, taint.value,
                     taint.effect);
}

}  // namespace meridian::propagation
