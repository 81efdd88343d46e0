#include "mcs/export_builder.h"

#include <gtest/gtest.h>

#include "mcs_fixtures.h"

namespace meridian::mcs {
namespace {

using namespace test_support;
using model::Protocol;

model::ResourceSnapshot Snapshot() {
  model::ResourceSnapshot s;
  model::Service web;
  web.meta.key = {"shop", "web"};
  web.meta.annotations = {{"service.meridian.io/global", "true"}, {"other/x", "y"}};
  web.global = true;  // as the decoder sets it from the annotation
  web.cluster_ip = Ip("10.96.0.10");
  web.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80}};
  s.services.push_back(web);
  model::Service db;
  db.meta.key = {"shop", "db"};
  s.services.push_back(db);  // headless
  model::EndpointSlice slice;
  slice.meta.key = {"shop", "web-1"};
  slice.service_name = "web";
  slice.ports = {{"http", Protocol::kTcp, 8080}};
  model::Endpoint ep;
  ep.addresses = {Ip("10.1.1.10")};
  ep.node_name = "n1";
  ep.conditions.ready = false;
  slice.endpoints.push_back(ep);
  s.endpoint_slices.push_back(slice);
  model::ServiceExport se;
  se.meta.key = {"shop", "web"};
  se.meta.creation_timestamp = "2024-05-01T10:00:00.250Z";
  s.service_exports.push_back(se);
  model::ServiceExport se_db;
  se_db.meta.key = {"shop", "db"};
  s.service_exports.push_back(se_db);
  model::ServiceExport orphan;
  orphan.meta.key = {"shop", "ghost"};
  s.service_exports.push_back(orphan);
  return s;
}

TEST(ExportBuilderTest, ExportsOnlyServicesWithAServiceExport) {
  auto snap = Snapshot();
  model::Service unexported;
  unexported.meta.key = {"shop", "secret"};
  unexported.cluster_ip = Ip("10.96.0.99");
  snap.services.push_back(unexported);
  auto built = BuildExports(snap, "east", {{{"shop", "db"}, 777}});
  ASSERT_EQ(built.exports.size(), 2u);
  const auto& db = built.exports[0];
  EXPECT_EQ(db.service.name, "db");
  EXPECT_EQ(db.type, model::ImportType::kHeadless);
  EXPECT_EQ(db.export_creation_ms, 777);  // no timestamp: first-seen time
  const auto& web = built.exports[1];
  EXPECT_EQ(web.cluster, "east");
  EXPECT_EQ(web.type, model::ImportType::kClusterSetIP);
  EXPECT_EQ(web.export_creation_ms, 1714557600250);
  EXPECT_EQ(web.ports, (std::vector<model::ExportedPort>{{"http", Protocol::kTcp, 80}}));
  // Rebuilt from the decoded fields: only Meridian's, and what was validated.
  EXPECT_EQ(web.annotations,
            (std::map<std::string, std::string>{{"service.meridian.io/affinity", "local"},
                                                {"service.meridian.io/global", "true"}}));
  ASSERT_EQ(web.endpoints.size(), 1u);
  EXPECT_EQ(web.endpoints[0].address, Ip("10.1.1.10"));
  EXPECT_EQ(web.endpoints[0].node, "n1");
  EXPECT_FALSE(web.endpoints[0].conditions.ready);
  EXPECT_EQ(web.endpoints[0].ports,
            (std::vector<model::EndpointPort>{{"http", Protocol::kTcp, 8080}}));
  ASSERT_EQ(built.problems.size(), 1u);
  EXPECT_EQ(built.problems[0].reason, "NoService");
  EXPECT_EQ(built.problems[0].message, "ServiceExport shop/ghost has no Service of the same name");
}

// KEP-1645: ExternalName cannot be exported. Before this check it was
// published as Headless and, being the older export, won the TypeConflict
// against another cluster's valid ClusterIP export of the same name.
TEST(ExportBuilderTest, ExternalNameIsInvalidAndNotPublished) {
  auto snap = Snapshot();
  model::Service ext;
  ext.meta.key = {"shop", "ext"};
  ext.type = model::ServiceType::kExternalName;
  snap.services.push_back(ext);
  model::ServiceExport se;
  se.meta.key = {"shop", "ext"};
  se.meta.creation_timestamp = "2020-01-01T00:00:00Z";  // older than any other export
  snap.service_exports.push_back(se);
  auto built = BuildExports(snap, "east", {});
  for (const auto& e : built.exports) EXPECT_NE(e.service.name, "ext");
  ASSERT_EQ(built.problems.size(), 2u);
  EXPECT_EQ(built.problems[0].reason, "NoService");  // shop/ghost, listed before ext
  EXPECT_EQ(built.problems[1].service, (model::ObjectKey{"shop", "ext"}));
  EXPECT_EQ(built.problems[1].reason, "InvalidServiceType");
  EXPECT_EQ(built.problems[1].message,
            "ServiceExport shop/ext: Service shop/ext is of type ExternalName, which cannot be "
            "exported; it is not published");
}

TEST(ExportBuilderTest, ParsesRfc3339) {
  EXPECT_EQ(ParseRfc3339Ms("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseRfc3339Ms("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseRfc3339Ms("1970-01-01T00:00:00.5Z"), 500);
  for (const char* bad : {"", "1970-01-01", "1970-01-01T00:00:00", "1970-13-01T00:00:00Z",
                          "1970-01-01T00:00:00.Z", "1970-01-01T00:00:00Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339Ms(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace meridian::mcs
