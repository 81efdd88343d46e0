#include "common/json_query.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

namespace meridian {
namespace {

// "a" is "a"; a number (1) is "1"; a boolean true is "true".
std::string AsText(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::optional<std::size_t> Index(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

const char* KindOf(const nlohmann::json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  return "null";
}

// "a.b[k=v].c" -> "a", "b[k=v]", "c": split on dots outside brackets.
Result<std::vector<std::string>> Steps(const std::string& path) {
  std::vector<std::string> steps(1);
  bool in_selector = false;
  for (char c : path) {
    if (c == '.' && !in_selector) {
      steps.emplace_back();
      continue;
    }
    if (c == '[') {
      if (in_selector) return Error{fmt::format("query '{}': '[' inside a selector", path)};
      in_selector = true;
    } else if (c == ']') {
      if (!in_selector) return Error{fmt::format("query '{}': ']' without '['", path)};
      in_selector = false;
    } else if (!in_selector && !steps.back().empty() && steps.back().back() == ']') {
      return Error{fmt::format("query '{}': expected '.' after ']'", path)};
    }
    steps.back() += c;
  }
  if (in_selector) return Error{fmt::format("query '{}': '[' without ']'", path)};
  for (const auto& step : steps) {
    if (step.empty()) return Error{fmt::format("query '{}': an empty field name", path)};
  }
  return steps;
}

}  // namespace

Result<nlohmann::json> QueryJson(const nlohmann::json& doc, const std::string& path) {
  if (path.empty()) return doc;
  auto steps = Steps(path);
  if (!steps.ok()) return steps.error();
  const nlohmann::json* at = &doc;
  std::string seen;  // the path matched so far, for errors
  auto where = [&] { return seen.empty() ? std::string("the document") : "'" + seen + "'"; };
  for (const std::string& step : *steps) {
    const auto open = step.find('[');
    const std::string name = step.substr(0, open);
    if (!name.empty()) {
      if (at->is_object()) {
        auto it = at->find(name);
        if (it == at->end()) return Error{fmt::format("{} has no field '{}'", where(), name)};
        at = &*it;
      } else if (at->is_array()) {
        auto index = Index(name);
        if (!index) return Error{fmt::format("{} is an array: '{}' is no index", where(), name)};
        if (*index >= at->size()) {
          return Error{
              fmt::format("{} has {} elements: no element {}", where(), at->size(), *index)};
        }
        at = &(*at)[*index];
      } else {
        return Error{fmt::format("{} is {}: it has no field '{}'", where(), KindOf(*at), name)};
      }
      seen += (seen.empty() ? "" : ".") + name;
    }
    if (open == std::string::npos) continue;
    const std::string selector = step.substr(open + 1, step.size() - open - 2);
    const auto eq = selector.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Error{
          fmt::format("query '{}': a selector is [member=value], not [{}]", path, selector)};
    }
    if (!at->is_array()) {
      return Error{fmt::format("{} is {}, not an array: cannot select [{}]", where(), KindOf(*at),
                               selector)};
    }
    const std::string member = selector.substr(0, eq), value = selector.substr(eq + 1);
    const nlohmann::json* found = nullptr;
    for (const auto& element : *at) {
      if (element.is_object() && element.contains(member) && AsText(element[member]) == value) {
        found = &element;
        break;
      }
    }
    if (!found) {
      return Error{fmt::format("{} has no element with {} = '{}'", where(), member, value)};
    }
    at = found;
    seen += "[" + selector + "]";
  }
  return *at;
}

std::string JsonValueText(const nlohmann::json& value) { return AsText(value); }

}  // namespace meridian
