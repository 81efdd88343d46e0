#include "mcs/clusterset_view.h"

#include <gtest/gtest.h>

#include "mcs/records.h"
#include "mcs/registry_keys.h"
#include "mcs_fixtures.h"

namespace meridian::mcs {
namespace {

using namespace test_support;

registry::KeyValue Info(const model::Cluster& c, std::int64_t rev) {
  return {ClusterInfoKey(c.meta.key.name), EncodeClusterInfo(c, 0), rev};
}

TEST(ClusterSetViewTest, DecodesClustersExportsAndIps) {
  auto east = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  auto west = Cluster("west", 2, "10.2.0.0/16", "172.16.2.11");
  auto web = Export("west", "web", 5);
  std::vector<registry::KeyValue> records = {
      Info(east, 1),
      Info(west, 2),
      {ExportKey("west", {"shop", "web"}), EncodeExportedService(web), 3},
      {ImportKey({"shop", "web"}), EncodeImportRecord({"shop", "web"}, Ip("10.255.0.1")), 4},
  };
  auto view = BuildClusterSetView(records, {});
  EXPECT_TRUE(view.rejected.empty());
  ASSERT_EQ(view.clusters.size(), 2u);
  EXPECT_EQ(view.clusters[0].meta.key.name, "east");
  ASSERT_EQ(view.exports.size(), 1u);
  EXPECT_EQ(view.exports[0], web);
  EXPECT_EQ(view.clusterset_ips.at({"shop", "web"}), Ip("10.255.0.1"));
  EXPECT_TRUE(view.decisions.empty());
}

// Decisions are read (agents weight traffic by them); a bad one is
// rejected with its reason and the others stay.
TEST(ClusterSetViewTest, DecodesDecisionsAndRejectsBadOnes) {
  model::PropagationDecision good{.service = {"shop", "web"},
                                  .replicas_per_cluster = {{"east", 6}, {"west", 3}},
                                  .generation = 2};
  model::PropagationDecision bad{.service = {"shop", "db"}, .replicas_per_cluster = {{"-x", 1}}};
  std::vector<registry::KeyValue> records = {
      Info(Cluster("east", 1, "10.1.0.0/16", "172.16.1.11"), 1),
      {DecisionKey({"shop", "web"}), EncodeDecision(good), 2},
      {DecisionKey({"shop", "db"}), EncodeDecision(bad), 3},
      {DecisionKey({"shop", "api"}), "\x01\x02", 4},
  };
  auto view = BuildClusterSetView(records, {});
  ASSERT_EQ(view.decisions.size(), 1u);
  EXPECT_EQ(view.decisions.at({"shop", "web"}), good);
  ASSERT_EQ(view.rejected.size(), 2u);
  EXPECT_EQ(view.rejected[0].key, "/meridian/v1/decisions/shop/api");
  EXPECT_EQ(view.rejected[1].key, "/meridian/v1/decisions/shop/db");
  EXPECT_EQ(view.rejected[1].reason,
            "PropagationDecision.replicas_per_cluster: '-x' is not a cluster name (an RFC 1123 "
            "label)");
}

// Bad records are set aside one by one, each with its reason; the rest of
// the ClusterSet keeps working.
TEST(ClusterSetViewTest, RejectsBadRecordsAndLaterClashingClusters) {
  auto east = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  auto same_id = Cluster("evil", 1, "10.9.0.0/16", "172.16.9.11");
  auto overlap = Cluster("late", 3, "10.1.128.0/17", "172.16.3.11");
  auto good = Cluster("west", 2, "10.2.0.0/16", "172.16.2.11");
  std::vector<registry::KeyValue> records = {
      Info(east, 1),
      Info(same_id, 5),
      Info(overlap, 6),
      Info(good, 7),
      {ClusterInfoKey("junk"), "\xff\xfe garbage", 8},
      {ExportKey("ghost", {"shop", "web"}), EncodeExportedService(Export("ghost", "web", 1)), 9},
      {ExportKey("west", {"shop", "bad"}), "\x01\x02", 10},
      {ExportKey("west", {"shop", "web"}), EncodeExportedService(Export("west", "web", 1)), 11},
      {"/meridian/v1/clusters/west/exports/shop", "x", 12},
  };
  auto view = BuildClusterSetView(records, {});
  ASSERT_EQ(view.clusters.size(), 2u);
  EXPECT_EQ(view.clusters[0].meta.key.name, "east");
  EXPECT_EQ(view.clusters[1].meta.key.name, "west");
  ASSERT_EQ(view.exports.size(), 1u);
  EXPECT_EQ(view.exports[0].service.name, "web");
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& r : view.rejected) got.emplace_back(r.key, r.reason);
  std::vector<std::pair<std::string, std::string>> want = {
      {"/meridian/v1/clusters/evil/info",
       "cluster id 1 of cluster evil is already used by cluster east"},
      {"/meridian/v1/clusters/ghost/exports/shop/web", "cluster ghost has no accepted info record"},
      {"/meridian/v1/clusters/junk/info",
       "not a meridian.v1.ClusterInfo: the bytes do not parse as Protobuf"},
      {"/meridian/v1/clusters/late/info",
       "pod CIDR 10.1.128.0/17 of cluster late overlaps 10.1.0.0/16 of cluster east"},
      {"/meridian/v1/clusters/west/exports/shop",
       ParseKey("/meridian/v1/clusters/west/exports/shop").error().message},
      {"/meridian/v1/clusters/west/exports/shop/bad",
       "not a meridian.v1.ExportedService: the bytes do not parse as Protobuf"},
  };
  EXPECT_EQ(got, want);
}

TEST(ClusterSetViewTest, StaticClustersWinAndMayBeRepeatedInTheRegistry) {
  auto east = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  auto impostor = Cluster("other", 1, "10.5.0.0/16", "172.16.5.11");
  auto view = BuildClusterSetView({Info(east, 1), Info(impostor, 2)}, {east});
  ASSERT_EQ(view.clusters.size(), 1u);
  ASSERT_EQ(view.rejected.size(), 1u);
  EXPECT_EQ(view.rejected[0].key, "/meridian/v1/clusters/other/info");
}

// The cache decodes a record once per revision: a new value under the same
// revision (impossible in a real registry) proves the second call did not
// decode; a new revision does.
TEST(ClusterSetViewTest, RecordCacheDecodesOncePerRevision) {
  auto east = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  RecordCache cache;
  auto first = BuildClusterSetView({Info(east, 1)}, {}, &cache);
  ASSERT_EQ(first.clusters.size(), 1u);
  registry::KeyValue same_rev{ClusterInfoKey("east"), "garbage", 1};
  auto cached = BuildClusterSetView({same_rev}, {}, &cache);
  EXPECT_EQ(cached.clusters.size(), 1u);
  EXPECT_TRUE(cached.rejected.empty());
  registry::KeyValue new_rev{ClusterInfoKey("east"), "garbage", 2};
  auto fresh = BuildClusterSetView({new_rev}, {}, &cache);
  EXPECT_TRUE(fresh.clusters.empty());
  ASSERT_EQ(fresh.rejected.size(), 1u);
  // Gone from the records: forgotten, so an old revision decodes again.
  BuildClusterSetView({}, {}, &cache);
  auto again = BuildClusterSetView({Info(east, 1)}, {}, &cache);
  EXPECT_EQ(again.clusters.size(), 1u);
}

}  // namespace
}  // namespace meridian::mcs
