#include "mcs/export_builder.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cstdio>

namespace meridian::mcs {

std::optional<std::int64_t> ParseRfc3339Ms(const std::string& text) {
  int y, mo, d, h, mi, s, n = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 ||
      n != 19) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t digits = 0;
    std::int64_t scale = 100;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++digits) {
      ms += (text[pos] - '0') * scale;
      scale /= 10;
    }
    if (digits == 0) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') &&
             text[pos + 3] == ':') {
    int oh, om;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return std::nullopt;
  }
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::int64_t secs = timegm(&tm) - offset_s;
  return secs * 1000 + ms;
}

BuiltExports BuildExports(const model::ResourceSnapshot& snapshot, const std::string& cluster,
                          const std::map<model::ObjectKey, std::int64_t>& first_seen_ms) {
  std::map<model::ObjectKey, const model::Service*> services;
  for (const auto& s : snapshot.services) services[s.meta.key] = &s;
  BuiltExports out;
  for (const auto& se : snapshot.service_exports) {
    auto it = services.find(se.meta.key);
    if (it == services.end()) {
      out.problems.push_back({se.meta.key, "NoService",
                              fmt::format("ServiceExport {} has no Service of the same name",
                                          se.meta.key.ToString())});
      continue;
    }
    const model::Service& svc = *it->second;
    // KEP-1645: an ExternalName Service cannot be exported. It is not
    // published, so it never takes part in the merge (where its missing
    // ClusterIP would pass for headless and could win a TypeConflict).
    if (svc.type == model::ServiceType::kExternalName) {
      out.problems.push_back(
          {se.meta.key, "InvalidServiceType",
           fmt::format("ServiceExport {}: Service {} is of type ExternalName, which cannot be "
                       "exported; it is not published",
                       se.meta.key.ToString(), svc.meta.key.ToString())});
      continue;
    }
    model::ExportedService e{.cluster = cluster, .service = svc.meta.key};
    e.type = svc.cluster_ip ? model::ImportType::kClusterSetIP : model::ImportType::kHeadless;
    for (const auto& p : svc.ports) e.ports.push_back({p.name, p.protocol, p.port});
    e.session_affinity = svc.session_affinity;
    if (auto ms = ParseRfc3339Ms(se.meta.creation_timestamp)) {
      e.export_creation_ms = *ms;
    } else if (auto f = first_seen_ms.find(se.meta.key); f != first_seen_ms.end()) {
      e.export_creation_ms = f->second;
    }
    // Meridian's annotations travel with the export, rebuilt from the
    // decoded fields (what was validated is what is published).
    if (svc.global) {
      e.annotations[model::kGlobalAnnotation] = "true";
      e.annotations[model::kAffinityAnnotation] = model::ToString(svc.global_affinity);
    }
    for (const auto& slice : snapshot.endpoint_slices) {
      if (slice.meta.key.ns != svc.meta.key.ns || slice.service_name != svc.meta.key.name) {
        continue;
      }
      for (const auto& ep : slice.endpoints) {
        for (const auto& addr : ep.addresses) {
          e.endpoints.push_back({.address = addr,
                                 .hostname = ep.hostname,
                                 .node = ep.node_name,
                                 .zone = ep.zone,
                                 .conditions = ep.conditions,
                                 .ports = slice.ports});
        }
      }
    }
    out.exports.push_back(std::move(e));
  }
  std::sort(out.exports.begin(), out.exports.end(),
            [](const auto& a, const auto& b) { return a.service < b.service; });
  return out;
}

}  // namespace meridian::mcs
