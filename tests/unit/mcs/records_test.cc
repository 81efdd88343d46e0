#include "mcs/records.h"

#include <gtest/gtest.h>

#include "mcs/registry_keys.h"
#include "mcs_fixtures.h"
#include "meridian/v1/registry.pb.h"

namespace meridian::mcs {
namespace {

using namespace test_support;

TEST(RecordsTest, ClusterInfoRoundTrips) {
  model::Cluster c = Cluster("east", 7, "10.7.0.0/16", "172.16.7.11");
  c.meta.labels["region"] = "eu";
  auto back = DecodeClusterInfo("east", EncodeClusterInfo(c, 1234));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, c);

  model::Cluster gw = Cluster("west", 8, "10.8.0.0/16", "172.16.8.11");
  gw.tunnel_endpoints.clear();
  gw.gateway = Ip("172.16.8.1");
  auto gw_back = DecodeClusterInfo("west", EncodeClusterInfo(gw, 1));
  ASSERT_TRUE(gw_back.ok()) << gw_back.error().message;
  EXPECT_EQ(gw_back->gateway, Ip("172.16.8.1"));
}

TEST(RecordsTest, ExportedServiceRoundTrips) {
  model::ExportedService e = Export("east", "web", 42);
  e.type = model::ImportType::kHeadless;
  e.session_affinity = model::SessionAffinity::kClientIP;
  e.annotations["service.meridian.io/global"] = "true";
  e.endpoints.push_back({.address = Ip("10.7.1.10"),
                         .hostname = "web-0",
                         .node = "n1",
                         .zone = "z1",
                         .conditions = {true, true, false},
                         .ports = {{"http", model::Protocol::kTcp, 8080}}});
  auto back = DecodeExportedService("east", {"shop", "web"}, EncodeExportedService(e));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, e);
}

TEST(RecordsTest, ImportRecordRoundTrips) {
  auto ip =
      DecodeImportRecord({"shop", "web"}, EncodeImportRecord({"shop", "web"}, Ip("10.255.0.1")));
  ASSERT_TRUE(ip.ok()) << ip.error().message;
  EXPECT_EQ(*ip, Ip("10.255.0.1"));
}

// Each malformed record is rejected with its own reason.
TEST(RecordsTest, RejectsMalformedRecords) {
  auto msg = [](auto r) { return r.ok() ? std::string("accepted") : r.error().message; };
  EXPECT_EQ(msg(DecodeClusterInfo("east", "\xff\xff\xff garbage")),
            "not a meridian.v1.ClusterInfo: the bytes do not parse as Protobuf");
  EXPECT_EQ(msg(DecodeClusterInfo("east", std::string(kMaxRecordBytes + 1, 'x'))),
            "oversize record: 1048577 bytes (limit 1048576)");
  // An export stored under an import key parses as Protobuf, but its field 3
  // is a varint (type) where the import record has a string.
  EXPECT_EQ(
      msg(DecodeImportRecord({"shop", "web"}, EncodeExportedService(Export("east", "web", 1)))),
      "ServiceImportRecord: field 3 (clusterset_ip) has the wrong wire type: not a "
      "meridian.v1.ServiceImportRecord");
  EXPECT_EQ(msg(DecodeClusterInfo("east", EncodeImportRecord({"shop", "web"}, Ip("10.255.0.1")))),
            "not a meridian.v1.ClusterInfo: the bytes do not parse as Protobuf");

  model::Cluster c = Cluster("east", 7, "10.7.0.0/16", "172.16.7.11");
  EXPECT_EQ(msg(DecodeClusterInfo("west", EncodeClusterInfo(c, 0))),
            "ClusterInfo.name 'east' does not match the key's cluster 'west'");
  c.id = 0;
  EXPECT_EQ(msg(DecodeClusterInfo("east", EncodeClusterInfo(c, 0))),
            "ClusterInfo.id 0 out of range 1..16777215");
  c.id = 7;
  c.gateway = Ip("172.16.7.1");
  EXPECT_EQ(msg(DecodeClusterInfo("east", EncodeClusterInfo(c, 0))),
            "ClusterInfo: exactly one of gateway and tunnel_endpoints must be set");

  v1::ClusterInfo bad_cidr;
  bad_cidr.set_id(3);
  bad_cidr.set_name("east");
  bad_cidr.add_pod_cidrs("10.7.0.1/16");
  EXPECT_EQ(msg(DecodeClusterInfo("east", bad_cidr.SerializeAsString())),
            "ClusterInfo.pod_cidrs[0]: '10.7.0.1/16' is not an IPv4 CIDR with zero host bits");

  model::ExportedService e = Export("east", "web", 1);
  EXPECT_EQ(msg(DecodeExportedService("east", {"shop", "api"}, EncodeExportedService(e))),
            "ExportedService is shop/web but the key names shop/api");
  e.ports.push_back({"http", model::Protocol::kUdp, 81});
  EXPECT_EQ(msg(DecodeExportedService("east", {"shop", "web"}, EncodeExportedService(e))),
            "ExportedService.ports[1]: duplicate port name 'http'");
  e.ports = {{"http", model::Protocol::kTcp, 80}};
  e.endpoints.push_back(
      {.address = Ip("10.7.1.10"), .ports = {{"http", model::Protocol::kTcp, 0}}});
  EXPECT_EQ(msg(DecodeExportedService("east", {"shop", "web"}, EncodeExportedService(e))),
            "ExportedService.endpoints[0].ports[0]: port 0 out of range");

  v1::ServiceImportRecord bad_ip;
  bad_ip.set_namespace_("shop");
  bad_ip.set_name("web");
  bad_ip.set_clusterset_ip("10.255.0.300");
  EXPECT_EQ(msg(DecodeImportRecord({"shop", "web"}, bad_ip.SerializeAsString())),
            "ServiceImportRecord.clusterset_ip: '10.255.0.300' is not an IPv4 address");
}

