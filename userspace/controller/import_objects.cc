#include "controller/import_objects.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <tuple>

namespace meridian::controller {

using nlohmann::json;

namespace {

constexpr char kApiVersion[] = "multicluster.x-k8s.io/v1alpha1";

json PortsJson(const std::vector<model::EndpointPort>& ports) {
  json out = json::array();
  for (const auto& p : ports) {
    json j = {{"protocol", model::ToString(p.protocol)}, {"port", p.port}};
    if (!p.name.empty()) j["name"] = p.name;
    out.push_back(std::move(j));
  }
  return out;
}

// "name/TCP/80,..." in a fixed order: endpoints with the same ports share
// a slice, as an EndpointSlice has one ports list for all its endpoints.
std::string PortsKey(std::vector<model::EndpointPort> ports) {
  std::sort(ports.begin(), ports.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.protocol, a.port) < std::tie(b.name, b.protocol, b.port);
  });
  std::string key;
  for (const auto& p : ports) {
    key += fmt::format("{}/{}/{},", p.name, model::ToString(p.protocol), p.port);
  }
  return key;
}

std::uint32_t Fnv1a(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace

json ServiceImportObject(const model::ServiceImport& imp) {
  json ports = json::array();
  for (const auto& p : imp.ports) {
    json j = {{"protocol", model::ToString(p.protocol)}, {"port", p.port}};
    if (!p.name.empty()) j["name"] = p.name;
    ports.push_back(std::move(j));
  }
  json spec = {{"type", model::ToString(imp.type)},
               {"ports", std::move(ports)},
               {"sessionAffinity", model::ToString(imp.session_affinity)}};
  if (imp.type == model::ImportType::kClusterSetIP && imp.clusterset_ip) {
    spec["ips"] = json::array({imp.clusterset_ip->ToString()});
  }
  return {{"apiVersion", kApiVersion},
          {"kind", "ServiceImport"},
          {"metadata",
           {{"name", imp.key.name},
            {"namespace", imp.key.ns},
            {"labels", {{kManagedByLabel, kManagedByValue}}}}},
          {"spec", std::move(spec)}};
}

json ServiceImportStatus(const model::ServiceImport& imp) {
  json clusters = json::array();
  for (const auto& c : imp.Clusters()) clusters.push_back({{"cluster", c}});
  return {{"apiVersion", kApiVersion},
          {"kind", "ServiceImport"},
          {"metadata", {{"name", imp.key.name}, {"namespace", imp.key.ns}}},
          {"status", {{"clusters", std::move(clusters)}}}};
}

std::string ImportSliceName(const model::ObjectKey& service, const std::string& cluster,
                            const std::string& ports_key, std::size_t index) {
  const std::uint32_t h =
      Fnv1a(service.ns + "/" + service.name + "\n" + cluster + "\n" + ports_key);
  std::string name = fmt::format("{}-{}-{:08x}", service.name, cluster, h);
  if (index > 0) name += fmt::format("-{}", index);
  return name;
}

std::vector<json> ImportEndpointSlices(const model::ServiceImport& imp,
                                       const std::string& owner_uid) {
  // (cluster, ports) -> endpoints, sorted by address so chunks are stable.
  std::map<std::pair<std::string, std::string>, std::vector<const model::ExportedEndpoint*>> groups;
  std::map<std::pair<std::string, std::string>, const std::vector<model::EndpointPort>*> ports;
  for (const auto& e : imp.exports) {
    for (const auto& ep : e.endpoints) {
      std::pair<std::string, std::string> g{e.cluster, PortsKey(ep.ports)};
      groups[g].push_back(&ep);
      ports.emplace(g, &ep.ports);
    }
  }
  std::vector<json> out;
  for (auto& [group, eps] : groups) {
    std::sort(eps.begin(), eps.end(),
              [](const auto* a, const auto* b) { return a->address < b->address; });
    for (std::size_t chunk = 0; chunk * kEndpointsPerSlice < eps.size(); ++chunk) {
      json endpoints = json::array();
      const std::size_t end = std::min(eps.size(), (chunk + 1) * kEndpointsPerSlice);
      for (std::size_t i = chunk * kEndpointsPerSlice; i < end; ++i) {
        const auto& ep = *eps[i];
        json j = {{"addresses", json::array({ep.address.ToString()})},
                  {"conditions",
                   {{"ready", ep.conditions.ready},
                    {"serving", ep.conditions.serving},
                    {"terminating", ep.conditions.terminating}}}};
        if (!ep.hostname.empty()) j["hostname"] = ep.hostname;
        if (!ep.zone.empty()) j["zone"] = ep.zone;
        endpoints.push_back(std::move(j));
      }
      out.push_back({{"apiVersion", "discovery.k8s.io/v1"},
                     {"kind", "EndpointSlice"},
                     {"metadata",
                      {{"name", ImportSliceName(imp.key, group.first, group.second, chunk)},
                       {"namespace", imp.key.ns},
                       {"labels",
                        {{kMcsServiceNameLabel, imp.key.name},
                         {kMcsSourceClusterLabel, group.first},
                         {kSliceManagedByLabel, kSliceManagedByValue},
                         {kManagedByLabel, kManagedByValue}}},
                       {"ownerReferences", json::array({{{"apiVersion", kApiVersion},
                                                         {"kind", "ServiceImport"},
                                                         {"name", imp.key.name},
                                                         {"uid", owner_uid},
                                                         {"controller", true},
                                                         {"blockOwnerDeletion", false}}})}}},
                     {"addressType", "IPv4"},
                     {"endpoints", std::move(endpoints)},
                     {"ports", PortsJson(*ports.at(group))}});
    }
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["metadata"]["name"].get<std::string>() < b["metadata"]["name"].get<std::string>();
  });
  return out;
}

}  // namespace meridian::controller
