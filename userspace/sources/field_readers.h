// Typed access to loaded manifest nodes (YAML or JSON), for the kind
// decoders. Internal to userspace/sources/.
//
// Each reader reports a problem on its field (a path such as
// "spec.ports[1].port") and returns nullopt, so one bad field never hides
// the others.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/cidr.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/protocol.h"
#include "sources/doc_node.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources::internal {

// Errors of one object. Its name is stamped on all of them at the end,
// because metadata may be read after the first error is found.
class ObjectErrors {
 public:
  void Add(std::string field, std::string message) {
    items_.emplace_back(std::move(field), std::move(message));
  }
  bool empty() const { return items_.empty(); }
  void set_object(std::string object) { object_ = std::move(object); }

  void MoveTo(const model::SourceRef& src, std::vector<DecodeError>& out);

 private:
  std::vector<std::pair<std::string, std::string>> items_;
  std::string object_;
};

// "a map", "a list", `"80"` (plain scalar), `the string "80"` (quoted).
std::string Describe(const DocNode& n);

// map.Get(key): the value, or nullopt when missing or null.
inline std::optional<DocNode> Get(const DocNode& map, std::string_view key) { return map.Get(key); }

bool ExpectMap(const DocNode& n, const std::string& path, ObjectErrors& e);

// map.<key>, which must be present and a map (a kind's spec); nullopt after
// the error ("required", or what it is instead).
std::optional<DocNode> RequiredMap(const DocNode& map, const std::string& base,
                                   std::string_view key, ObjectErrors& e);
bool ExpectList(const DocNode& n, const std::string& path, ObjectErrors& e);

std::optional<std::string> AsString(const DocNode& n, const std::string& path, ObjectErrors& e);

// A YAML 1.2 core-schema integer: optional sign and decimal digits. Values
// beyond int64 saturate; callers range-check and print the original text.
std::optional<std::int64_t> ParseInteger(const std::string& s);

// An unquoted integer.
std::optional<std::int64_t> AsInt(const DocNode& n, const std::string& path, ObjectErrors& e);

// An unquoted integer in 1-65535.
std::optional<std::uint16_t> AsPort(const DocNode& n, const std::string& path, ObjectErrors& e);

// Unquoted true or false (also True, TRUE, False, FALSE).
std::optional<bool> AsBool(const DocNode& n, const std::string& path, ObjectErrors& e);

// Dotted-quad text; IPv6 gets its own message.
std::optional<model::Ipv4Address> AsIpv4(const std::string& text, const std::string& path,
                                         ObjectErrors& e);

// An address in a field a dual-stack cluster fills with either family
// (spec.externalIPs, status.loadBalancer.ingress[].ip): the IPv4 address;
// nullopt, without an error, for an IPv6 one (this datapath is IPv4: left
// out, as IPv6 EndpointSlices are), and after an error for anything else.
std::optional<model::Ipv4Address> AsIpv4SkippingIpv6(const std::string& text,
                                                     const std::string& path, ObjectErrors& e);

// "10.1.0.0/16": an IPv4 prefix whose host bits are zero.
std::optional<model::Cidr> AsCidr(const std::string& text, const std::string& path,
                                  ObjectErrors& e);

// Optional string field: nullopt when absent or of the wrong type.
std::optional<std::string> StringField(const DocNode& map, const std::string& base,
                                       std::string_view key, ObjectErrors& e);

// Required string field: an empty string counts as missing, as in Kubernetes.
std::optional<std::string> RequiredString(const DocNode& map, const std::string& base,
                                          std::string_view key, ObjectErrors& e);

// A map of strings (labels, annotations); a null value reads as "".
std::map<std::string, std::string> StringMap(const DocNode& parent, const std::string& base,
                                             std::string_view key, ObjectErrors& e);

// spec.ports[].protocol and ports[].protocol: TCP when absent; nullopt after
// an error.
std::optional<model::Protocol> ProtocolField(const DocNode& map, const std::string& base,
                                             ObjectErrors& e);

}  // namespace meridian::sources::internal