TEST(RecordsTest, SctpPortsRoundTrip) {
  auto e = Export("east", "web", 1, {{"sig", model::Protocol::kSctp, 3868}});
  auto back = DecodeExportedService("east", {"shop", "web"}, EncodeExportedService(e));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->ports[0].protocol, model::Protocol::kSctp);
}

TEST(RecordsTest, DecisionRoundTripsAndRejectsBadClusterNames) {
  model::PropagationDecision d{.service = {"shop", "web"},
                               .replicas_per_cluster = {{"c1", 6}, {"c2", 3}, {"c3", 1}},
                               .generation = 7};
  auto back = DecodeDecision({"shop", "web"}, EncodeDecision(d));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, d);
  EXPECT_EQ(back->TotalReplicas(), 10u);
  auto msg = [](const auto& r) { return r.ok() ? std::string("ok") : r.error().message; };
  EXPECT_EQ(msg(DecodeDecision({"shop", "api"}, EncodeDecision(d))),
            "PropagationDecision is shop/web but the key names shop/api");
  d.replicas_per_cluster = {{"Bad_Name", 1}};
  EXPECT_EQ(msg(DecodeDecision({"shop", "web"}, EncodeDecision(d))),
            "PropagationDecision.replicas_per_cluster: 'Bad_Name' is not a cluster name (an RFC "
            "1123 label)");
  // Protobuf itself refuses a map key that is not UTF-8, and an import
  // record's address where the map belongs.
  d.replicas_per_cluster = {{"bad\xff", 1}};
  EXPECT_EQ(msg(DecodeDecision({"shop", "web"}, EncodeDecision(d))),
            "not a meridian.v1.PropagationDecision: the bytes do not parse as Protobuf");
  EXPECT_EQ(
      msg(DecodeDecision({"shop", "web"}, EncodeImportRecord({"shop", "web"}, Ip("10.0.0.1")))),
      "not a meridian.v1.PropagationDecision: the bytes do not parse as Protobuf");
}

TEST(RegistryKeysTest, BuildsAndParsesEveryShape) {
  EXPECT_EQ(ClusterInfoKey("east"), "/meridian/v1/clusters/east/info");
  EXPECT_EQ(ExportKey("east", {"shop", "web"}), "/meridian/v1/clusters/east/exports/shop/web");
  EXPECT_EQ(ImportKey({"shop", "web"}), "/meridian/v1/imports/shop/web");
  EXPECT_EQ(DecisionKey({"shop", "web"}), "/meridian/v1/decisions/shop/web");
  EXPECT_TRUE(std::holds_alternative<DecisionKeyParts>(*ParseKey(DecisionKey({"shop", "web"}))));
  auto info = ParseKey("/meridian/v1/clusters/east/info");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(std::get<ClusterInfoKeyParts>(*info).cluster, "east");
  auto exp = ParseKey("/meridian/v1/clusters/east/exports/shop/web");
  ASSERT_TRUE(exp.ok());
  EXPECT_EQ(std::get<ExportKeyParts>(*exp).service, (model::ObjectKey{"shop", "web"}));
  auto imp = ParseKey("/meridian/v1/imports/shop/web");
  ASSERT_TRUE(imp.ok());
  EXPECT_EQ(std::get<ImportKeyParts>(*imp).service, (model::ObjectKey{"shop", "web"}));
  for (const char* bad :
       {"/meridian/v1/clusters/east/exports/shop", "/meridian/v1/imports/shop",
        "/meridian/v1/clusters/east/infox", "/other/v1/imports/a/b", "/meridian/v1/imports//b"}) {
    auto r = ParseKey(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message.rfind(std::string("unexpected registry key '") + bad + "'", 0), 0u)
        << r.error().message;
  }
}

}  // namespace
}  // namespace meridian::mcs
