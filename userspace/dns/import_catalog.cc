#include "dns/import_catalog.h"

#include <utility>

namespace meridian::dns {

DnsCatalog BuildDnsCatalog(const std::vector<model::ServiceImport>& imports, std::uint32_t serial) {
  std::vector<DnsImport> out;
  out.reserve(imports.size());
  for (const auto& imp : imports) {
    DnsImport d{.ns = imp.key.ns,
                .name = imp.key.name,
                .headless = imp.type == model::ImportType::kHeadless,
                .clusterset_ip = imp.clusterset_ip};
    for (const auto& p : imp.ports) {
      d.ports.push_back(DnsPort{.name = p.name, .protocol = p.protocol, .port = p.port});
    }
    if (d.headless) {
      d.clusterset_ip.reset();  // a headless import never has one
      for (const auto& e : imp.exports) {
        if (e.type != model::ImportType::kHeadless) continue;
        for (const auto& ep : e.endpoints) {
          d.endpoints.push_back(DnsEndpoint{.address = ep.address,
                                            .hostname = ep.hostname,
                                            .cluster = e.cluster,
                                            .ready = ep.conditions.ready});
        }
      }
    }
    out.push_back(std::move(d));
  }
  return DnsCatalog(std::move(out), serial);
}

}  // namespace meridian::dns
