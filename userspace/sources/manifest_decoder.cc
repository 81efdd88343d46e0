#include "sources/manifest_decoder.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <optional>
#include <utility>

#include "sources/cluster_decoder.h"
#include "sources/doc_node.h"
#include "sources/endpoint_slice_decoder.h"
#include "sources/error_text.h"
#include "sources/field_readers.h"
#include "sources/json_manifest.h"
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
  return out;
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
using internal::ObjectErrors;
using internal::ObjectName;
using internal::ParseJsonManifest;
using internal::Quote;
using internal::RequiredString;
using internal::SyntaxMessage;

enum class Kind { kService, kEndpointSlice, kServiceExport, kCluster, kList };

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

template <typename T>
void Keep(std::optional<T> obj, std::vector<T>& out) {
  if (obj) out.push_back(std::move(*obj));
}

// Decodes one object (or, at the top of a document, a List of objects).
// `base` is the field path of the object inside its document.
void DecodeObject(const DocNode& obj, const std::string& base, const model::SourceRef& src,
                  bool allow_list, DecodeResult& out) {
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
  if (!e.empty()) {
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
          DecodeObject(elem, At(path, i), src, /*allow_list=*/false, out);
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
  if (file.size() >= 5 && file.compare(file.size() - 5, 5, ".json") == 0) {
    auto doc = ParseJsonManifest(text);
    if (!doc.value) {
      out.errors.push_back({file, -1, "", "", doc.error});
      return out;
    }
    try {
      if (!doc.value->is_null()) {
        DecodeObject(DocNode(*doc.value), "", model::SourceRef{file, 0}, /*allow_list=*/true, out);
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
                   /*allow_list=*/true, out);
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

}  // namespace meridian::sources
