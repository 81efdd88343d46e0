#include "sources/manifest_decoder.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

namespace meridian::sources {

std::string DecodeError::ToString() const {
  std::string out;
  auto append = [&out](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ": ";
    out += part;
  };
  append(file);
  if (document >= 0) append(fmt::format("document {}", document + 1));
  append(object);
  append(field);
  append(message);
  return out;
}

namespace {

using model::Protocol;

// ---------------------------------------------------------------------------
// Text helpers.

// Quotes a value for an error message. Long values are cut: the message must
// stay one readable log line even if someone pasted a certificate into a port.
std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

std::string Join(const std::string& base, std::string_view name) {
  return base.empty() ? std::string(name) : fmt::format("{}.{}", base, name);
}
std::string At(const std::string& base, std::size_t i) { return fmt::format("{}[{}]", base, i); }
std::string KeyAt(const std::string& base, std::string_view key) {
  return fmt::format("{}[\"{}\"]", base, key);
}

// ---------------------------------------------------------------------------
// Kubernetes name rules (k8s.io/apimachinery/pkg/util/validation).

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsLabelChars(std::string_view s) {
  return !s.empty() && IsLowerAlnum(s.front()) && IsLowerAlnum(s.back()) &&
         std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

// RFC 1123 label: namespaces and port names.
bool IsDns1123Label(std::string_view s) { return s.size() <= 63 && IsLabelChars(s); }

// RFC 1035 label: Service names, which become DNS names and so must start
// with a letter.
bool IsDns1035Label(std::string_view s) {
  return IsDns1123Label(s) && s.front() >= 'a' && s.front() <= 'z';
}

// RFC 1123 subdomain: EndpointSlice names (generated ones contain dots only
// rarely, but Kubernetes allows them).
bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    if (!IsLabelChars(s.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// IANA_SVC_NAME (RFC 6335): the named form of targetPort.
bool IsIanaSvcName(std::string_view s) {
  return s.size() <= 15 && IsLabelChars(s) && s.find("--") == std::string_view::npos &&
         std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

constexpr const char* kDns1035Rule =
    "is not a valid DNS-1035 label (at most 63 lowercase letters, digits and '-', starting "
    "with a letter and ending with a letter or digit)";
constexpr const char* kDns1123LabelRule =
    "is not a valid DNS label (at most 63 lowercase letters, digits and '-', starting and "
    "ending with a letter or digit)";
constexpr const char* kDns1123SubdomainRule =
    "is not a valid DNS subdomain (at most 253 lowercase letters, digits, '-' and '.', each "
    "dot-separated part starting and ending with a letter or digit)";
constexpr const char* kIanaSvcNameRule =
    "is not a valid port name (at most 15 lowercase letters, digits and '-', with at least "
    "one letter, no leading, trailing or doubled '-')";

// ---------------------------------------------------------------------------
// Strict syntax pass.
//
// yaml-cpp 0.7 accepts input that the YAML spec (and kubectl) rejects, and it
// is what a file cut off mid-write looks like: a trailing "key" with no ':'
// becomes a key with a null value, and an unterminated quoted scalar runs to
// the end of the text. It also keeps duplicate keys, where one silently
// wins. This event handler runs over the text before it is loaded and reports
// those as syntax errors. It also counts documents, so a syntax error can
// name its document, and bounds how far aliases expand ("billion laughs"),
// so that decoding stays linear in the size of the text.

struct SyntaxProblem {
  YAML::Mark mark;
  std::string message;
};

class StrictSyntaxCheck final : public YAML::EventHandler {
 public:
  // Legitimate manifests stay far below this even at the 4 MiB file limit.
  static constexpr std::uint64_t kMaxExpandedNodes = 4u << 20;

  explicit StrictSyntaxCheck(std::string_view text) : text_(text) {}

  int completed_documents() const { return documents_; }
  const std::optional<SyntaxProblem>& problem() const { return problem_; }

  void OnDocumentStart(const YAML::Mark&) override {
    stack_.clear();
    anchor_sizes_.clear();
  }
  void OnDocumentEnd() override {
    if (!problem_) ++documents_;
  }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Child({mark, 1, anchor, ChildKind::kNull, nullptr, false});
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchor_sizes_.find(anchor);
    Child({mark, it == anchor_sizes_.end() ? 1 : it->second, 0, ChildKind::kOther, nullptr, false});
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckQuoteTerminated(mark);
    Child({mark, 1, anchor, ChildKind::kScalar, &value, tag == "?"});
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    stack_.emplace_back(mark, anchor, /*map=*/false, /*block_style=*/false);
  }
  void OnSequenceEnd() override { EndCollection(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    stack_.emplace_back(mark, anchor, /*map=*/true, style != YAML::EmitterStyle::Flow);
  }
  void OnMapEnd() override { EndCollection(); }

 private:
  enum class ChildKind { kNull, kScalar, kOther };
  struct ChildNode {
    YAML::Mark mark;
    std::uint64_t size;  // nodes it expands to, aliases included
    YAML::anchor_t anchor;
    ChildKind kind;
    const std::string* value;  // kScalar only
    bool plain;                // untagged, unquoted scalar
  };
  struct Frame {
    Frame(const YAML::Mark& m, YAML::anchor_t a, bool map, bool block_style)
        : mark(m), anchor(a), is_map(map), block(block_style) {}

    YAML::Mark mark;
    YAML::anchor_t anchor;
    bool is_map;
    bool block;
    std::uint64_t size = 1;
    bool expect_key = true;
    std::set<std::string> keys;
    bool key_is_plain_scalar = false;
    std::string key;
    YAML::Mark key_mark;
  };

  void Fail(const YAML::Mark& mark, std::string message) {
    if (!problem_) problem_ = SyntaxProblem{mark, std::move(message)};
  }

  void EndCollection() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    Child({f.mark, f.size, f.anchor, ChildKind::kOther, nullptr, false});
  }

  void Child(const ChildNode& c) {
    if (c.anchor != 0) anchor_sizes_[c.anchor] = c.size;
    std::uint64_t& size = stack_.empty() ? expanded_ : stack_.back().size;
    size = std::min(size + c.size, kMaxExpandedNodes + 1);
    if (size > kMaxExpandedNodes) {
      Fail(c.mark, fmt::format("aliases expand to more than {} nodes", kMaxExpandedNodes));
    }
    if (stack_.empty() || !stack_.back().is_map) return;
    Frame& map = stack_.back();
    if (map.expect_key) {
      map.expect_key = false;
      map.key_is_plain_scalar = c.kind == ChildKind::kScalar && c.plain;
      if (c.kind == ChildKind::kScalar) {
        if (!map.keys.insert(*c.value).second) {
          Fail(c.mark, fmt::format("duplicate key {}", Quote(*c.value)));
        }
        map.key = *c.value;
        map.key_mark = c.mark;
      }
      return;
    }
    map.expect_key = true;
    if (c.kind == ChildKind::kNull && map.block && map.key_is_plain_scalar &&
        !ColonFollows(map.key_mark, map.key)) {
      Fail(map.key_mark, "could not find expected ':'");
    }
  }

  // True when the plain key at `mark` is followed by ':' in the text, or
  // when that cannot be told (then trust the parser).
  bool ColonFollows(const YAML::Mark& mark, const std::string& key) const {
    if (mark.pos < 0) return true;
    auto pos = static_cast<std::size_t>(mark.pos);
    if (text_.substr(pos, key.size()) != key) return true;
    // An explicit "? key" entry may legitimately have no value.
    std::size_t before = text_.find_last_not_of(" \t", pos == 0 ? 0 : pos - 1);
    if (pos > 0 && before != std::string_view::npos && text_[before] == '?') return true;
    std::size_t after = text_.find_first_not_of(" \t", pos + key.size());
    return after != std::string_view::npos && text_[after] == ':';
  }

  void CheckQuoteTerminated(const YAML::Mark& mark) {
    if (mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= text_.size()) return;
    auto pos = static_cast<std::size_t>(mark.pos);
    const char quote = text_[pos];
    if (quote != '"' && quote != '\'') return;
    for (std::size_t i = pos + 1; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;  // an escaped character, possibly a quote
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;  // '' is an escaped quote inside single quotes
        } else {
          return;
        }
      }
    }
    Fail(mark, "unterminated quoted string (is the file truncated?)");
  }

  std::string_view text_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::uint64_t> anchor_sizes_;
  std::uint64_t expanded_ = 0;
  int documents_ = 0;
  std::optional<SyntaxProblem> problem_;
};

std::string SyntaxMessage(const YAML::Mark& mark, const std::string& what) {
  return fmt::format("invalid YAML at line {}, column {}: {}", mark.line + 1, mark.column + 1,
                     what);
}

// Runs the strict pass; on any syntax problem returns the one error for the
// whole text.
std::optional<DecodeError> CheckSyntax(std::string_view text, const std::string& file) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  StrictSyntaxCheck check(text);
  try {
    while (!check.problem() && parser.HandleNextDocument(check)) {
    }
  } catch (const YAML::ParserException& e) {
    return DecodeError{file, check.completed_documents(), "", "", SyntaxMessage(e.mark, e.msg)};
  }
  if (const auto& p = check.problem()) {
    return DecodeError{file, check.completed_documents(), "", "",
                       SyntaxMessage(p->mark, p->message)};
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Typed access to loaded nodes. Each reader reports a type mismatch on its
// field and returns nullopt, so one bad field never hides the others.

// Errors of one object. Its name is stamped on all of them at the end,
// because metadata may be read after the first error is found.
class ObjectErrors {
 public:
  void Add(std::string field, std::string message) {
    items_.emplace_back(std::move(field), std::move(message));
  }
  bool empty() const { return items_.empty(); }
  void set_object(std::string object) { object_ = std::move(object); }

  void MoveTo(const model::SourceRef& src, std::vector<DecodeError>& out) {
    for (auto& [field, message] : items_) {
      out.push_back({src.file, src.document, object_, std::move(field), std::move(message)});
    }
    items_.clear();
  }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
  std::string object_;
};

// A quoted scalar is a string even when it looks like a number, as for
// Kubernetes: `port: "80"` is rejected by the API server too.
bool IsPlain(const YAML::Node& n) { return n.Tag() == "?"; }

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return IsPlain(n) ? Quote(n.Scalar()) : "the string " + Quote(n.Scalar());
    default:
      return "nothing";
  }
}

// The value of `key`, or nullopt when missing or null: Kubernetes treats an
// explicit null like an absent field. Iterates instead of using operator[],
// which throws on scalars and would insert into non-const nodes.
std::optional<YAML::Node> Get(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      if (kv.second.IsNull()) return std::nullopt;
      return kv.second;
    }
  }
  return std::nullopt;
}

