// A read-only view of one node of a loaded manifest, from either parser:
// yaml-cpp for .yaml files, nlohmann::json for .json files (and, later, a
// Kubernetes watch). The decoders read both through this one type, so a
// JSON manifest is never converted into a YAML tree: that conversion was a
// third of a cold sync at 10k services. Internal to userspace/sources/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace meridian::sources::internal {

class DocNode {
 public:
  // YAML::Node is a handle: the view shares the document's nodes.
  explicit DocNode(YAML::Node node) : node_(std::move(node)) {}
  // The JSON value must outlive the view.
  explicit DocNode(const nlohmann::json& value) : node_(&value) {}

  bool IsNull() const;
  bool IsScalar() const;
  bool IsSequence() const;
  bool IsMap() const;

  // A plain scalar may be a number or a boolean; a quoted one is always a
  // string, as for Kubernetes: `port: "80"` is rejected by the API server
  // too. JSON strings are quoted; JSON numbers and booleans are plain.
  bool IsPlain() const;

  // A scalar's text. JSON numbers read as their JSON text and booleans as
  // "true"/"false", exactly as yaml-cpp would load the same document.
  std::string Scalar() const;

  // Elements of a list or entries of a map; 0 otherwise.
  std::size_t size() const;

  // The value of `key` in a map, or nullopt when missing or null:
  // Kubernetes treats an explicit null like an absent field. Never throws.
  std::optional<DocNode> Get(std::string_view key) const;

  // A list's elements in order; empty for anything else.
  std::vector<DocNode> Elements() const;

  // A map's (key, value) pairs in document order (sorted by key for JSON,
  // whose objects keep no order); empty for anything else. YAML keys may be
  // any node, so they are views too.
  std::vector<std::pair<DocNode, DocNode>> Entries() const;

 private:
  // A JSON object key: a quoted scalar with no node of its own.
  struct JsonKey {
    const std::string* text;
  };
  explicit DocNode(JsonKey key) : node_(key) {}

  std::variant<YAML::Node, const nlohmann::json*, JsonKey> node_;
};

}  // namespace meridian::sources::internal
