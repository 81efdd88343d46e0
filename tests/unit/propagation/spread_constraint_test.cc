// Spread constraints and taints, as Karmada's scheduler applies them. The
// SelectBestClusters and selectBestClustersByRegion cases are Karmada's
// own (spreadconstraint/select_clusters_test.go and
// select_clusters_by_region_test.go), rewritten with their inputs and
// expected selections.
#include "propagation/spread_constraint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "propagation/scheduler.h"
#include "propagation/select_groups.h"
#include "propagation/taint_toleration.h"

namespace meridian::propagation {
namespace {

RankedCluster Ranked(const std::string& name, std::int64_t score, std::int64_t available,
                     const std::string& region = "") {
  RankedCluster r;
  r.cluster.name = name;
  r.cluster.region = region;
  r.score = score;
  r.available = available;
  return r;
}

std::vector<std::string> Names(const std::vector<RankedCluster>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.cluster.name);
  return out;
}

using Names_ = std::vector<std::string>;

// TestSelectBestClusters: four clusters in Karmada's candidate order
// (score 60/40/30/20, available 50/60/80/40), a cluster constraint of at
// most two.
std::vector<RankedCluster> KarmadaClusterScores() {
  return {Ranked("member4", 60, 50), Ranked("member2", 40, 60), Ranked("member3", 30, 80),
          Ranked("member1", 20, 40)};
}

TEST(SpreadConstraintTest, KarmadaSelectBestClustersCases) {
  const std::vector<SpreadConstraint> two = {
      {.field = SpreadField::kCluster, .min_groups = 1, .max_groups = 2}};
  // No replicaScheduling (Duplicated): by score, capacity ignored.
  auto by_score = SelectBestClusters(two, Strategy::kDuplicated, 100, KarmadaClusterScores());
  ASSERT_TRUE(by_score.ok()) << by_score.error().message;
  EXPECT_EQ(Names(*by_score), (Names_{"member4", "member2"}));
  auto duplicated = SelectBestClusters(two, Strategy::kDuplicated, 120, KarmadaClusterScores());
  ASSERT_TRUE(duplicated.ok());
  EXPECT_EQ(Names(*duplicated), (Names_{"member4", "member2"}));
  // Static weights ignore spread constraints: every candidate.
  auto weighted = SelectBestClusters(two, Strategy::kStaticWeight, 120, KarmadaClusterScores());
  ASSERT_TRUE(weighted.ok());
  EXPECT_EQ(Names(*weighted), (Names_{"member4", "member2", "member3", "member1"}));
  // Divided: 50+60 < 120, so member2 gives way to member3 (80).
  auto enough = SelectBestClusters(two, Strategy::kDynamicWeight, 120, KarmadaClusterScores());
  ASSERT_TRUE(enough.ok());
  EXPECT_EQ(Names(*enough), (Names_{"member4", "member3"}));
  auto short_of = SelectBestClusters(two, Strategy::kDynamicWeight, 200, KarmadaClusterScores());
  ASSERT_FALSE(short_of.ok());
  EXPECT_EQ(short_of.error().message, "no enough resource when selecting 2 clusters");
  auto seven =
      SelectBestClusters({{.field = SpreadField::kCluster, .min_groups = 7, .max_groups = 7}},
                         Strategy::kDuplicated, 30, KarmadaClusterScores());
  ASSERT_FALSE(seven.ok());
  EXPECT_EQ(seven.error().message,
            "the number of feasible clusters is less than spreadConstraint.MinGroups");
}

// The source comment's example: scores 60/50/40, available 40/30/60, two
// clusters for 80 replicas: member1 and member3.
TEST(SpreadConstraintTest, ByClusterSwapsTheLastForTheMostCapacity) {
  auto r = SelectByCluster(
      {.min_groups = 1, .max_groups = 2},
      {Ranked("member1", 60, 40), Ranked("member2", 50, 30), Ranked("member3", 40, 60)}, 80);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Names(*r), (Names_{"member1", "member3"}));
  // maxGroups 0 (unset) selects nothing, as in Karmada.
  auto none = SelectByCluster({.min_groups = 1, .max_groups = 0}, {Ranked("member1", 0, 40)}, 1);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "no enough resource when selecting 0 clusters");
}