bool ExpectMap(const YAML::Node& n, const std::string& path, ObjectErrors& e) {
  if (n.IsMap()) return true;
  e.Add(path, fmt::format("expected a map, got {}", Describe(n)));
  return false;
}

bool ExpectList(const YAML::Node& n, const std::string& path, ObjectErrors& e) {
  if (n.IsSequence()) return true;
  e.Add(path, fmt::format("expected a list, got {}", Describe(n)));
  return false;
}

std::optional<std::string> AsString(const YAML::Node& n, const std::string& path, ObjectErrors& e) {
  if (n.IsScalar()) return n.Scalar();
  e.Add(path, fmt::format("expected a string, got {}", Describe(n)));
  return std::nullopt;
}

// A YAML 1.2 core-schema integer: optional sign and decimal digits. Values
// beyond int64 saturate; callers range-check and print the original text.
std::optional<std::int64_t> ParseInteger(const std::string& s) {
  std::string_view digits = s;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec == std::errc::result_out_of_range) v = INT64_MAX;
  return s.front() == '-' ? -v : v;
}

std::optional<std::int64_t> AsInt(const YAML::Node& n, const std::string& path, ObjectErrors& e) {
  if (n.IsScalar() && IsPlain(n)) {
    if (auto v = ParseInteger(n.Scalar())) return v;
  }
  e.Add(path, fmt::format("expected an integer, got {}", Describe(n)));
  return std::nullopt;
}

