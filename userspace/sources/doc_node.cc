#include "sources/doc_node.h"

namespace meridian::sources::internal {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

using Json = nlohmann::json;

}  // namespace

bool DocNode::IsNull() const {
  return std::visit(
      Overloaded{[](const YAML::Node& n) { return n.IsNull(); },
                 [](const Json* j) { return j->is_null(); }, [](JsonKey) { return false; }},
      node_);
}

bool DocNode::IsScalar() const {
  return std::visit(Overloaded{[](const YAML::Node& n) { return n.IsScalar(); },
                               [](const Json* j) { return j->is_primitive() && !j->is_null(); },
                               [](JsonKey) { return true; }},
                    node_);
}

bool DocNode::IsSequence() const {
  return std::visit(
      Overloaded{[](const YAML::Node& n) { return n.IsSequence(); },
                 [](const Json* j) { return j->is_array(); }, [](JsonKey) { return false; }},
      node_);
}

bool DocNode::IsMap() const {
  return std::visit(
      Overloaded{[](const YAML::Node& n) { return n.IsMap(); },
                 [](const Json* j) { return j->is_object(); }, [](JsonKey) { return false; }},
      node_);
}

bool DocNode::IsPlain() const {
  return std::visit(
      Overloaded{[](const YAML::Node& n) { return n.Tag() == "?"; },
                 [](const Json* j) { return j->is_number() || j->is_boolean() || j->is_null(); },
                 [](JsonKey) { return false; }},
      node_);
}

std::string DocNode::Scalar() const {
  return std::visit(Overloaded{[](const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : ""; },
                               [](const Json* j) -> std::string {
                                 if (j->is_string()) return j->get_ref<const std::string&>();
                                 if (j->is_boolean()) return j->get<bool>() ? "true" : "false";
                                 if (j->is_number()) return j->dump();
                                 return "";
                               },
                               [](JsonKey k) { return *k.text; }},
                    node_);
}

std::size_t DocNode::size() const {
  return std::visit(Overloaded{[](const YAML::Node& n) -> std::size_t {
                                 return n.IsSequence() || n.IsMap() ? n.size() : 0;
                               },
                               [](const Json* j) -> std::size_t {
                                 return j->is_array() || j->is_object() ? j->size() : 0;
                               },
                               [](JsonKey) -> std::size_t { return 0; }},
                    node_);
}

std::optional<DocNode> DocNode::Get(std::string_view key) const {
  if (const auto* n = std::get_if<YAML::Node>(&node_)) {
    // Iterates instead of using operator[], which throws on scalars and
    // would insert into non-const nodes.
    if (!n->IsMap()) return std::nullopt;
    for (const auto& kv : *n) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) {
        if (kv.second.IsNull()) return std::nullopt;
        return DocNode(kv.second);
      }
    }
    return std::nullopt;
  }
  if (const auto* j = std::get_if<const Json*>(&node_)) {
    if (!(*j)->is_object()) return std::nullopt;
    auto it = (*j)->find(key);
    if (it == (*j)->end() || it->is_null()) return std::nullopt;
    return DocNode(*it);
  }
  return std::nullopt;
}

std::vector<DocNode> DocNode::Elements() const {
  std::vector<DocNode> out;
  if (const auto* n = std::get_if<YAML::Node>(&node_)) {
    if (!n->IsSequence()) return out;
    out.reserve(n->size());
    for (const auto& item : *n) out.emplace_back(item);
  } else if (const auto* j = std::get_if<const Json*>(&node_)) {
    if (!(*j)->is_array()) return out;
    out.reserve((*j)->size());
    for (const auto& item : **j) out.emplace_back(item);
  }
  return out;
}

std::vector<std::pair<DocNode, DocNode>> DocNode::Entries() const {
  std::vector<std::pair<DocNode, DocNode>> out;
  if (const auto* n = std::get_if<YAML::Node>(&node_)) {
    if (!n->IsMap()) return out;
    out.reserve(n->size());
    for (const auto& kv : *n) out.emplace_back(DocNode(kv.first), DocNode(kv.second));
  } else if (const auto* j = std::get_if<const Json*>(&node_)) {
    if (!(*j)->is_object()) return out;
    out.reserve((*j)->size());
    for (auto it = (*j)->begin(); it != (*j)->end(); ++it) {
      out.emplace_back(DocNode(JsonKey{&it.key()}), DocNode(it.value()));
    }
  }
  return out;
}

}  // namespace meridian::sources::internal
