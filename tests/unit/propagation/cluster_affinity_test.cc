// Karmada's cluster affinity (util.ClusterMatches) and candidate order.
#include "propagation/cluster_affinity.h"

#include <gtest/gtest.h>

namespace meridian::propagation {
namespace {

using Op = Requirement::Op;

MemberCluster Cluster(std::string name, std::string region = "",
                      std::vector<std::string> zones = {},
                      std::map<std::string, std::string> labels = {}) {
  return {.name = std::move(name),
          .labels = std::move(labels),
          .provider = "aws",
          .region = std::move(region),
          .zones = std::move(zones)};
}

TEST(ClusterAffinityTest, EmptyAffinityMatchesEveryCluster) {
  EXPECT_TRUE(Matches(ClusterAffinity{}, Cluster("m1")));
}

TEST(ClusterAffinityTest, NamesExcludeLabelsAndFields) {
  const auto m1 = Cluster("m1", "eu", {"eu-1a"}, {{"env", "prod"}});
  const auto m2 = Cluster("m2", "us", {"us-1a", "us-1b"}, {{"env", "dev"}});
  const auto m3 = Cluster("m3");  // no region, no zones, no labels
  ClusterAffinity names{.cluster_names = {"m1", "m3"}};
  EXPECT_TRUE(Matches(names, m1));
  EXPECT_FALSE(Matches(names, m2));
  ClusterAffinity excluded{.cluster_names = {"m1"}, .exclude = {"m1"}};
  EXPECT_FALSE(Matches(excluded, m1)) << "exclude wins over clusterNames";

  ClusterAffinity prod{.label_selector = LabelSelector{.match_labels = {{"env", "prod"}}}};
  EXPECT_TRUE(Matches(prod, m1));
  EXPECT_FALSE(Matches(prod, m2));
  EXPECT_FALSE(Matches(prod, m3));
  ClusterAffinity not_dev{.label_selector =
                              LabelSelector{.match_expressions = {{"env", Op::kNotIn, {"dev"}}}}};
  EXPECT_TRUE(Matches(not_dev, m1));
  EXPECT_FALSE(Matches(not_dev, m2));
  EXPECT_TRUE(Matches(not_dev, m3)) << "NotIn holds for a missing label";
  ClusterAffinity has_env{.label_selector =
                              LabelSelector{.match_expressions = {{"env", Op::kExists, {}}}}};
  EXPECT_FALSE(Matches(has_env, m3));

  ClusterAffinity eu{.field_expressions = {{"region", Op::kIn, {"eu"}}}};
  EXPECT_TRUE(Matches(eu, m1));
  EXPECT_FALSE(Matches(eu, m2));
  EXPECT_FALSE(Matches(eu, m3)) << "no region: In fails";
  ClusterAffinity not_eu{.field_expressions = {{"region", Op::kNotIn, {"eu"}}}};
  EXPECT_TRUE(Matches(not_eu, m3));
  ClusterAffinity aws{.field_expressions = {{"provider", Op::kIn, {"aws"}}}};
  EXPECT_TRUE(Matches(aws, m2));
}

TEST(ClusterAffinityTest, ZonesMatchWhenAnyZoneIsListed) {
  const auto m2 = Cluster("m2", "us", {"us-1a", "us-1b"});
  EXPECT_TRUE(Matches(ClusterAffinity{.field_expressions = {{"zone", Op::kIn, {"us-1b"}}}}, m2));
  EXPECT_FALSE(
      Matches(ClusterAffinity{.field_expressions = {{"zone", Op::kNotIn, {"us-1b"}}}}, m2));
  EXPECT_FALSE(Matches(ClusterAffinity{.field_expressions = {{"zone", Op::kIn, {"eu-1a"}}}}, m2));
  EXPECT_TRUE(Matches(ClusterAffinity{.field_expressions = {{"zone", Op::kExists, {}}}}, m2));
  EXPECT_TRUE(Matches(ClusterAffinity{.field_expressions = {{"zone", Op::kDoesNotExist, {}}}},
                      Cluster("m3")));
}

TEST(ClusterAffinityTest, CandidatesOrderedByPlacementCapacityAndName) {
  std::vector<MemberCluster> clusters = {Cluster("b"), Cluster("a"), Cluster("c"), Cluster("d")};
  clusters[0].available_replicas = 5;  // b
  clusters[1].available_replicas = 5;  // a
  clusters[2].available_replicas = 9;  // c
  // d: unknown capacity counts as the workload's 6 replicas.
  auto names = [](const std::vector<RankedCluster>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c.cluster.name);
    return out;
  };
  EXPECT_EQ(names(RankCandidates(clusters, {}, 6)), (std::vector<std::string>{"c", "d", "a", "b"}));
  // b already runs 2 replicas: placed first, whatever its capacity.
  EXPECT_EQ(names(RankCandidates(clusters, {{"b", 2}}, 6)),
            (std::vector<std::string>{"b", "c", "d", "a"}));
}

}  // namespace
}  // namespace meridian::propagation