std::optional<std::uint16_t> AsPort(const YAML::Node& n, const std::string& path, ObjectErrors& e) {
  auto v = AsInt(n, path, e);
  if (!v) return std::nullopt;
  if (*v < 1 || *v > 65535) {
    e.Add(path, fmt::format("{} is out of range 1-65535", n.Scalar()));
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

std::optional<bool> AsBool(const YAML::Node& n, const std::string& path, ObjectErrors& e) {
  if (n.IsScalar() && IsPlain(n)) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  e.Add(path, fmt::format("expected true or false, got {}", Describe(n)));
  return std::nullopt;
}

std::optional<model::Ipv4Address> AsIpv4(const std::string& text, const std::string& path,
                                         ObjectErrors& e) {
  if (auto ip = model::Ipv4Address::Parse(text)) return ip;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    e.Add(path, fmt::format("{}: IPv6 is not supported yet", Quote(text)));
  } else {
    e.Add(path, fmt::format("{} is not an IPv4 address", Quote(text)));
  }
  return std::nullopt;
}

// Optional string field: nullopt when absent or of the wrong type.
std::optional<std::string> StringField(const YAML::Node& map, const std::string& base,
                                       std::string_view key, ObjectErrors& e) {
  auto n = Get(map, key);
  if (!n) return std::nullopt;
  return AsString(*n, Join(base, key), e);
}

// Required string field: an empty string counts as missing, as in Kubernetes.
std::optional<std::string> RequiredString(const YAML::Node& map, const std::string& base,
                                          std::string_view key, ObjectErrors& e) {
  auto n = Get(map, key);
  if (n) {
    auto s = AsString(*n, Join(base, key), e);
    if (!s) return std::nullopt;
    if (!s->empty()) return s;
  }
  e.Add(Join(base, key), "required");
  return std::nullopt;
}

std::map<std::string, std::string> StringMap(const YAML::Node& parent, const std::string& base,
                                             std::string_view key, ObjectErrors& e) {
  std::map<std::string, std::string> out;
  auto n = Get(parent, key);
  const std::string path = Join(base, key);
  if (!n || !ExpectMap(*n, path, e)) return out;
  for (const auto& kv : *n) {
    if (!kv.first.IsScalar()) {
      e.Add(path, fmt::format("expected string keys, got {}", Describe(kv.first)));
      continue;
    }
    const std::string& k = kv.first.Scalar();
    if (kv.second.IsNull()) {
      out[k] = "";  // null decodes to "" in Kubernetes' JSON
    } else if (auto v = AsString(kv.second, KeyAt(path, k), e)) {
      out[k] = *v;
    }
  }
  return out;
}

// spec.ports[].protocol and ports[].protocol; nullopt after an error.
std::optional<Protocol> ProtocolField(const YAML::Node& map, const std::string& base,
                                      ObjectErrors& e) {
  auto n = Get(map, "protocol");
  if (!n) return Protocol::kTcp;
  auto s = AsString(*n, Join(base, "protocol"), e);
  if (!s) return std::nullopt;
  if (auto p = model::ParseProtocol(*s)) return p;
  e.Add(Join(base, "protocol"),
        fmt::format("unsupported protocol {}; accepted: TCP, UDP", Quote(*s)));
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Objects.

enum class NameRule { kDns1035Label, kDns1123Subdomain };

model::ObjectMeta DecodeMeta(const YAML::Node& obj, const std::string& base, std::string_view kind,
                             NameRule rule, const model::SourceRef& src, ObjectErrors& e) {
  model::ObjectMeta meta;
  meta.source = src;
  const std::string path = Join(base, "metadata");
  auto m = Get(obj, "metadata");
  if (!m) {
    e.Add(Join(path, "name"), "required");
    return meta;
  }
  if (!ExpectMap(*m, path, e)) return meta;

  auto name = RequiredString(*m, path, "name", e);
  meta.key.ns = StringField(*m, path, "namespace", e).value_or("");
  if (meta.key.ns.empty()) {
    meta.key.ns = "default";
  } else if (!IsDns1123Label(meta.key.ns)) {
    e.Add(Join(path, "namespace"), fmt::format("{} {}", Quote(meta.key.ns), kDns1123LabelRule));
  }
  if (name) {
    meta.key.name = *name;
    e.set_object(fmt::format("{} {}", kind, meta.key.ToString()));
    const bool ok =
        rule == NameRule::kDns1035Label ? IsDns1035Label(*name) : IsDns1123Subdomain(*name);
    if (!ok) {
      e.Add(Join(path, "name"),
            fmt::format("{} {}", Quote(*name),
                        rule == NameRule::kDns1035Label ? kDns1035Rule : kDns1123SubdomainRule));
    }
  }
  meta.labels = StringMap(*m, path, "labels", e);
  meta.annotations = StringMap(*m, path, "annotations", e);
  meta.creation_timestamp = StringField(*m, path, "creationTimestamp", e).value_or("");
  return meta;
}

model::ServiceType DecodeServiceType(const YAML::Node& spec, const std::string& base,
                                     ObjectErrors& e) {
  auto t = StringField(spec, base, "type", e);
  if (!t || t->empty() || *t == "ClusterIP") return model::ServiceType::kClusterIP;
  if (*t == "NodePort") return model::ServiceType::kNodePort;
  if (*t == "LoadBalancer") return model::ServiceType::kLoadBalancer;
  if (*t == "ExternalName") return model::ServiceType::kExternalName;
  e.Add(Join(base, "type"),
        fmt::format("unsupported type {}; accepted: ClusterIP, NodePort, LoadBalancer, "
                    "ExternalName",
                    Quote(*t)));
  return model::ServiceType::kClusterIP;
}

// spec.clusterIPs is what dual-stack clusters write; its first element must
// agree with spec.clusterIP. Later elements (an IPv6 family) are ignored.
void CheckClusterIps(const YAML::Node& spec, const std::string& base, const std::string& ip,
                     ObjectErrors& e) {
  auto n = Get(spec, "clusterIPs");
  const std::string path = Join(base, "clusterIPs");
  if (!n || !ExpectList(*n, path, e)) return;
  if (n->size() == 0) {
    e.Add(path, fmt::format("must start with {} {}", Join(base, "clusterIP"), Quote(ip)));
    return;
  }
  auto first = AsString(*n->begin(), At(path, 0), e);
  if (first && *first != ip) {
    e.Add(At(path, 0), fmt::format("{} does not match {} {}", Quote(*first),
                                   Join(base, "clusterIP"), Quote(ip)));
  }
}

// nullopt for headless and ExternalName Services, and after an error.
std::optional<model::Ipv4Address> DecodeClusterIp(const YAML::Node& spec, const std::string& base,
                                                  model::ServiceType type, ObjectErrors& e) {
  const std::string path = Join(base, "clusterIP");
  std::string ip;
  if (auto n = Get(spec, "clusterIP")) {
    auto s = AsString(*n, path, e);
    if (!s) return std::nullopt;
    ip = *s;
  }
  if (type == model::ServiceType::kExternalName) {
    if (!ip.empty() && ip != "None") {
      e.Add(path, fmt::format("{}: must be empty or \"None\" for type ExternalName", Quote(ip)));
    }
    return std::nullopt;
  }
  if (ip.empty()) {
    e.Add(path, "required (the agent does not allocate ClusterIPs)");
    return std::nullopt;
  }
  CheckClusterIps(spec, base, ip, e);
  if (ip == "None") return std::nullopt;
  return AsIpv4(ip, path, e);
}

// targetPort: a number, or a name resolved through the EndpointSlice ports.
void DecodeTargetPort(const YAML::Node& port, const std::string& base, model::ServicePort& out,
                      ObjectErrors& e) {
  auto n = Get(port, "targetPort");
  if (!n) return;
  const std::string path = Join(base, "targetPort");
  if (!n->IsScalar()) {
    e.Add(path, fmt::format("expected an integer or a port name, got {}", Describe(*n)));
  } else if (IsPlain(*n) && ParseInteger(n->Scalar())) {
    out.target_port_number = AsPort(*n, path, e);
  } else if (IsIanaSvcName(n->Scalar())) {
    out.target_port_name = n->Scalar();
  } else {
    e.Add(path, fmt::format("{} {}", Quote(n->Scalar()), kIanaSvcNameRule));
  }
}

std::vector<model::ServicePort> DecodeServicePorts(const YAML::Node& spec, const std::string& base,
                                                   bool required, ObjectErrors& e) {
  std::vector<model::ServicePort> out;
  const std::string path = Join(base, "ports");
  auto n = Get(spec, "ports");
  if (n && !ExpectList(*n, path, e)) return out;
  if (!n || n->size() == 0) {
    if (required) e.Add(path, "required (a Service with a ClusterIP needs at least one port)");
    return out;
  }
  const std::size_t count = n->size();
  std::map<std::string, std::size_t> names;
  std::map<std::pair<std::uint16_t, Protocol>, std::size_t> frontends;
  std::size_t i = 0;
  for (auto it = n->begin(); it != n->end(); ++it, ++i) {
    const std::string ppath = At(path, i);
    if (!ExpectMap(*it, ppath, e)) continue;
    model::ServicePort sp;

    sp.name = StringField(*it, ppath, "name", e).value_or("");
    const std::string npath = Join(ppath, "name");
    if (sp.name.empty()) {
      if (count > 1) e.Add(npath, "required when the Service has more than one port");
    } else if (!IsDns1123Label(sp.name)) {
      e.Add(npath, fmt::format("{} {}", Quote(sp.name), kDns1123LabelRule));
    } else if (auto [prev, fresh] = names.emplace(sp.name, i); !fresh) {
      e.Add(npath, fmt::format("{} is already used by {}", Quote(sp.name), At(path, prev->second)));
    }

    auto protocol = ProtocolField(*it, ppath, e);
    std::optional<std::uint16_t> port;
    if (auto p = Get(*it, "port")) {
      port = AsPort(*p, Join(ppath, "port"), e);
    } else {
      e.Add(Join(ppath, "port"), "required");
    }
    DecodeTargetPort(*it, ppath, sp, e);

    if (port && protocol) {
      sp.port = *port;
      sp.protocol = *protocol;
      if (auto [prev, fresh] = frontends.emplace(std::pair(*port, *protocol), i); !fresh) {
        e.Add(ppath, fmt::format("{}/{} is already used by {}", *port, model::ToString(*protocol),
                                 At(path, prev->second)));
      }
    }
    out.push_back(std::move(sp));
  }
  return out;
}

std::optional<model::Service> DecodeService(const YAML::Node& obj, const std::string& base,
                                            const model::SourceRef& src, ObjectErrors& e) {
  model::Service svc;
  svc.meta = DecodeMeta(obj, base, "Service", NameRule::kDns1035Label, src, e);
  const std::string path = Join(base, "spec");
  auto spec = Get(obj, "spec");
  if (!spec) {
    e.Add(path, "required");
    return std::nullopt;
  }
  if (!ExpectMap(*spec, path, e)) return std::nullopt;
  svc.type = DecodeServiceType(*spec, path, e);
  svc.cluster_ip = DecodeClusterIp(*spec, path, svc.type, e);
  // Headless and ExternalName Services may have no ports; with a VIP,
  // a Service without ports could never receive traffic.
  svc.ports = DecodeServicePorts(*spec, path, svc.cluster_ip.has_value(), e);
  if (!e.empty()) return std::nullopt;
  return svc;
}

model::Endpoint DecodeEndpoint(const YAML::Node& n, const std::string& path, ObjectErrors& e) {
  model::Endpoint ep;
  const std::string apath = Join(path, "addresses");
  auto addresses = Get(n, "addresses");
  if (addresses && ExpectList(*addresses, apath, e)) {
    std::size_t j = 0;
    for (auto it = addresses->begin(); it != addresses->end(); ++it, ++j) {
      auto s = AsString(*it, At(apath, j), e);
      if (!s) continue;
      if (auto ip = AsIpv4(*s, At(apath, j), e)) ep.addresses.push_back(*ip);
    }
  }
  if (!addresses || (addresses->IsSequence() && addresses->size() == 0)) {
    e.Add(apath, "required (at least one address)");
  }

  const std::string cpath = Join(path, "conditions");
  if (auto c = Get(n, "conditions"); c && ExpectMap(*c, cpath, e)) {
    auto flag = [&](std::string_view key, bool& out) {
      if (auto v = Get(*c, key)) {
        if (auto b = AsBool(*v, Join(cpath, key), e)) out = *b;
      }
    };
    flag("ready", ep.conditions.ready);
    flag("serving", ep.conditions.serving);
    flag("terminating", ep.conditions.terminating);
  }
  ep.hostname = StringField(n, path, "hostname", e).value_or("");
  ep.node_name = StringField(n, path, "nodeName", e).value_or("");
  ep.zone = StringField(n, path, "zone", e).value_or("");
  return ep;
}

std::vector<model::EndpointPort> DecodeEndpointPorts(const YAML::Node& obj, const std::string& base,
                                                     ObjectErrors& e) {
  std::vector<model::EndpointPort> out;
  const std::string path = Join(base, "ports");
  auto n = Get(obj, "ports");
  if (!n || !ExpectList(*n, path, e)) return out;
  std::map<std::string, std::size_t> names;  // unique, the empty name included
  std::size_t i = 0;
  for (auto it = n->begin(); it != n->end(); ++it, ++i) {
    const std::string ppath = At(path, i);
    if (!ExpectMap(*it, ppath, e)) continue;
    model::EndpointPort ep;
    ep.name = StringField(*it, ppath, "name", e).value_or("");
    const std::string npath = Join(ppath, "name");
    if (!ep.name.empty() && !IsDns1123Label(ep.name)) {
      e.Add(npath, fmt::format("{} {}", Quote(ep.name), kDns1123LabelRule));
    } else if (auto [prev, fresh] = names.emplace(ep.name, i); !fresh) {
      e.Add(npath, fmt::format("{} is already used by {}", Quote(ep.name), At(path, prev->second)));
    }
    ep.protocol = ProtocolField(*it, ppath, e).value_or(Protocol::kTcp);
    if (auto p = Get(*it, "port")) {
      ep.port = AsPort(*p, Join(ppath, "port"), e).value_or(0);
    } else {
      e.Add(Join(ppath, "port"), "required");
    }
    out.push_back(std::move(ep));
  }
  return out;
}

std::optional<model::EndpointSlice> DecodeEndpointSlice(const YAML::Node& obj,
                                                        const std::string& base,
                                                        const model::SourceRef& src,
                                                        ObjectErrors& e) {
  model::EndpointSlice slice;
  slice.meta = DecodeMeta(obj, base, "EndpointSlice", NameRule::kDns1123Subdomain, src, e);

  const std::string lpath = KeyAt(Join(Join(base, "metadata"), "labels"), model::kServiceNameLabel);
  auto label = slice.meta.labels.find(model::kServiceNameLabel);
  if (label == slice.meta.labels.end() || label->second.empty()) {
    e.Add(lpath, "required (it names the Service this slice belongs to)");
  } else if (!IsDns1035Label(label->second)) {
    e.Add(lpath, fmt::format("{} {}", Quote(label->second), kDns1035Rule));
  } else {
    slice.service_name = label->second;
  }

  if (auto type = RequiredString(obj, base, "addressType", e); type && *type != "IPv4") {
    e.Add(Join(base, "addressType"),
          fmt::format("unsupported addressType {}; accepted: IPv4", Quote(*type)));
  }

  const std::string epath = Join(base, "endpoints");
  if (auto eps = Get(obj, "endpoints"); eps && ExpectList(*eps, epath, e)) {
    std::size_t i = 0;
    for (auto it = eps->begin(); it != eps->end(); ++it, ++i) {
      if (ExpectMap(*it, At(epath, i), e)) {
        slice.endpoints.push_back(DecodeEndpoint(*it, At(epath, i), e));
      }
    }
  }
  slice.ports = DecodeEndpointPorts(obj, base, e);
  if (!e.empty()) return std::nullopt;
  return slice;
}

struct KindInfo {
  std::string_view kind;
  std::string_view api_version;
};
constexpr KindInfo kService{"Service", "v1"};
constexpr KindInfo kEndpointSlice{"EndpointSlice", "discovery.k8s.io/v1"};
constexpr KindInfo kList{"List", "v1"};

// "Deployment default/web" for errors about objects we do not decode, so the
// operator can still find the object. No errors of its own.
std::string BestEffortName(const YAML::Node& obj, const std::string& kind) {
  auto meta = Get(obj, "metadata");
  if (!meta) return "";
  auto name = Get(*meta, "name");
  if (!name || !name->IsScalar()) return "";
  auto ns = Get(*meta, "namespace");
  std::string ns_text = ns && ns->IsScalar() ? ns->Scalar() : "default";
  return fmt::format("{} {}/{}", kind, ns_text, name->Scalar());
}

// Decodes one object (or, at the top of a document, a List of objects).
// `base` is the field path of the object inside its document.
void DecodeObject(const YAML::Node& obj, const std::string& base, const model::SourceRef& src,
                  bool allow_list, DecodeResult& out) {
  ObjectErrors e;
  if (!obj.IsMap()) {
    e.Add(base, fmt::format("expected a Kubernetes object (a map), got {}", Describe(obj)));
    e.MoveTo(src, out.errors);
    return;
  }
  auto kind = RequiredString(obj, base, "kind", e);
  auto api_version = RequiredString(obj, base, "apiVersion", e);
  if (!kind) {
    e.MoveTo(src, out.errors);
    return;
  }
  const KindInfo* info = nullptr;
  for (const KindInfo* k : {&kService, &kEndpointSlice, &kList}) {
    if (*kind == k->kind && (k != &kList || allow_list)) info = k;
  }
  e.set_object(BestEffortName(obj, *kind));
  if (!info) {
    e.Add(Join(base, "kind"),
          fmt::format("unsupported kind {}; accepted: Service, EndpointSlice", Quote(*kind)));
  } else if (api_version && *api_version != info->api_version) {
    e.Add(Join(base, "apiVersion"),
          fmt::format("unsupported apiVersion {} for kind {}; accepted: {}", Quote(*api_version),
                      *kind, info->api_version));
  }
  if (!e.empty()) {
    e.MoveTo(src, out.errors);
    return;
  }

  if (info == &kList) {
    const std::string path = Join(base, "items");
    auto items = Get(obj, "items");
    if (items && ExpectList(*items, path, e)) {
      std::size_t i = 0;
      for (auto it = items->begin(); it != items->end(); ++it, ++i) {
        DecodeObject(*it, At(path, i), src, /*allow_list=*/false, out);
      }
    }
    e.MoveTo(src, out.errors);
  } else if (info == &kService) {
    if (auto svc = DecodeService(obj, base, src, e))
      out.objects.services.push_back(std::move(*svc));
    e.MoveTo(src, out.errors);
  } else {
    if (auto slice = DecodeEndpointSlice(obj, base, src, e)) {
      out.objects.endpoint_slices.push_back(std::move(*slice));
    }
    e.MoveTo(src, out.errors);
  }
}

}  // namespace

DecodeResult DecodeManifests(std::string_view text, const std::string& file) {
  DecodeResult out;
  // yaml-cpp skips a UTF-8 byte order mark without counting it in marks;
  // dropping it here keeps marks equal to offsets in `text`.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  try {
    if (auto syntax = CheckSyntax(text, file)) {
      out.errors.push_back(std::move(*syntax));
      return out;
    }
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    for (std::size_t i = 0; i < documents.size(); ++i) {
      // Documents holding only comments or nothing load as null: skipped.
      if (documents[i].IsNull()) continue;
      DecodeObject(documents[i], "", model::SourceRef{file, static_cast<int>(i)},
                   /*allow_list=*/true, out);
    }
  } catch (const YAML::Exception& e) {
    // Not expected after the syntax pass; reported rather than propagated
    // because exceptions never leave a module.
    out = DecodeResult{};
    out.errors.push_back({file, -1, "", "", SyntaxMessage(e.mark, e.msg)});
  } catch (const std::exception& e) {
    out = DecodeResult{};
    out.errors.push_back({file, -1, "", "", fmt::format("cannot decode: {}", e.what())});
  }
  return out;
}

}  // namespace meridian::sources
