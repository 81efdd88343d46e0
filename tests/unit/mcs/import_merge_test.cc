#include "mcs/import_merge.h"

#include <gtest/gtest.h>

#include "mcs_fixtures.h"

namespace meridian::mcs {
namespace {

using namespace test_support;
using model::Protocol;

TEST(ImportMergeTest, OneImportPerServiceWithPortUnionAndIp) {
  auto a = Export("east", "web", 100, {{"http", Protocol::kTcp, 80}});
  auto b =
      Export("west", "web", 200, {{"http", Protocol::kTcp, 80}, {"grpc", Protocol::kTcp, 9000}});
  auto c = Export("west", "db", 50);
  auto imports = MergeImports({a, b, c}, {{{"shop", "web"}, Ip("10.255.0.1")}});
  ASSERT_EQ(imports.size(), 2u);
  EXPECT_EQ(imports[0].key.name, "db");
  EXPECT_FALSE(imports[0].clusterset_ip.has_value());  // not allocated yet
  const auto& web = imports[1];
  EXPECT_EQ(web.clusterset_ip, Ip("10.255.0.1"));
  EXPECT_EQ(web.Clusters(), (std::vector<std::string>{"east", "west"}));
  EXPECT_EQ(web.ports, (std::vector<model::ExportedPort>{{"grpc", Protocol::kTcp, 9000},
                                                         {"http", Protocol::kTcp, 80}}));
  EXPECT_TRUE(web.conflicts.empty());
}

TEST(ImportMergeTest, OldestExportWinsEveryConflict) {
  auto old_one =
      Export("west", "web", 100, {{"http", Protocol::kTcp, 80}, {"dns", Protocol::kUdp, 53}});
  auto young =
      Export("east", "web", 200, {{"http", Protocol::kTcp, 8080}, {"domain", Protocol::kUdp, 53}});
  young.type = model::ImportType::kHeadless;
  young.session_affinity = model::SessionAffinity::kClientIP;
  auto imports = MergeImports({young, old_one}, {{{"shop", "web"}, Ip("10.255.0.9")}});
  ASSERT_EQ(imports.size(), 1u);
  const auto& web = imports[0];
  EXPECT_EQ(web.type, model::ImportType::kClusterSetIP);
  EXPECT_EQ(web.session_affinity, model::SessionAffinity::kNone);
  EXPECT_EQ(web.clusterset_ip, Ip("10.255.0.9"));
  EXPECT_EQ(web.Clusters(), (std::vector<std::string>{"west", "east"}));
  EXPECT_EQ(web.ports, (std::vector<model::ExportedPort>{{"dns", Protocol::kUdp, 53},
                                                         {"http", Protocol::kTcp, 80}}));
  std::vector<model::ExportConflict> want = {
      {"east", kTypeConflict,
       "type Headless conflicts with ClusterSetIP of the oldest export (cluster west)"},
      {"east", kSessionAffinityConflict,
       "session affinity ClientIP conflicts with None of the oldest export (cluster west)"},
      {"east", kPortConflict,
       "port http is 8080/TCP here but 80/TCP in the older export of cluster west"},
      {"east", kPortConflict,
       "53/UDP is named domain here but dns in the older export of cluster west"},
  };
  EXPECT_EQ(web.conflicts, want);
}

TEST(ImportMergeTest, TiesOnCreationTimeBreakByClusterName) {
  auto b = Export("b", "web", 100, {{"http", Protocol::kTcp, 81}});
  auto a = Export("a", "web", 100, {{"http", Protocol::kTcp, 80}});
  for (auto order : {std::vector{a, b}, std::vector{b, a}}) {
    auto imports = MergeImports(order, {});
    ASSERT_EQ(imports.size(), 1u);
    EXPECT_EQ(imports[0].ports, (std::vector<model::ExportedPort>{{"http", Protocol::kTcp, 80}}));
    ASSERT_EQ(imports[0].conflicts.size(), 1u);
    EXPECT_EQ(imports[0].conflicts[0].cluster, "b");
  }
}

TEST(ImportMergeTest, HeadlessImportNeverGetsAnIp) {
  auto h = Export("east", "db", 1);
  h.type = model::ImportType::kHeadless;
  auto imports = MergeImports({h}, {{{"shop", "db"}, Ip("10.255.0.3")}});
  ASSERT_EQ(imports.size(), 1u);
  EXPECT_FALSE(imports[0].clusterset_ip.has_value());
}

}  // namespace
}  // namespace meridian::mcs
