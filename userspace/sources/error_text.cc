#include "sources/error_text.h"

#include <fmt/format.h>

#include "common/utf8.h"

namespace meridian::sources::internal {

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
  // Bytes that are not UTF-8 come out as \xNN, after the escapes above,
  // which are ASCII and so never split a character (the cut at kMax may:
  // its bytes are then escaped too).
  return EscapeInvalidUtf8(out) + "\"";
}

std::string Join(const std::string& base, std::string_view name) {
  return base.empty() ? std::string(name) : fmt::format("{}.{}", base, name);
}

std::string At(const std::string& base, std::size_t i) { return fmt::format("{}[{}]", base, i); }

std::string KeyAt(const std::string& base, std::string_view key) {
  return fmt::format("{}[\"{}\"]", base, EscapeInvalidUtf8(key));
}

std::string ObjectName(std::string_view kind, const model::ObjectKey& key) {
  if (key.ns.empty()) return EscapeInvalidUtf8(fmt::format("{} {}", kind, key.name));
  return EscapeInvalidUtf8(fmt::format("{} {}", kind, key.ToString()));
}

}  // namespace meridian::sources::internal
