#include "sources/yaml_syntax_check.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "sources/error_text.h"

namespace meridian::sources::internal {
namespace {

struct SyntaxProblem {
  YAML::Mark mark;
  std::string message;
};

// Thrown out of yaml-cpp's parser when it stops making progress.
struct Runaway {
  YAML::Mark mark;
};

class StrictSyntaxCheck final : public YAML::EventHandler {
 public:
  // Legitimate manifests stay far below this even at the 4 MiB file limit.
  static constexpr std::uint64_t kMaxExpandedNodes = 4u << 20;
  // Events per byte of text a well-formed YAML text can produce (a node
  // takes at least a byte or two; aliases count once here, their expansion
  // is bounded above). yaml-cpp 0.7 can loop on some malformed flow
  // collections, emitting nulls and collections without consuming the
  // text: a 76-byte manifest took 9 s and 500 MB (found by fuzzing,
  // tests/fuzz/corpus/manifests/runaway-flow.yaml).
  static constexpr std::uint64_t kMaxEventsPerByte = 8;

  explicit StrictSyntaxCheck(std::string_view text)
      : text_(text), max_events_(kMaxEventsPerByte * text.size() + 1024) {}

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
    if (++events_ > max_events_) throw Runaway{mark};
    stack_.emplace_back(mark, anchor, /*map=*/false, /*block_style=*/false);
  }
  void OnSequenceEnd() override { EndCollection(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    if (++events_ > max_events_) throw Runaway{mark};
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
    if (++events_ > max_events_) throw Runaway{c.mark};
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
  std::uint64_t max_events_;
  std::uint64_t events_ = 0;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::uint64_t> anchor_sizes_;
  std::uint64_t expanded_ = 0;
  int documents_ = 0;
  std::optional<SyntaxProblem> problem_;
};

}  // namespace

std::string SyntaxMessage(const YAML::Mark& mark, const std::string& what) {
  return fmt::format("invalid YAML at line {}, column {}: {}", mark.line + 1, mark.column + 1,
                     what);
}

std::optional<DecodeError> CheckSyntax(std::string_view text, const std::string& file) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  StrictSyntaxCheck check(text);
  try {
    while (!check.problem() && parser.HandleNextDocument(check)) {
    }
  } catch (const YAML::ParserException& e) {
    return DecodeError{file, check.completed_documents(), "", "", SyntaxMessage(e.mark, e.msg)};
  } catch (const Runaway& r) {
    return DecodeError{file, check.completed_documents(), "", "",
                       SyntaxMessage(r.mark,
                                     "the YAML parser stopped making progress (malformed "
                                     "flow collection?)")};
  }
  if (const auto& p = check.problem()) {
    return DecodeError{file, check.completed_documents(), "", "",
                       SyntaxMessage(p->mark, p->message)};
  }
  return std::nullopt;
}

}  // namespace meridian::sources::internal