RegionGroup Region(const std::string& name, std::int64_t score, std::vector<RankedCluster> c) {
  return {name, score, std::move(c)};
}

TEST(SpreadConstraintTest, KarmadaSelectByRegionCases) {
  const std::vector<RegionGroup> two_regions = {
      Region("R1", 100, {Ranked("member1", 100, 40), Ranked("member2", 80, 40)}),
      Region("R2", 80,
             {Ranked("member3", 80, 40), Ranked("member4", 80, 40), Ranked("member5", 60, 40)})};
  // The region with the higher score.
  auto higher = SelectByRegion({.min_groups = 1, .max_groups = 1},
                               {.min_groups = 2, .max_groups = 2}, two_regions);
  ASSERT_TRUE(higher.ok()) << higher.error().message;
  EXPECT_EQ(Names(*higher), (Names_{"member1", "member2"}));
  // The region with enough clusters.
  auto enough = SelectByRegion({.min_groups = 1, .max_groups = 1},
                               {.min_groups = 3, .max_groups = 3}, two_regions);
  ASSERT_TRUE(enough.ok());
  EXPECT_EQ(Names(*enough), (Names_{"member3", "member4", "member5"}));

  // Enough clusters and a higher score over two regions.
  const std::vector<RegionGroup> four = {
      Region("R1", 90, {Ranked("member1", 90, 40)}),
      Region("R2", 70,
             {Ranked("member2", 70, 40), Ranked("member3", 60, 40), Ranked("member4", 30, 40)}),
      Region("R3", 80, {Ranked("member5", 80, 40), Ranked("member6", 50, 60)}),
      Region("R4", 50,
             {Ranked("member7", 50, 50), Ranked("member8", 40, 50), Ranked("member9", 10, 50),
              Ranked("member10", 0, 50)})};
  auto two =
      SelectByRegion({.min_groups = 2, .max_groups = 2}, {.min_groups = 4, .max_groups = 5}, four);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(Names(*two), (Names_{"member1", "member2", "member3", "member4"}));

  // More than minGroups regions.
  const std::vector<RegionGroup> five = {
      Region("R1", 70, {Ranked("member1", 70, 40)}),
      Region("R2", 40,
             {Ranked("member2", 40, 40), Ranked("member3", 40, 40), Ranked("member4", 40, 40)}),
      Region("R3", 60, {Ranked("member5", 60, 40), Ranked("member6", 50, 60)}),
      Region("R4", 70, {Ranked("member7", 70, 100)}),
      Region("R5", 50, {Ranked("member8", 50, 50)})};
  auto more =
      SelectByRegion({.min_groups = 1, .max_groups = 3}, {.min_groups = 6, .max_groups = 8}, five);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(Names(*more),
            (Names_{"member1", "member5", "member2", "member6", "member3", "member4"}));

  auto few_regions = SelectByRegion({.min_groups = 3, .max_groups = 3},
                                    {.min_groups = 3, .max_groups = 3}, two_regions);
  ASSERT_FALSE(few_regions.ok());
  EXPECT_EQ(few_regions.error().message,
            "the number of feasible region is less than spreadConstraint.MinGroups");
  auto few_clusters = SelectByRegion({.min_groups = 1, .max_groups = 1},
                                     {.min_groups = 4, .max_groups = 4}, two_regions);
  ASSERT_FALSE(few_clusters.ok());
  EXPECT_EQ(few_clusters.error().message,
            "the number of clusters is less than the cluster spreadConstraint.MinGroups");
}

