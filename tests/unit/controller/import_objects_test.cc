// The ServiceImport and MCS EndpointSlice objects the controller writes
// for one import (controller/import_objects.h): every field, label and
// owner reference, the grouping by ports, the chunking and the names.
#include "controller/import_objects.h"

#include <gtest/gtest.h>

#include <set>

namespace meridian::controller {
namespace {

using nlohmann::json;

model::ExportedEndpoint Endpoint(const std::string& ip, std::uint16_t port = 8080,
                                 const std::string& port_name = "http") {
  model::ExportedEndpoint ep;
  ep.address = *model::Ipv4Address::Parse(ip);
  ep.zone = "zone-a";
  ep.ports = {{port_name, model::Protocol::kTcp, port}};
  return ep;
}

model::ServiceImport Import() {
  model::ServiceImport imp;
  imp.key = {"shop", "web"};
  imp.ports = {{"http", model::Protocol::kTcp, 80}, {"dns", model::Protocol::kUdp, 53}};
  imp.session_affinity = model::SessionAffinity::kClientIP;
  imp.clusterset_ip = model::Ipv4Address::Parse("10.255.0.7");
  model::ExportedService east{.cluster = "east", .service = imp.key};
  east.endpoints = {Endpoint("10.1.0.6"), Endpoint("10.1.0.5")};
  east.endpoints[1].conditions.ready = false;
  east.endpoints[1].hostname = "web-0";
  model::ExportedService west{.cluster = "west", .service = imp.key};
  west.endpoints = {Endpoint("10.2.0.5")};
  imp.exports = {east, west};
  return imp;
}

TEST(ImportObjectsTest, ServiceImportCarriesTypePortsIpsAndAffinity) {
  EXPECT_EQ(ServiceImportObject(Import()), json::parse(R"({
    "apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
    "metadata": {"name": "web", "namespace": "shop",
                 "labels": {"app.kubernetes.io/managed-by": "meridian-controller"}},
    "spec": {"type": "ClusterSetIP", "sessionAffinity": "ClientIP", "ips": ["10.255.0.7"],
             "ports": [{"name": "http", "protocol": "TCP", "port": 80},
                       {"name": "dns", "protocol": "UDP", "port": 53}]}})"));
  EXPECT_EQ(ServiceImportStatus(Import())["status"],
            json::parse(R"({"clusters": [{"cluster": "east"}, {"cluster": "west"}]})"));
}

TEST(ImportObjectsTest, HeadlessAndUnallocatedImportsHaveNoIps) {
  auto imp = Import();
  imp.type = model::ImportType::kHeadless;
  EXPECT_FALSE(ServiceImportObject(imp)["spec"].contains("ips"));
  EXPECT_EQ(ServiceImportObject(imp)["spec"]["type"], "Headless");
  imp = Import();
  imp.clusterset_ip.reset();  // not allocated yet
  EXPECT_FALSE(ServiceImportObject(imp)["spec"].contains("ips"));
}

TEST(ImportObjectsTest, OneSlicePerClusterLabelledAndOwned) {
  auto slices = ImportEndpointSlices(Import(), "uid-1");
  ASSERT_EQ(slices.size(), 2u);
  const json& east = slices[0];
  EXPECT_EQ(east["metadata"]["name"],
            ImportSliceName({"shop", "web"}, "east", "http/TCP/8080,", 0));
  EXPECT_EQ(east["metadata"]["namespace"], "shop");
  EXPECT_EQ(east["metadata"]["labels"], json::parse(R"({
    "multicluster.kubernetes.io/service-name": "web",
    "multicluster.kubernetes.io/source-cluster": "east",
    "endpointslice.kubernetes.io/managed-by": "meridian-controller.meridian.io",
    "app.kubernetes.io/managed-by": "meridian-controller"})"));
  EXPECT_FALSE(east["metadata"]["labels"].contains("kubernetes.io/service-name"))
      << "kube-proxy and the agents must not take it for the Service's own slice";
  EXPECT_EQ(east["metadata"]["ownerReferences"], json::parse(R"([{
    "apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport", "name": "web",
    "uid": "uid-1", "controller": true, "blockOwnerDeletion": false}])"));
  EXPECT_EQ(east["addressType"], "IPv4");
  EXPECT_EQ(east["ports"], json::parse(R"([{"name": "http", "protocol": "TCP", "port": 8080}])"));
  // Sorted by address; conditions kept, hostname and zone carried.
  EXPECT_EQ(east["endpoints"], json::parse(R"([
    {"addresses": ["10.1.0.5"], "hostname": "web-0", "zone": "zone-a",
     "conditions": {"ready": false, "serving": true, "terminating": false}},
    {"addresses": ["10.1.0.6"], "zone": "zone-a",
     "conditions": {"ready": true, "serving": true, "terminating": false}}])"));
  EXPECT_EQ(slices[1]["metadata"]["labels"]["multicluster.kubernetes.io/source-cluster"], "west");
}

TEST(ImportObjectsTest, EndpointsWithOtherPortsGetTheirOwnSlice) {
  auto imp = Import();
  imp.exports[1].endpoints.push_back(Endpoint("10.2.0.9", 9090));
  auto slices = ImportEndpointSlices(imp, "uid-1");
  ASSERT_EQ(slices.size(), 3u);
  std::set<std::string> ports;
  for (const auto& s : slices) ports.insert(s["ports"][0]["port"].dump());
  EXPECT_EQ(ports, (std::set<std::string>{"8080", "9090"}));
}

TEST(ImportObjectsTest, LargeClustersAreChunkedAtOneHundredEndpoints) {
  auto imp = Import();
  imp.exports.resize(1);
  imp.exports[0].endpoints.clear();
  for (int i = 0; i < 250; ++i) {
    imp.exports[0].endpoints.push_back(
        Endpoint("10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200)));
  }
  auto slices = ImportEndpointSlices(imp, "uid-1");
  ASSERT_EQ(slices.size(), 3u);
  std::size_t total = 0;
  std::set<std::string> names;
  for (const auto& s : slices) {
    EXPECT_LE(s["endpoints"].size(), kEndpointsPerSlice);
    total += s["endpoints"].size();
    names.insert(s["metadata"]["name"]);
  }
  EXPECT_EQ(total, 250u);
  EXPECT_EQ(names.size(), 3u);
  const std::string base = ImportSliceName({"shop", "web"}, "east", "http/TCP/8080,", 0);
  EXPECT_TRUE(names.count(base + "-1") && names.count(base + "-2"));
}

TEST(ImportObjectsTest, SliceNamesDoNotCollideWhenDashesMove) {
  EXPECT_NE(ImportSliceName({"ns", "a-b"}, "c", "", 0), ImportSliceName({"ns", "a"}, "b-c", "", 0));
  EXPECT_NE(ImportSliceName({"ns1", "web"}, "east", "", 0),
            ImportSliceName({"ns2", "web"}, "east", "", 0));
  // Stable: the same inputs always give the same name (server-side apply
  // updates the slice in place).
  EXPECT_EQ(ImportSliceName({"ns", "web"}, "east", "x", 0),
            ImportSliceName({"ns", "web"}, "east", "x", 0));
}

}  // namespace
}  // namespace meridian::controller
