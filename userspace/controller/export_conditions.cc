#include "controller/export_conditions.h"

#include <fmt/format.h>

namespace meridian::controller {

namespace {

using nlohmann::json;

json Condition(const std::string& type, bool status, const std::string& reason,
               const std::string& message, const json& previous, const std::string& now) {
  const std::string status_text = status ? "True" : "False";
  std::string since = now;
  if (previous.is_array()) {
    for (const auto& c : previous) {
      // The transition time moves only when the status does (metav1).
      if (c.value("type", "") == type && c.value("status", "") == status_text) {
        since = c.value("lastTransitionTime", now);
      }
    }
  }
  return json{{"type", type},
              {"status", status_text},
              {"reason", reason},
              {"message", message},
              {"lastTransitionTime", since}};
}

}  // namespace

json ExportConditions(const ExportOutcome& outcome, const json& previous, const std::string& now) {
  json out = json::array();
  if (outcome.invalid) {
    const auto& p = *outcome.invalid;
    out.push_back(Condition("Valid", false, p.reason, p.message, previous, now));
    out.push_back(Condition("Ready", false, "Invalid", "the export is not valid", previous, now));
    return out;
  }
  if (!outcome.published) {
    out.push_back(Condition("Valid", true, "Valid", "the Service can be exported", previous, now));
    out.push_back(
        Condition("Ready", false, "Pending", "not yet published to the ClusterSet", previous, now));
    return out;
  }
  const ExportState& s = *outcome.published;
  out.push_back(Condition("Valid", true, "Valid", "the Service can be exported", previous, now));
  out.push_back(Condition(
      "Ready", true, "Ready",
      fmt::format("published to the ClusterSet; exported by {} cluster(s)", s.clusters.size()),
      previous, now));
  if (s.conflicts.empty()) {
    out.push_back(Condition("Conflict", false, "NoConflicts", "no conflict in the ClusterSet",
                            previous, now));
  } else {
    std::string message;
    for (const auto& c : s.conflicts) {
      if (!message.empty()) message += "; ";
      message += c.ToString();
    }
    out.push_back(Condition("Conflict", true, s.conflicts.front().reason, message, previous, now));
  }
  return out;
}

}  // namespace meridian::controller
