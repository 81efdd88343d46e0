// BuildDnsCatalog: the agent's merged ServiceImports -> the DNS catalog.
// ClusterSetIP imports answer with their ClusterSet IP; headless imports
// with the endpoints every cluster exported, labelled by cluster name (the
// <clusterid> of <hostname>.<clusterid>.<svc>.<ns>.svc.clusterset.local).
#pragma once

#include <cstdint>
#include <vector>

#include "dns/dns_catalog.h"
#include "model/service_import.h"

namespace meridian::dns {

// An export whose type conflicts with the import's (the oldest export's)
// contributes no endpoints: the KEP resolves a conflict in favour of the
// oldest export, and a ClusterSetIP export's pods are reached through the
// VIP, not by name.
DnsCatalog BuildDnsCatalog(const std::vector<model::ServiceImport>& imports, std::uint32_t serial);

}  // namespace meridian::dns
