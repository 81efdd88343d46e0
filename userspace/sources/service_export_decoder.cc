#include "sources/service_export_decoder.h"

#include "sources/object_meta.h"

namespace meridian::sources::internal {

// A ServiceExport is all metadata: its namespace and name are those of the
// Service it exports. It has no spec, and its status is the MCS
// controller's, so both are ignored like any unknown field. Its name follows
// the Service name rule, since a ServiceExport with any other name could
// never match a Service. That the Service exists is not checked: Kubernetes
// accepts an export before its Service, and the MCS controller reports it.
std::optional<model::ServiceExport> DecodeServiceExport(const DocNode& obj, const std::string& base,
                                                        const model::SourceRef& src,
                                                        ObjectErrors& e) {
  model::ServiceExport exp;
  exp.meta = DecodeMeta(obj, base, {"ServiceExport", NameRule::kDns1035Label}, src, e);
  if (!e.empty()) return std::nullopt;
  return exp;
}

}  // namespace meridian::sources::internal
