// status.json's clusters section: a peer's probes and the verdict drawn
// from them, as meridianctl clusters and the lab read them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/agent_status.h"

namespace meridian::agent {
namespace {

PeerProbeStatus Probe(std::string address, std::string state) {
  return {.address = std::move(address), .state = std::move(state)};
}

TEST(ClusterReachabilityTest, VerdictFromTheEndpoints) {
  EXPECT_EQ(ClusterReachability({}), "") << "no probes: the local cluster, or probing off";
  EXPECT_EQ(ClusterReachability({Probe("a", "reachable"), Probe("b", "reachable")}), "reachable");
  EXPECT_EQ(ClusterReachability({Probe("a", "reachable"), Probe("b", "unreachable")}), "partial");
  EXPECT_EQ(ClusterReachability({Probe("a", "reachable"), Probe("b", "probing")}), "partial");
  EXPECT_EQ(ClusterReachability({Probe("a", "unreachable"), Probe("b", "unreachable")}),
            "unreachable");
  EXPECT_EQ(ClusterReachability({Probe("a", "unreachable"), Probe("b", "probing")}), "unreachable")
      << "none known to answer";
  EXPECT_EQ(ClusterReachability({Probe("a", "probing")}), "probing");
}

TEST(ClusterStatusJsonTest, PeersCarryTheirProbesAndTheLocalClusterNone) {
  AgentStatus s;
  s.clusters.push_back({.name = "c1", .id = 1, .local = true});
  ClusterStatus c2{.name = "c2", .id = 2};
  c2.probes = {{.address = "172.16.2.11",
                .state = "reachable",
                .rtt_us = 85,
                .since_reply_ms = 400,
                .sent = 10,
                .replies = 9},
               {.address = "172.16.2.12",
                .state = "unreachable",
                .sent = 10,
                .error = "Network is unreachable"}};
  c2.reachability = ClusterReachability(c2.probes);
  s.clusters.push_back(c2);
  const auto path = std::filesystem::temp_directory_path() /
                    ("meridian-cluster-status-" + std::to_string(getpid()) + ".json");
  ASSERT_TRUE(WriteStatusFile(s, path.string()).ok());
  std::ifstream in(path);
  const auto j = nlohmann::json::parse(in);
  std::filesystem::remove(path);
  ASSERT_EQ(j["clusters"].size(), 2u);
  EXPECT_FALSE(j["clusters"][0].contains("probes"));
  EXPECT_FALSE(j["clusters"][0].contains("reachability"));
  EXPECT_EQ(j["clusters"][1]["reachability"], "partial");
  EXPECT_EQ(j["clusters"][1]["probes"], nlohmann::json::parse(R"([
    {"address": "172.16.2.11", "state": "reachable", "rtt_us": 85, "since_reply_ms": 400,
     "sent": 10, "replies": 9, "error": ""},
    {"address": "172.16.2.12", "state": "unreachable", "rtt_us": -1, "since_reply_ms": -1,
     "sent": 10, "replies": 0, "error": "Network is unreachable"}])"));
}

}  // namespace
}  // namespace meridian::agent
