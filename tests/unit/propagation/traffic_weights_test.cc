#include "propagation/traffic_weights.h"

#include <gtest/gtest.h>

#include <random>

namespace meridian::propagation {
namespace {

model::PropagationDecision Decision(std::map<std::string, std::uint32_t> replicas) {
  return {.service = {"shop", "web"}, .replicas_per_cluster = std::move(replicas), .generation = 1};
}

std::vector<ActiveBackend> Backends(std::vector<std::string> clusters) {
  std::vector<ActiveBackend> out;
  for (auto& c : clusters) out.push_back({std::move(c)});
  return out;
}

using Weights = std::vector<std::uint32_t>;

TEST(TrafficWeightsTest, SharesFollowReplicasNotEndpointCounts) {
  // Two backends everywhere: 6/3/1 replicas -> 60/30/10 of new flows.
  EXPECT_EQ(DecisionWeights(Backends({"c1", "c1", "c2", "c2", "c3", "c3"}),
                            Decision({{"c1", 6}, {"c2", 3}, {"c3", 1}})),
            (Weights{6, 6, 3, 3, 1, 1}));
  // Uneven counts: c1's 6 replicas over 3 backends, c2's 3 over 1.
  EXPECT_EQ(DecisionWeights(Backends({"c1", "c1", "c1", "c2"}), Decision({{"c1", 6}, {"c2", 3}})),
            (Weights{2, 2, 2, 3}));
  // lcm(2, 3) = 6 keeps the shares exact: c1 1/2 over 2, c2 1/2 over 3.
  EXPECT_EQ(
      DecisionWeights(Backends({"c1", "c1", "c2", "c2", "c2"}), Decision({{"c1", 5}, {"c2", 5}})),
      (Weights{3, 3, 2, 2, 2}));
}

TEST(TrafficWeightsTest, ClustersWithoutReplicasTakeNoNewFlows) {
  EXPECT_EQ(DecisionWeights(Backends({"c1", "c2", "c3"}), Decision({{"c1", 4}, {"c2", 0}})),
            (Weights{1, 0, 0}));
}

TEST(TrafficWeightsTest, ClustersWithoutBackendsLeaveTheirShareToTheOthers) {
  // c3 was given replicas but has no ready pod: c1 and c2 split 6:3.
  EXPECT_EQ(DecisionWeights(Backends({"c1", "c2"}), Decision({{"c1", 6}, {"c2", 3}, {"c3", 1}})),
            (Weights{2, 1}));
}

TEST(TrafficWeightsTest, NoReplicaWhereBackendsAreMeansNoDecisionWeights) {
  EXPECT_EQ(DecisionWeights(Backends({"c2", "c2"}), Decision({{"c1", 5}})), std::nullopt);
  EXPECT_EQ(DecisionWeights(Backends({"c1"}), Decision({})), std::nullopt);
  EXPECT_EQ(DecisionWeights({}, Decision({{"c1", 5}})), std::nullopt);
}

TEST(TrafficWeightsTest, HugeInputsStayInRangeAndInProportion) {
  // Replicas near 2^32 and co-prime counts: weights fit Maglev's bound
  // (2^24) and keep each cluster's share within 1e-6.
  std::vector<std::string> clusters;
  std::map<std::string, std::uint32_t> replicas;
  const std::vector<std::uint32_t> counts = {7, 11, 13, 17, 19, 23, 29, 31};
  for (std::size_t c = 0; c < counts.size(); ++c) {
    std::string name = "c" + std::to_string(c);
    replicas[name] = 4'000'000'000u / static_cast<std::uint32_t>(c + 1);
    for (std::uint32_t i = 0; i < counts[c]; ++i) clusters.push_back(name);
  }
  auto w = DecisionWeights(Backends(clusters), Decision(replicas));
  ASSERT_TRUE(w.has_value());
  double total_w = 0, total_r = 0;
  for (auto x : *w) {
    EXPECT_GT(x, 0u);
    EXPECT_LT(x, 1u << 24);
    total_w += x;
  }
  for (auto& [name, r] : replicas) total_r += r;
  std::map<std::string, double> share;
  for (std::size_t i = 0; i < clusters.size(); ++i) share[clusters[i]] += (*w)[i] / total_w;
  for (auto& [name, r] : replicas) EXPECT_NEAR(share[name], r / total_r, 1e-6) << name;
}

}  // namespace
}  // namespace meridian::propagation
