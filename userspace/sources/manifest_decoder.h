// Decodes Kubernetes-shaped YAML (or JSON) text into model objects.
//
// The decoder works on text only, so the manifest directory and a future
// Kubernetes watch (which delivers JSON) share one validation path. It never
// throws: every problem becomes a DecodeError that names the file, document,
// object and field, so an operator can fix the manifest from the log line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/snapshot.h"

namespace meridian::sources {

struct DecodeError {
  std::string file;
  // 0-based index of the YAML document, like model::SourceRef::document;
  // negative when the error is not about one document (e.g. unreadable file).
  int document = -1;
  std::string object;  // "Service default/web", or "" when not known
  std::string field;   // "spec.ports[1].port", or "" for the whole document
  std::string message;

  // "<file>: document <n>: <object>: <field>: <message>", empty parts
  // omitted. <n> is 1-based here because people count documents from one,
  // the same way the "line L, column C" of a YAML syntax error is 1-based.
  std::string ToString() const;

  bool operator==(const DecodeError&) const = default;
};

struct DecodeResult {
  model::ResourceSnapshot objects;  // every object that decoded without error
  std::vector<DecodeError> errors;  // in document order
};

// Decodes every document of `text` (documents separated by `---`); `file` is
// recorded in each object's SourceRef and in errors. Accepted kinds are
// v1/Service, discovery.k8s.io/v1/EndpointSlice,
// multicluster.x-k8s.io/v1alpha1/ServiceExport, meridian.io/v1alpha1/Cluster
// and v1/List of those. Each object is checked on its own; conflicts between
// objects (duplicate names, a cluster id used twice, ...) are the caller's.
// An object with errors is left out, the other objects are still returned:
// whether to use them is the caller's decision. Malformed YAML yields one
// error with its line and column and no objects at all.
DecodeResult DecodeManifests(std::string_view text, const std::string& file);

}  // namespace meridian::sources
