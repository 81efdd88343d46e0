#include "sources/manifest_decoder.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <optional>
#include <utility>

#include "common/utf8.h"
#include "sources/cluster_decoder.h"
#include "sources/cluster_property_decoder.h"
#include "sources/doc_node.h"
#include "sources/endpoint_slice_decoder.h"
#include "sources/error_text.h"
#include "sources/field_readers.h"
#include "sources/json_manifest.h"
#include "sources/object_decoder.h"
#include "sources/service_decoder.h"
#include "sources/service_export_decoder.h"
#include "sources/yaml_syntax_check.h"

namespace meridian::sources {

std::string DecodeError::ToString() const {
  std::string out;
  auto append = [&out](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ": ";
    out += part;
  };
  append(file);
  if (document >= 0) append(fmt::format("document {}", document + 1));
  append(object);
  append(field);
  append(message);
  // The file name and parser messages (yaml-cpp and nlohmann quote the
  // bytes they stopped at) may hold anything; the message is logged and
  // written to status.json, so it must be UTF-8.
  return EscapeInvalidUtf8(out);
}

namespace {

using internal::At;
using internal::CheckSyntax;
using internal::DecodeCluster;
using internal::DecodeEndpointSlice;
using internal::DecodeService;
using internal::DecodeServiceExport;
using internal::Describe;
using internal::DocNode;
using internal::ExpectList;
using internal::Get;
using internal::Join;
using internal::KeyAt;
using internal::ObjectErrors;
using internal::ObjectName;
using internal::ParseJsonManifest;
using internal::Quote;
using internal::RequiredString;
using internal::SyntaxMessage;

enum class Kind {
  kService,
  kEndpointSlice,
  kServiceExport,
  kCluster,
  kClusterProperty,
  kNode,
  kList
};

struct KindInfo {
  Kind kind;
  std::string_view name;
  std::string_view api_version;
  bool namespaced;
};

// The accepted kinds; List only at the top of a document.
constexpr KindInfo kKinds[] = {
    {Kind::kService, "Service", "v1", true},
    {Kind::kEndpointSlice, "EndpointSlice", "discovery.k8s.io/v1", true},
    {Kind::kServiceExport, "ServiceExport", "multicluster.x-k8s.io/v1alpha1", true},
    {Kind::kCluster, "Cluster", "meridian.io/v1alpha1", false},
    {Kind::kClusterProperty, "ClusterProperty", "about.k8s.io/v1alpha1", false},
    {Kind::kNode, "Node", "v1", false},
    {Kind::kList, "List", "v1", false},
};

// "Service, EndpointSlice, ..." for the unsupported-kind message.
std::string AcceptedKinds() {
  std::string out;
  for (const KindInfo& k : kKinds) {
    if (k.kind == Kind::kList) continue;
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

// "Deployment default/web" for errors about objects we do not decode, so the
// operator can still find the object. No errors of its own.
std::string BestEffortName(const DocNode& obj, const std::string& kind, bool namespaced) {
  auto meta = Get(obj, "metadata");
  if (!meta) return "";
  auto name = Get(*meta, "name");
  if (!name || !name->IsScalar()) return "";
  if (!namespaced) return ObjectName(kind, {"", name->Scalar()});
  auto ns = Get(*meta, "namespace");
  std::string ns_text = ns && ns->IsScalar() && !ns->Scalar().empty() ? ns->Scalar() : "default";
  return ObjectName(kind, {ns_text, name->Scalar()});
}

// A field path step for a map key: `spec.ports`, but
// `metadata.annotations["service.meridian.io/x"]` for keys that are not
// plain identifiers.
std::string FieldOf(const std::string& base, const std::string& key) {
  for (char c : key) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-';
    if (!plain) return KeyAt(base, EscapeInvalidUtf8(key));
  }
  return Join(base, key);
}

std::string NotUtf8(const std::string& text) {
  const std::size_t at = FirstInvalidUtf8(text);
  return fmt::format("not valid UTF-8 (byte 0x{:02x} at offset {}): {}",
                     static_cast<unsigned char>(text[at]), at, Quote(text));
}

// Every key and scalar of `node`, at any depth, must be UTF-8: the API
// server accepts nothing else, and such a string would not survive the
// JSON status, the Protobuf registry records or a DNS answer. Each bad
// field is an error naming it; false if there was any.
bool CheckUtf8(const DocNode& node, const std::string& path, ObjectErrors& e) {
  if (node.IsScalar()) {
    const std::string text = node.Scalar();
    if (IsValidUtf8(text)) return true;
    e.Add(path, NotUtf8(text));
    return false;
  }
  bool ok = true;
  if (node.IsSequence()) {
    const std::vector<DocNode> elems = node.Elements();
    for (std::size_t i = 0; i < elems.size(); ++i) ok &= CheckUtf8(elems[i], At(path, i), e);
    return ok;
  }
  for (const auto& [key, value] : node.Entries()) {
    const std::string key_text = key.IsScalar() ? key.Scalar() : "";
    if (!IsValidUtf8(key_text)) {
      e.Add(FieldOf(path, key_text), "key " + NotUtf8(key_text));
      ok = false;
      continue;
    }
    ok &= CheckUtf8(value, FieldOf(path, key_text), e);
  }
  return ok;
}

template <typename T>
void Keep(std::optional<T> obj, std::vector<T>& out) {
  if (obj) out.push_back(std::move(*obj));
}

// Decodes one object (or, at the top of a document, a List of objects).
// `base` is the field path of the object inside its document.
// `check_utf8`: the text holds bytes that are not UTF-8, so every string
// of the object is checked before it is decoded.
void DecodeObject(const DocNode& obj, const std::string& base, const model::SourceRef& src,
                  bool allow_list, bool check_utf8, DecodeResult& out) {
  ObjectErrors e;
  if (!obj.IsMap()) {
    e.Add(base, fmt::format("expected a Kubernetes object (a map), got {}", Describe(obj)));
    e.MoveTo(src, out.errors);
    return;
  }
  auto kind = RequiredString(obj, base, "kind", e);
  auto api_version = RequiredString(obj, base, "apiVersion", e);
  if (!kind) {
    e.MoveTo(src, out.errors);
    return;
  }
  const KindInfo* info = nullptr;
  for (const KindInfo& k : kKinds) {
    if (*kind == k.name && (k.kind != Kind::kList || allow_list)) info = &k;
  }
  e.set_object(BestEffortName(obj, *kind, info == nullptr || info->namespaced));
  if (!info) {
    e.Add(Join(base, "kind"),
          fmt::format("unsupported kind {}; accepted: {}", Quote(*kind), AcceptedKinds()));
  } else if (api_version && *api_version != info->api_version) {
    e.Add(Join(base, "apiVersion"),
          fmt::format("unsupported apiVersion {} for kind {}; accepted: {}", Quote(*api_version),
                      *kind, info->api_version));
  }
  if (!e.empty() || (check_utf8 && info->kind != Kind::kList && !CheckUtf8(obj, base, e))) {
    e.MoveTo(src, out.errors);
    return;
  }

  model::ResourceSnapshot& objects = out.objects;
  switch (info->kind) {
    case Kind::kList: {
      const std::string path = Join(base, "items");
      auto items = Get(obj, "items");
      if (items && ExpectList(*items, path, e)) {
        const std::vector<DocNode> elems = items->Elements();
        for (std::size_t i = 0; i < elems.size(); ++i) {
          const DocNode& elem = elems[i];
          DecodeObject(elem, At(path, i), src, /*allow_list=*/false, check_utf8, out);
        }
      }
      break;
    }
    case Kind::kService:
      Keep(DecodeService(obj, base, src, e), objects.services);
      break;
    case Kind::kEndpointSlice:
      Keep(DecodeEndpointSlice(obj, base, src, e), objects.endpoint_slices);
      break;
    case Kind::kServiceExport:
      Keep(DecodeServiceExport(obj, base, src, e), objects.service_exports);
      break;
    case Kind::kCluster:
      Keep(DecodeCluster(obj, base, src, e), objects.clusters);
      break;
    case Kind::kClusterProperty:
      Keep(DecodeClusterProperty(obj, base, src, e), objects.cluster_properties);
      break;
    case Kind::kNode:
      Keep(DecodeNode(obj, base, src, e), objects.nodes);
      break;
  }
  e.MoveTo(src, out.errors);
}

}  // namespace

DecodeResult DecodeManifests(std::string_view text, const std::string& file) {
  DecodeResult out;
  // yaml-cpp skips a UTF-8 byte order mark without counting it in marks;
  // dropping it here keeps marks equal to offsets in `text`.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  // One fast pass over the bytes; only a file that fails it pays for the
  // field-by-field check that names the bad field.
  const bool check_utf8 = !IsValidUtf8(text);
  if (file.size() >= 5 && file.compare(file.size() - 5, 5, ".json") == 0) {
    auto doc = ParseJsonManifest(text);
    if (!doc.value) {
      out.errors.push_back({file, -1, "", "", doc.error});
      return out;
    }
    try {
      if (!doc.value->is_null()) {
        DecodeObject(DocNode(*doc.value), "", model::SourceRef{file, 0}, /*allow_list=*/true,
                     check_utf8, out);
      }
    } catch (const std::exception& e) {
      out = DecodeResult{};
      out.errors.push_back({file, -1, "", "", fmt::format("cannot decode: {}", e.what())});
    }
    return out;
  }
  try {
    if (auto syntax = CheckSyntax(text, file)) {
      out.errors.push_back(std::move(*syntax));
      return out;
    }
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    for (std::size_t i = 0; i < documents.size(); ++i) {
      // Documents holding only comments or nothing load as null: skipped.
      if (documents[i].IsNull()) continue;
      DecodeObject(DocNode(documents[i]), "", model::SourceRef{file, static_cast<int>(i)},
                   /*allow_list=*/true, check_utf8, out);
    }
  } catch (const YAML::Exception& e) {
    // Not expected after the syntax pass; reported rather than propagated
    // because exceptions never leave a module.
    out = DecodeResult{};
    out.errors.push_back({file, -1, "", "", SyntaxMessage(e.mark, e.msg)});
  } catch (const std::exception& e) {
    out = DecodeResult{};
    out.errors.push_back({file, -1, "", "", fmt::format("cannot decode: {}", e.what())});
  }
  return out;
}

DecodeResult DecodeObjectJson(const nlohmann::json& object, const std::string& source) {
  DecodeResult out;
  try {
    // The API server delivers UTF-8 only, and nlohmann refuses anything
    // else at parse time: no per-field check is needed.
    DecodeObject(DocNode(object), "", model::SourceRef{source, 0}, /*allow_list=*/false,
                 /*check_utf8=*/false, out);
    // An API object is not a document of a file: no "document 1" in errors.
    for (auto& e : out.errors) e.document = -1;
  } catch (const std::exception& e) {
    out = DecodeResult{};
    out.errors.push_back({source, -1, "", "", fmt::format("cannot decode: {}", e.what())});
  }
  return out;
}

}  // namespace meridian::sources
