// Replica assignment by Karmada's strategies. The expected numbers are
// Karmada's own test cases (assignment_test.go: Test_assignByStaticWeightStrategy,
// Test_dynamicScale, Test_dynamicScaleUp, Test_assignByDuplicatedStrategy;
// docs/propagation-karmada.md section 9), rewritten here.
#include "propagation/assignment.h"

#include <gtest/gtest.h>

namespace meridian::propagation {
namespace {

using List = std::vector<ClusterReplicas>;

std::vector<Candidate> Alloc(std::initializer_list<std::pair<const char*, int>> l) {
  std::vector<Candidate> out;
  for (auto [name, n] : l) out.push_back({.name = name, .available = n});
  return out;
}
std::vector<Candidate> Weights(std::initializer_list<std::pair<const char*, int>> l) {
  std::vector<Candidate> out;
  for (auto [name, w] : l) out.push_back({.name = name, .weight = w});
  return out;
}

List Assign(Strategy s, int replicas, std::vector<Candidate> candidates, List previous = {}) {
  auto r = AssignReplicas({.strategy = s,
                           .replicas = replicas,
                           .candidates = std::move(candidates),
                           .previous = std::move(previous)});
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : List{};
}

std::string AssignError(Strategy s, int replicas, std::vector<Candidate> candidates,
                        List previous = {}) {
  auto r = AssignReplicas({.strategy = s,
                           .replicas = replicas,
                           .candidates = std::move(candidates),
                           .previous = std::move(previous)});
  return r.ok() ? "no error" : r.error().message;
}

constexpr auto kStatic = Strategy::kStaticWeight;
constexpr auto kDynamic = Strategy::kDynamicWeight;
constexpr auto kAggregated = Strategy::kAggregated;

TEST(AssignmentTest, StaticWeight) {
  EXPECT_EQ(Assign(kStatic, 12, Weights({{"m1", 3}, {"m2", 2}, {"m3", 1}})),
            (List{{"m1", 6}, {"m2", 4}, {"m3", 2}}));
  EXPECT_EQ(Assign(kStatic, 12, Weights({{"m1", 1}, {"m2", 1}, {"m3", 1}})),
            (List{{"m1", 4}, {"m2", 4}, {"m3", 4}}));
  EXPECT_EQ(Assign(kStatic, 13, Weights({{"m1", 3}, {"m2", 2}, {"m3", 1}})),
            (List{{"m1", 7}, {"m2", 4}, {"m3", 2}}));
  EXPECT_EQ(Assign(kStatic, 14, Weights({{"m1", 3}, {"m2", 2}, {"m3", 1}})),
            (List{{"m1", 7}, {"m2", 5}, {"m3", 2}}));
  EXPECT_EQ(Assign(kStatic, 0, Weights({{"m1", 1}, {"m2", 1}})), (List{{"m1", 0}, {"m2", 0}}));
  // m2 matches no rule: left out. (Rules m1:1, m2:1, m1:2 -> m1 weighs 2.)
  EXPECT_EQ(Assign(kStatic, 2, Weights({{"m1", 1}, {"m2", 0}})), (List{{"m1", 2}}));
  EXPECT_EQ(Assign(kStatic, 3, Weights({{"m1", 2}, {"m2", 1}})), (List{{"m1", 2}, {"m2", 1}}));
  // No candidate matches any rule: every one weighs 1.
  EXPECT_EQ(Assign(kStatic, 4, Weights({{"m1", 0}, {"m2", 0}})), (List{{"m1", 2}, {"m2", 2}}));
}

TEST(AssignmentTest, DynamicScaleUpAndDown) {
  const List previous{{"m1", 2}, {"m2", 4}, {"m3", 6}};
  EXPECT_EQ(Assign(kDynamic, 6, Alloc({{"m1", 1}, {"m2", 1}, {"m3", 1}}), previous),
            (List{{"m1", 1}, {"m2", 2}, {"m3", 3}}));
  EXPECT_EQ(Assign(kDynamic, 24, Alloc({{"m1", 10}, {"m2", 10}, {"m3", 10}}), previous),
            (List{{"m1", 6}, {"m2", 8}, {"m3", 10}}));
  EXPECT_EQ(AssignError(kDynamic, 24, Alloc({{"m1", 1}, {"m2", 1}, {"m3", 1}}), previous),
            "failed to scale up: Clusters available replicas 3 are not enough to schedule.");
  // First decisions (a scale up from 0).
  EXPECT_EQ(Assign(kDynamic, 12, Alloc({{"m1", 6}, {"m2", 8}, {"m3", 10}})),
            (List{{"m1", 3}, {"m2", 4}, {"m3", 5}}));
  EXPECT_EQ(Assign(kDynamic, 12, Alloc({{"m1", 8}, {"m2", 8}, {"m3", 10}})),
            (List{{"m1", 4}, {"m2", 4}, {"m3", 4}}));
  EXPECT_EQ(AssignError(kDynamic, 12, Alloc({{"m1", 3}, {"m2", 3}, {"m3", 3}})),
            "failed to scale up: Clusters available replicas 9 are not enough to schedule.");
  // m3 is gone: its 6 replicas are missing, and divided again.
  EXPECT_EQ(Assign(kDynamic, 12, Alloc({{"m1", 3}, {"m2", 3}}), {{"m1", 6}, {"m3", 6}}),
            (List{{"m1", 9}, {"m2", 3}}));
}

TEST(AssignmentTest, Aggregated) {
  const List previous{{"m1", 4}, {"m2", 8}};
  EXPECT_EQ(Assign(kAggregated, 6, Alloc({{"m1", 1}, {"m2", 1}, {"m3", 1}}), previous),
            (List{{"m2", 6}}));
  EXPECT_EQ(Assign(kAggregated, 8, Alloc({{"m1", 100}, {"m2", 100}}), previous), (List{{"m2", 8}}));
  EXPECT_EQ(Assign(kAggregated, 24, Alloc({{"m1", 4}, {"m2", 6}, {"m3", 8}}), previous),
            (List{{"m1", 7}, {"m2", 12}, {"m3", 5}}));
  EXPECT_EQ(Assign(kAggregated, 24, Alloc({{"m1", 6}, {"m2", 6}, {"m3", 20}}), previous),
            (List{{"m1", 10}, {"m2", 14}}));
  EXPECT_EQ(AssignError(kAggregated, 24, Alloc({{"m1", 1}, {"m2", 1}, {"m3", 1}}), previous),
            "failed to scale up: Clusters available replicas 3 are not enough to schedule.");
  EXPECT_EQ(Assign(kAggregated, 24, Alloc({{"m1", 4}, {"m3", 8}, {"m4", 12}}), previous),
            (List{{"m1", 7}, {"m3", 7}, {"m4", 10}}));
  EXPECT_EQ(Assign(kAggregated, 12, Alloc({{"m1", 6}, {"m2", 8}, {"m3", 10}})),
            (List{{"m2", 5}, {"m3", 7}}));
  EXPECT_EQ(Assign(kAggregated, 12, Alloc({{"m1", 12}, {"m2", 8}, {"m3", 10}})),
            (List{{"m1", 12}}));
  EXPECT_EQ(AssignError(kAggregated, 12, Alloc({{"m1", 3}, {"m2", 3}, {"m3", 3}})),
            "failed to scale up: Clusters available replicas 9 are not enough to schedule.");
}

TEST(AssignmentTest, DuplicatedAndNothingToDo) {
  EXPECT_EQ(Assign(Strategy::kDuplicated, 2, Weights({{"m1", 1}, {"m2", 1}})),
            (List{{"m1", 2}, {"m2", 2}}));
  EXPECT_EQ(Assign(Strategy::kDuplicated, 2, {}), List{});
  EXPECT_EQ(Assign(Strategy::kDuplicated, 0, Weights({{"m1", 1}, {"m2", 1}})),
            (List{{"m1", 0}, {"m2", 0}}));
  // The same replicas as placed: the placement stays.
  EXPECT_EQ(Assign(kDynamic, 6, Alloc({{"m1", 0}, {"m2", 0}}), {{"m2", 4}, {"m1", 2}}),
            (List{{"m1", 2}, {"m2", 4}}));
  EXPECT_FALSE(AssignReplicas({.strategy = kDynamic, .replicas = -1}).ok());
}

// A fresh reschedule divides everything by free plus held capacity.
TEST(AssignmentTest, FreshReschedule) {
  auto r = AssignReplicas({.strategy = kDynamic,
                           .replicas = 12,
                           .candidates = Alloc({{"m1", 2}, {"m2", 10}}),
                           .previous = {{"m1", 10}, {"m2", 2}},
                           .fresh = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (List{{"m1", 6}, {"m2", 6}}));
}

}  // namespace
}  // namespace meridian::propagation
