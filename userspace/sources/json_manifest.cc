#include "sources/json_manifest.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

namespace meridian::sources::internal {
namespace {

using Json = nlohmann::json;

// Builds the document like nlohmann's own DOM parser, and stops at a key
// that occurs twice in one object (nlohmann would keep the last silently).
// The check is the object's own insert, so it costs nothing extra; the
// callback parser it replaces kept a set of keys per object and was a
// third slower.
class StrictDomBuilder {
 public:
  explicit StrictDomBuilder(Json& root) : root_(root) {}

  bool null() { return Put(nullptr); }
  bool boolean(bool v) { return Put(v); }
  bool number_integer(Json::number_integer_t v) { return Put(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(v); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Put(v); }
  bool string(Json::string_t& v) { return Put(std::move(v)); }
  bool binary(Json::binary_t& v) { return Put(Json::binary(std::move(v))); }

  bool start_object(std::size_t) {
    Put(Json::object());
    open_.push_back(last_);
    return true;
  }
  bool key(Json::string_t& k) {
    auto& object = open_.back()->get_ref<Json::object_t&>();
    auto [it, inserted] = object.try_emplace(std::move(k));
    if (!inserted) {
      error_ = fmt::format("invalid JSON: duplicate key \"{}\"", it->first);
      return false;
    }
    member_ = &it->second;
    return true;
  }
  bool end_object() {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    Put(Json::array());
    open_.push_back(last_);
    return true;
  }
  bool end_array() {
    open_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    // what(): "[json.exception.parse_error.101] parse error at line 1, column 9: ..."
    std::string what = e.what();
    auto at = what.find("at line");
    error_ = "invalid JSON " + (at == std::string::npos ? what : what.substr(at));
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  template <typename V>
  bool Put(V&& v) {
    if (open_.empty()) {
      root_ = Json(std::forward<V>(v));
      last_ = &root_;
    } else if (open_.back()->is_array()) {
      auto& array = open_.back()->get_ref<Json::array_t&>();
      array.emplace_back(std::forward<V>(v));
      last_ = &array.back();
    } else {
      *member_ = Json(std::forward<V>(v));
      last_ = member_;
    }
    return true;
  }

  Json& root_;
  std::vector<Json*> open_;  // the objects and arrays being filled
  Json* member_ = nullptr;   // the value slot of the last key
  Json* last_ = nullptr;     // the value just stored
  std::string error_;
};

}  // namespace

JsonDocument ParseJsonManifest(std::string_view text) {
  JsonDocument out;
  Json j;
  StrictDomBuilder builder(j);
  if (!Json::sax_parse(text.begin(), text.end(), &builder) || !builder.error().empty()) {
    out.error = builder.error().empty() ? "invalid JSON" : builder.error();
    return out;
  }
  out.value = std::move(j);
  return out;
}

}  // namespace meridian::sources::internal
