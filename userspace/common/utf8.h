// UTF-8 checks for text that came from outside: manifests, file names,
// registry records, peer messages. Every string that reaches a log line,
// status.json, a registry record or a DNS answer must be valid UTF-8:
// JSON writers throw on anything else, and Protobuf string fields do not
// round-trip it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace meridian {

// Offset of the first byte of `s` that does not start a well-formed UTF-8
// sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF),
// or npos when all of `s` is valid.
std::size_t FirstInvalidUtf8(std::string_view s);

inline bool IsValidUtf8(std::string_view s) {
  return FirstInvalidUtf8(s) == std::string_view::npos;
}

// `s` with every byte that is not part of a well-formed sequence written as
// the four characters \xNN, so the bad bytes stay visible (and findable)
// in a message without making the message invalid. Valid text is returned
// unchanged.
std::string EscapeInvalidUtf8(std::string_view s);

}  // namespace meridian
