#include "sources/json_to_yaml.h"

#include <fmt/format.h>

#include <set>
#include <vector>

namespace meridian::sources::internal {
namespace {

void SetScalar(YAML::Node& node, const std::string& text, const char* tag) {
  node = text;
  node.SetTag(tag);
}

// Fills `node`, a handle into the tree, in place. Children are created
// through the parent (node[key], node[index]) so that they share its
// memory: building them apart and attaching them made yaml-cpp merge node
// sets on every level, which cost more than the YAML scanner it replaces.
void Fill(YAML::Node node, const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      node = YAML::Node(YAML::NodeType::Map);  // also when empty
      for (const auto& [key, value] : j.items()) Fill(node[key], value);
      break;
    case nlohmann::json::value_t::array: {
      node = YAML::Node(YAML::NodeType::Sequence);
      std::size_t i = 0;
      for (const auto& value : j) Fill(node[i++], value);  // index == size appends
      break;
    }
    case nlohmann::json::value_t::string:
      SetScalar(node, j.get_ref<const std::string&>(), "!");
      break;
    case nlohmann::json::value_t::boolean:
      SetScalar(node, j.get<bool>() ? "true" : "false", "?");
      break;
    case nlohmann::json::value_t::null:
      node = YAML::Node(YAML::NodeType::Null);
      break;
    default:  // numbers: their JSON text, as yaml-cpp would read it
      SetScalar(node, j.dump(), "?");
      break;
  }
}

}  // namespace

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

YAML::Node ToYamlNode(const nlohmann::json& value) {
  YAML::Node root(YAML::NodeType::Null);  // a real node: Fill writes through a copy of this handle
  Fill(root, value);
  return root;
}

}  // namespace meridian::sources::internal
