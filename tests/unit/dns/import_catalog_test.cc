// BuildDnsCatalog: merged ServiceImports -> what the DNS server answers.
#include "dns/import_catalog.h"

#include <gtest/gtest.h>

#include "dns/dns_resolver.h"

namespace meridian::dns {
namespace {

model::Ipv4Address Ip(const char* s) { return *model::Ipv4Address::Parse(s); }

model::ExportedEndpoint Ep(const char* ip, const char* hostname, bool ready = true) {
  model::ExportedEndpoint e;
  e.address = Ip(ip);
  e.hostname = hostname;
  e.conditions.ready = ready;
  return e;
}

model::ServiceImport HeadlessDb() {
  model::ServiceImport imp;
  imp.key = {.ns = "demo", .name = "db"};
  imp.type = model::ImportType::kHeadless;
  imp.ports = {{.name = "pg", .protocol = model::Protocol::kTcp, .port = 5432}};
  imp.clusterset_ip = Ip("10.255.0.9");  // must be ignored for headless
  model::ExportedService c1{
      .cluster = "c1", .service = imp.key, .type = model::ImportType::kHeadless};
  c1.endpoints = {Ep("10.1.1.10", "db-0"), Ep("10.1.1.11", "db-1", /*ready=*/false)};
  model::ExportedService c2{
      .cluster = "c2", .service = imp.key, .type = model::ImportType::kHeadless};
  c2.endpoints = {Ep("10.2.1.10", "db-0")};
  // A ClusterSetIP export of the same name lost the type conflict: its pods
  // are not named.
  model::ExportedService c3{.cluster = "c3", .service = imp.key};
  c3.endpoints = {Ep("10.3.1.10", "db-0")};
  imp.exports = {c1, c2, c3};
  return imp;
}

TEST(ImportCatalogTest, ClusterSetIpImportCarriesVipAndPorts) {
  model::ServiceImport web;
  web.key = {.ns = "demo", .name = "web"};
  web.clusterset_ip = Ip("10.255.0.1");
  web.ports = {{.name = "http", .protocol = model::Protocol::kTcp, .port = 80},
               {.name = "", .protocol = model::Protocol::kUdp, .port = 53}};
  model::ExportedService c1{.cluster = "c1", .service = web.key};
  c1.endpoints = {Ep("10.1.1.10", "web-0")};
  web.exports = {c1};

  auto catalog = BuildDnsCatalog({web}, 42);
  EXPECT_EQ(catalog.serial(), 42u);
  const DnsImport* d = catalog.Find("Demo", "WEB");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->headless);
  ASSERT_TRUE(d->clusterset_ip);
  EXPECT_EQ(d->clusterset_ip->ToString(), "10.255.0.1");
  ASSERT_EQ(d->ports.size(), 2u);
  EXPECT_EQ(d->ports[0].name, "http");
  EXPECT_EQ(d->ports[0].port, 80);
  EXPECT_EQ(d->ports[1].protocol, model::Protocol::kUdp);
  EXPECT_TRUE(d->endpoints.empty()) << "ClusterSetIP imports answer with the VIP only";
}

TEST(ImportCatalogTest, HeadlessImportNamesEndpointsByCluster) {
  auto catalog = BuildDnsCatalog({HeadlessDb()}, 1);
  const DnsImport* d = catalog.Find("demo", "db");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->headless);
  EXPECT_FALSE(d->clusterset_ip);
  ASSERT_EQ(d->endpoints.size(), 3u);
  EXPECT_EQ(d->endpoints[0].cluster, "c1");
  EXPECT_EQ(d->endpoints[0].hostname, "db-0");
  EXPECT_TRUE(d->endpoints[0].ready);
  EXPECT_FALSE(d->endpoints[1].ready);
  EXPECT_EQ(d->endpoints[2].cluster, "c2");
  EXPECT_EQ(d->endpoints[2].address.ToString(), "10.2.1.10");
}

TEST(ImportCatalogTest, ResolverAnswersFromBuiltCatalog) {
  auto catalog = BuildDnsCatalog({HeadlessDb()}, 1);
  DnsQuestion q{DnsName::FromDotted("db-0.c2.db.demo.svc.clusterset.local"), rr::kA, rr::kClassIn};
  auto answer = Resolve(catalog, q, {});
  EXPECT_EQ(answer.rcode, Rcode::kNoError);
  ASSERT_EQ(answer.answers.size(), 1u);
  q.name = DnsName::FromDotted("db-0.c3.db.demo.svc.clusterset.local");  // the conflicting export
  EXPECT_EQ(Resolve(catalog, q, {}).rcode, Rcode::kNxDomain);
  q.name = DnsName::FromDotted(
      "db.demo.svc.clusterset.local");  // ready endpoints only: c1 db-0, c2 db-0
  EXPECT_EQ(Resolve(catalog, q, {}).answers.size(), 2u);
}

}  // namespace
}  // namespace meridian::dns
