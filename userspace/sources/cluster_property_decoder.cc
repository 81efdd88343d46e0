#include "sources/cluster_property_decoder.h"

#include <fmt/format.h>

#include "sources/error_text.h"
#include "sources/k8s_names.h"
#include "sources/object_meta.h"

namespace meridian::sources::internal {

std::optional<model::ClusterProperty> DecodeClusterProperty(const DocNode& obj,
                                                            const std::string& base,
                                                            const model::SourceRef& src,
                                                            ObjectErrors& e) {
  model::ClusterProperty prop;
  prop.meta = DecodeMeta(
      obj, base, {"ClusterProperty", NameRule::kDns1123Subdomain, /*namespaced=*/false}, src, e);
  const std::string path = Join(base, "spec");
  auto spec = RequiredMap(obj, base, "spec", e);
  if (!spec) return std::nullopt;
  if (auto value = RequiredString(*spec, path, "value", e)) {
    prop.value = *value;
    if (prop.meta.key.name == model::kClusterIdProperty && !IsDns1123Label(*value)) {
      e.Add(Join(path, "value"), fmt::format("{} {} (it is this cluster's name in the ClusterSet)",
                                             Quote(*value), kDns1123LabelRule));
    }
  }
  if (!e.empty()) return std::nullopt;
  return prop;
}

std::optional<model::Node> DecodeNode(const DocNode& obj, const std::string& base,
                                      const model::SourceRef& src, ObjectErrors& e) {
  model::Node node;
  node.meta =
      DecodeMeta(obj, base, {"Node", NameRule::kDns1123Subdomain, /*namespaced=*/false}, src, e);
  if (auto z = node.meta.labels.find(model::kZoneLabel); z != node.meta.labels.end()) {
    node.zone = z->second;
  }
  if (auto r = node.meta.labels.find(model::kRegionLabel); r != node.meta.labels.end()) {
    node.region = r->second;
  }
  const std::string spath = Join(base, "status");
  auto status = Get(obj, "status");
  if (status && ExpectMap(*status, spath, e)) {
    const std::string apath = Join(spath, "addresses");
    if (auto addrs = Get(*status, "addresses"); addrs && ExpectList(*addrs, apath, e)) {
      const std::vector<DocNode> elems = addrs->Elements();
      for (std::size_t i = 0; i < elems.size(); ++i) {
        const std::string path = At(apath, i);
        if (!ExpectMap(elems[i], path, e)) continue;
        auto type = RequiredString(elems[i], path, "type", e);
        auto address = RequiredString(elems[i], path, "address", e);
        if (!type || !address) continue;
        auto* slot = *type == "InternalIP"   ? &node.internal_ip
                     : *type == "ExternalIP" ? &node.external_ip
                                             : nullptr;
        // Dual-stack nodes list IPv6 addresses too: skipped, not errors.
        if (!slot || slot->has_value() || address->find(':') != std::string::npos) continue;
        *slot = AsIpv4(*address, Join(path, "address"), e);
      }
    }
  }
  if (!e.empty()) return std::nullopt;
  return node;
}

}  // namespace meridian::sources::internal
