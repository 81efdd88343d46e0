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

std::string Describe(const DocNode& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsScalar()) return n.IsPlain() ? Quote(n.Scalar()) : "the string " + Quote(n.Scalar());
  return "nothing";
}

bool ExpectMap(const DocNode& n, const std::string& path, ObjectErrors& e) {
  if (n.IsMap()) return true;
  e.Add(path, fmt::format("expected a map, got {}", Describe(n)));
  return false;
}

std::optional<DocNode> RequiredMap(const DocNode& map, const std::string& base,
                                   std::string_view key, ObjectErrors& e) {
  const std::string path = Join(base, key);
  auto n = Get(map, key);
  if (!n) {
    e.Add(path, "required");
    return std::nullopt;
  }
  if (!ExpectMap(*n, path, e)) return std::nullopt;
  return n;
}

bool ExpectList(const DocNode& n, const std::string& path, ObjectErrors& e) {
  if (n.IsSequence()) return true;
  e.Add(path, fmt::format("expected a list, got {}", Describe(n)));
  return false;
}

std::optional<std::string> AsString(const DocNode& n, const std::string& path, ObjectErrors& e) {
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

std::optional<std::int64_t> AsInt(const DocNode& n, const std::string& path, ObjectErrors& e) {
  if (n.IsScalar() && n.IsPlain()) {
    if (auto v = ParseInteger(n.Scalar())) return v;
  }
  e.Add(path, fmt::format("expected an integer, got {}", Describe(n)));
  return std::nullopt;
}

std::optional<std::uint16_t> AsPort(const DocNode& n, const std::string& path, ObjectErrors& e) {
  auto v = AsInt(n, path, e);
  if (!v) return std::nullopt;
  if (*v < 1 || *v > 65535) {
    e.Add(path, fmt::format("{} is out of range 1-65535", n.Scalar()));
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*v);
}

std::optional<bool> AsBool(const DocNode& n, const std::string& path, ObjectErrors& e) {
  if (n.IsScalar() && n.IsPlain()) {
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

std::optional<model::Ipv4Address> AsIpv4SkippingIpv6(const std::string& text,
                                                     const std::string& path, ObjectErrors& e) {
  if (auto ip = model::Ipv4Address::Parse(text)) return ip;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) {
    e.Add(path, fmt::format("{} is not an IP address", Quote(text)));
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

std::optional<std::string> StringField(const DocNode& map, const std::string& base,
                                       std::string_view key, ObjectErrors& e) {
  auto n = Get(map, key);
  if (!n) return std::nullopt;
  return AsString(*n, Join(base, key), e);
}

std::optional<std::string> RequiredString(const DocNode& map, const std::string& base,
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

std::map<std::string, std::string> StringMap(const DocNode& parent, const std::string& base,
                                             std::string_view key, ObjectErrors& e) {
  std::map<std::string, std::string> out;
  auto n = Get(parent, key);
  const std::string path = Join(base, key);
  if (!n || !ExpectMap(*n, path, e)) return out;
  for (const auto& [key, value] : n->Entries()) {
    if (!key.IsScalar()) {
      e.Add(path, fmt::format("expected string keys, got {}", Describe(key)));
      continue;
    }
    const std::string k = key.Scalar();
    if (value.IsNull()) {
      out[k] = "";  // null decodes to "" in Kubernetes' JSON
    } else if (auto v = AsString(value, KeyAt(path, k), e)) {
      out[k] = *v;
    }
  }
  return out;
}

std::optional<model::Protocol> ProtocolField(const DocNode& map, const std::string& base,
                                             ObjectErrors& e) {
  auto n = Get(map, "protocol");
  if (!n) return model::Protocol::kTcp;
  auto s = AsString(*n, Join(base, "protocol"), e);
  if (!s) return std::nullopt;
  if (auto p = model::ParseProtocol(*s)) return p;
  e.Add(Join(base, "protocol"),
        fmt::format("unsupported protocol {}; accepted: TCP, UDP, SCTP", Quote(*s)));
  return std::nullopt;
}

}  // namespace meridian::sources::internal