// select_groups.go's own example: target 7 over values 2, 3, 6, 7 with
// exactly two groups finds [2,6] [2,7] [3,6] [3,7] [6,7]; with equal
// weights the largest total value wins.
TEST(SpreadConstraintTest, SelectGroupsPrefersWeightThenValueThenAPrefix) {
  auto r = SelectGroups({{"g2", 2, 0}, {"g3", 3, 0}, {"g6", 6, 0}, {"g7", 7, 0}}, 2, 2, 7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<SpreadGroup>{{"g6", 6, 0}, {"g7", 7, 0}}));
  // Weight first: [g2, g7] (weight 10) beats [g6, g7] (weight 2).
  auto w = SelectGroups({{"g2", 2, 9}, {"g3", 3, 0}, {"g6", 6, 1}, {"g7", 7, 1}}, 2, 2, 7);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<SpreadGroup>{{"g2", 2, 9}, {"g7", 7, 1}}));
  // [b, a] weighs more than [b], but [b] alone suffices: fewer groups.
  auto prefix = SelectGroups({{"a", 1, 10}, {"b", 3, 50}}, 1, 2, 2);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(*prefix, (std::vector<SpreadGroup>{{"b", 3, 50}}));
  auto none = SelectGroups({{"a", 1, 10}}, 1, 1, 2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(SpreadConstraintTest, SelectGroupsBoundsTheSearch) {
  std::vector<SpreadGroup> many;
  for (int i = 0; i < 40; ++i) many.push_back({"r" + std::to_string(i), 1, i});
  auto r = SelectGroups(many, 1, 40, 1000);  // unreachable target: every subset is visited
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("combinations of 40 groups"), std::string::npos);
}

TEST(SpreadConstraintTest, GroupScoreWeighsCapacityBeforeScore) {
  // Duplicated, 10 replicas: two clusters can run all of them.
  EXPECT_EQ(GroupScore({Ranked("a", 100, 12), Ranked("b", 0, 10), Ranked("c", 0, 5)}, 10, true, 1),
            2050);
  EXPECT_EQ(GroupScore({Ranked("a", 100, 5)}, 10, true, 1), 0);  // Karmada: a division by zero
  // Divided, 10 replicas over at least 3 groups: target 10/3 + 1 = 4,
  // reached by the first two clusters.
  EXPECT_EQ(GroupScore({Ranked("a", 100, 3), Ranked("b", 0, 2), Ranked("c", 0, 9)}, 10, false, 3),
            4050);
  // Not reached: the capacity there is, and the mean score of all.
  EXPECT_EQ(GroupScore({Ranked("a", 100, 1), Ranked("b", 0, 1)}, 10, false, 3), 2050);
}

TEST(SpreadConstraintTest, FilterNamesTheMissingProperty) {
  MemberCluster c{.name = "m", .provider = "aws"};
  const std::vector<SpreadConstraint> constraints = {{.field = SpreadField::kCluster},
                                                     {.field = SpreadField::kProvider},
                                                     {.field = SpreadField::kZone},
                                                     {.field = SpreadField::kRegion}};
  EXPECT_EQ(MissingSpreadProperty(constraints, c), "didn't have zone property");
  c.zones = {"z1"};
  EXPECT_EQ(MissingSpreadProperty(constraints, c), "didn't have region property");
  c.region = "r1";
  EXPECT_EQ(MissingSpreadProperty(constraints, c), std::nullopt);
}

TEST(TaintTolerationTest, KubernetesMatching) {
  const Taint gpu{"dedicated", "gpu", "NoSchedule"};
  EXPECT_TRUE(Tolerates({.key = "dedicated", .value = "gpu", .effect = "NoSchedule"}, gpu));
  EXPECT_TRUE(Tolerates({.key = "dedicated", .value = "gpu"}, gpu));  // any effect
  EXPECT_FALSE(Tolerates({.key = "dedicated", .value = "cpu"}, gpu));
  EXPECT_FALSE(Tolerates({.key = "dedicated", .value = "gpu", .effect = "NoExecute"}, gpu));
  EXPECT_TRUE(Tolerates({.key = "dedicated", .op = Toleration::Op::kExists}, gpu));
  EXPECT_TRUE(Tolerates({.op = Toleration::Op::kExists}, gpu));  // empty key: every taint
  EXPECT_FALSE(Tolerates({.key = "other", .op = Toleration::Op::kExists}, gpu));
  // PreferNoSchedule never filters; the first untolerated of the others does.
  const std::vector<Taint> taints = {
      {"soft", "", "PreferNoSchedule"}, gpu, {"maintenance", "", "NoExecute"}};
  EXPECT_EQ(UntoleratedTaint(taints, {}), gpu);
  EXPECT_EQ(UntoleratedTaint(taints, {{.key = "dedicated", .op = Toleration::Op::kExists}}),
            (Taint{"maintenance", "", "NoExecute"}));
  EXPECT_EQ(UntoleratedTaint(taints, {{.op = Toleration::Op::kExists}}), std::nullopt);
  EXPECT_EQ(UntoleratedTaintReason(gpu),
            "had untolerated taint {dedicated gpu NoSchedule <nil>}");
}

