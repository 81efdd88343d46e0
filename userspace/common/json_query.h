// Field queries on a JSON document, for people and scripts that want one
// value of an agent's status without a JSON tool of their own:
//
//   state                          a member
//   conntrack.evicted              a member of a member
//   imports.0.name                 an element of an array by index
//   imports[name=default/web].clusterset_ip
//                                  the first element whose member `name`
//                                  is (as text) `default/web`
//
// Values print as scripts want them: a string without quotes, a number or
// boolean as JSON writes it, null as "null", an object or array as compact
// JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"

namespace meridian {

// The value at `path` in `doc`; an error names the part of the path that
// matched nothing, and what was there instead.
Result<nlohmann::json> QueryJson(const nlohmann::json& doc, const std::string& path);

// A queried value as text (see above).
std::string JsonValueText(const nlohmann::json& value);

}  // namespace meridian
