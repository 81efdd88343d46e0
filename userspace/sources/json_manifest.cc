#include "sources/json_manifest.h"

#include <fmt/format.h>

#include <set>
#include <vector>

namespace meridian::sources::internal {
JsonDocument ParseJsonManifest(std::string_view text) {
  JsonDocument out;
  // Duplicate keys: nlohmann keeps the last silently; the parser callback
  // sees every key of an object before it is stored.
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    switch (event) {
      case nlohmann::json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case nlohmann::json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case nlohmann::json::parse_event_t::key:
        if (!open_objects.empty() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::parse_error& e) {
    // what(): "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    std::string what = e.what();
    auto at = what.find("at line");
    out.error = "invalid JSON " + (at == std::string::npos ? what : what.substr(at));
    return out;
  }
  if (!duplicate.empty()) {
    out.error = fmt::format("invalid JSON: duplicate key \"{}\"", duplicate);
    return out;
  }
  out.value = std::move(j);
  return out;
}

}  // namespace meridian::sources::internal
