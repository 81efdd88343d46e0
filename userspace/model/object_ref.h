// Identity and provenance shared by every decoded Kubernetes object.
#pragma once

#include <compare>
#include <map>
#include <string>

namespace meridian::model {

// Namespace and name: the identity of a namespaced object.
struct ObjectKey {
  std::string ns;
  std::string name;

  std::string ToString() const { return ns + "/" + name; }
  auto operator<=>(const ObjectKey&) const = default;
};

// Where an object came from, so that every error can name it.
struct SourceRef {
  std::string file;  // manifest path, registry key, or "k8s"
  int document = 0;  // 0-based index of the YAML document in the file

  bool operator==(const SourceRef&) const = default;
};

struct ObjectMeta {
  ObjectKey key;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string creation_timestamp;  // RFC 3339 as written; may be empty
  SourceRef source;

  bool operator==(const ObjectMeta&) const = default;
};

}  // namespace meridian::model
