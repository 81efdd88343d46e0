#include "sources/field_readers.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "sources/error_text.h"

namespace meridian::sources::internal {

void ObjectErrors::MoveTo(const model::SourceRef& src, std::vector<DecodeError>& out) {
  for (auto& [field, message] : items_) {
    out.push_back({src.file, src.document, object_, std::move(field), std::move(message)});
  }
  items_.clear();
}

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

// Iterates instead of using operator[], which throws on scalars and would
// insert into non-const nodes.
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

std::optional<model::Cidr> AsCidr(const std::string& text, const std::string& path,
                                  ObjectErrors& e) {
  if (auto cidr = model::Cidr::Parse(text)) return cidr;
  const std::size_t slash = text.find('/');
  const std::string address = text.substr(0, slash);
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    e.Add(path, fmt::format("{}: IPv6 is not supported yet", Quote(text)));
    return std::nullopt;
  }
  // A well-formed address and length that Cidr::Parse still refused: the
  // address has bits set beyond the prefix ("10.1.0.1/16").
  const std::string len = slash == std::string::npos ? "" : text.substr(slash + 1);
  const bool len_ok =
      !len.empty() && len.size() <= 2 &&
      std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      std::stoi(len) <= 32;
  if (model::Ipv4Address::Parse(address) && len_ok) {
    e.Add(path, fmt::format("{} is not a CIDR (host bits must be zero)", Quote(text)));
  } else {
    e.Add(path, fmt::format("{} is not an IPv4 CIDR (expected address/prefix length, e.g. "
                            "10.1.0.0/16)",
                            Quote(text)));
  }
  return std::nullopt;
}

std::optional<std::string> StringField(const YAML::Node& map, const std::string& base,
                                       std::string_view key, ObjectErrors& e) {
  auto n = Get(map, key);
  if (!n) return std::nullopt;
  return AsString(*n, Join(base, key), e);
}

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

std::optional<model::Protocol> ProtocolField(const YAML::Node& map, const std::string& base,
                                             ObjectErrors& e) {
  auto n = Get(map, "protocol");
  if (!n) return model::Protocol::kTcp;
  auto s = AsString(*n, Join(base, "protocol"), e);
  if (!s) return std::nullopt;
  if (auto p = model::ParseProtocol(*s)) return p;
  e.Add(Join(base, "protocol"),
        fmt::format("unsupported protocol {}; accepted: TCP, UDP", Quote(*s)));
  return std::nullopt;
}

}  // namespace meridian::sources::internal
