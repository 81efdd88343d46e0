// The strict YAML syntax pass that runs before yaml-cpp loads a text.
// Internal to userspace/sources/.
//
// yaml-cpp 0.7 accepts input that the YAML spec (and kubectl) rejects, and it
// is what a file cut off mid-write looks like: a trailing "key" with no ':'
// becomes a key with a null value, and an unterminated quoted scalar runs to
// the end of the text. It also keeps duplicate keys, where one silently
// wins. This pass reports those as syntax errors. It also counts documents,
// so a syntax error can name its document, and bounds how far aliases expand
// ("billion laughs"), so that decoding stays linear in the size of the text.
#pragma once

#include <yaml-cpp/mark.h>

#include <optional>
#include <string>
#include <string_view>

#include "sources/manifest_decoder.h"

namespace meridian::sources::internal {

// "invalid YAML at line L, column C: <what>", L and C from 1.
std::string SyntaxMessage(const YAML::Mark& mark, const std::string& what);

// Runs the strict pass over `text`; on any syntax problem returns the one
// error for the whole text, naming the document it is in.
std::optional<DecodeError> CheckSyntax(std::string_view text, const std::string& file);

}  // namespace meridian::sources::internal