Workload Web(std::int32_t replicas) {
  return {.api_version = "apps/v1",
          .kind = "Deployment",
          .name = "web",
          .ns = "shop",
          .uid = "4858ca61-3ff8-4095-8267-f3d059d8074c",
          .replicas = replicas};
}

Policy WebPolicy() {
  Policy p{.name = "web", .ns = "shop"};
  p.selectors.push_back({.api_version = "apps/v1", .kind = "Deployment", .name = "web"});
  return p;
}

MemberCluster Member(const std::string& name, const std::string& region, std::int32_t available) {
  return {.name = name, .region = region, .available_replicas = available};
}

// The whole pipeline: the filter drops the cluster with no region, the
// region r1 alone holds the two clusters wanted, the division follows.
TEST(SpreadConstraintTest, ScheduleSpreadsByRegionThenDivides) {
  Policy p = WebPolicy();
  p.strategy = Strategy::kDynamicWeight;
  p.spread_constraints = {{.field = SpreadField::kRegion, .min_groups = 1, .max_groups = 2},
                          {.field = SpreadField::kCluster, .min_groups = 2, .max_groups = 2}};
  const std::vector<MemberCluster> clusters = {Member("m1", "r1", 10), Member("m2", "r1", 8),
                                               Member("m3", "r2", 6), Member("m4", "", 100)};
  auto d = Schedule(p, Web(12), clusters, {});
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->clusters, (std::vector<ClusterReplicas>{{"m1", 7}, {"m2", 5}}));
  EXPECT_EQ(d->excluded, (std::vector<Exclusion>{{"m4", "cluster didn't have region property"}}));
  // Two regions wanted at least: r2 joins, with its only cluster.
  p.spread_constraints[0].min_groups = 2;
  p.spread_constraints[1].max_groups = 3;
  auto both = Schedule(p, Web(12), clusters, {});
  ASSERT_TRUE(both.ok()) << both.error().message;
  ASSERT_EQ(both->clusters.size(), 3u);
  // Three regions cannot be had.
  p.spread_constraints[0].min_groups = 3;
  p.spread_constraints[0].max_groups = 3;
  auto three = Schedule(p, Web(12), clusters, {});
  ASSERT_FALSE(three.ok());
  EXPECT_EQ(three.error().message,
            "failed to select clusters: the number of feasible region is less than "
            "spreadConstraint.MinGroups");
}

TEST(SpreadConstraintTest, ScheduleFiltersUntoleratedTaintsExceptWherePlaced) {
  Policy p = WebPolicy();
  std::vector<MemberCluster> clusters = {Member("m1", "r1", 10), Member("m2", "r1", 10),
                                         Member("m3", "r2", 10)};
  clusters[0].taints = {{"dedicated", "gpu", "NoSchedule"}};
  auto d = Schedule(p, Web(2), clusters, {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->clusters, (std::vector<ClusterReplicas>{{"m2", 2}, {"m3", 2}}));
  EXPECT_EQ(d->excluded,
            (std::vector<Exclusion>{
                {"m1", "cluster had untolerated taint {dedicated gpu NoSchedule <nil>}"}}));
  // Already placed there: the taint does not evict (that is the taint manager's).
  auto kept = Schedule(p, Web(2), clusters, {.clusters = {{"m1", 2}}});
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->clusters.size(), 3u);
  p.tolerations = {{.key = "dedicated", .value = "gpu", .effect = "NoSchedule"}};
  auto tolerated = Schedule(p, Web(2), clusters, {});
  ASSERT_TRUE(tolerated.ok());
  EXPECT_TRUE(tolerated->excluded.empty());
  // Nothing left: Karmada's histogram of reasons, sorted as text.
  p.tolerations.clear();
  p.affinity.cluster_names = {"m1"};
  auto none = Schedule(p, Web(2), clusters, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message,
            "0/3 clusters are available: 1 cluster(s) had untolerated taint {dedicated gpu "
            "NoSchedule <nil>}, 2 cluster(s) did not match the placement cluster affinity "
            "constraint.");
}

}  // namespace
}  // namespace meridian::propagation
