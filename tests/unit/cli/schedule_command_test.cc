// `meridianctl schedule`, run as a binary: Karmada's objects in, the
// decision out as JSON or a table, exit 2 with one line when unschedulable,
// exit 1 naming every field the scheduler does not implement.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run_process.h"
#include "temp_dir.h"

namespace meridian::cli {
namespace {

using test_support::Contains;
using test_support::ProcessResult;
using test_support::RunProcess;
using test_support::TempDir;

constexpr char kClusters[] = R"(apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member1, labels: {tier: gold}}
spec: {provider: aws, region: eu-west-1, zone: eu-west-1a, syncMode: Push}
status: {availableReplicas: 20}
---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member2, labels: {tier: gold}}
spec: {provider: aws, region: eu-west-1, zones: [eu-west-1b]}
status: {availableReplicas: 10}
---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member3}
spec: {provider: gcp, region: us-east1}
status: {availableReplicas: 5}
---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member4}
spec: {provider: gcp, region: us-east1}
)";

std::string Deployment(int replicas,
                       const std::string& uid = "4858ca61-3ff8-4095-8267-f3d059d8074c") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, uid: " +
         uid + "}\nspec: {replicas: " + std::to_string(replicas) + "}\n";
}

std::string Policy(const std::string& placement) {
  return "apiVersion: policy.karmada.io/v1alpha1\nkind: PropagationPolicy\n"
         "metadata: {name: web, namespace: shop}\nspec:\n  resourceSelectors:\n"
         "  - {apiVersion: apps/v1, kind: Deployment, name: web}\n  placement:\n" +
         placement;
}

class ScheduleCommandTest : public ::testing::Test {
 protected:
  ProcessResult Run(const std::string& policy, const std::string& workload,
                    std::vector<std::string> extra = {}, const std::string& clusters = kClusters) {
    dir_.Write("policy.yaml", policy);
    dir_.Write("workload.yaml", workload);
    dir_.Write("clusters.yaml", clusters);
    std::vector<std::string> args = {MERIDIANCTL_BIN, "schedule",
                                     "--policy",      dir_.Path("policy.yaml"),
                                     "--workload",    dir_.Path("workload.yaml"),
                                     "--clusters",    dir_.Path("clusters.yaml")};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProcess(args);
  }
  TempDir dir_;
};

// Static weights 6:3:1 over the clusters of provider aws and member3; member4
// is filtered out by the affinity.
TEST_F(ScheduleCommandTest, StaticWeightsAsJson) {
  auto r = Run(Policy(R"(    clusterAffinity:
      clusterNames: [member1, member2, member3]
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
        - {targetCluster: {clusterNames: [member1]}, weight: 6}
        - {targetCluster: {clusterNames: [member2]}, weight: 3}
        - {targetCluster: {fieldSelector: {matchExpressions: [{key: provider, operator: In, values: [gcp]}]}}, weight: 1}
)"),
               Deployment(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::parse(R"({
    "clusters": [{"name": "member1", "replicas": 6}, {"name": "member2", "replicas": 3},
                 {"name": "member3", "replicas": 1}],
    "excluded": [{"name": "member4",
                  "reason": "cluster did not match the placement cluster affinity constraint"}]})"));
}

// Dynamic weights by available replicas, then a scale up that keeps the
// placement in force and divides only the new replicas; -o table.
TEST_F(ScheduleCommandTest, DynamicWeightsScaleUpFromThePreviousDecision) {
  const std::string policy = Policy(R"(    clusterAffinity:
      labelSelector: {matchLabels: {tier: gold}}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference: {dynamicWeight: AvailableReplicas}
)");
  auto first = Run(policy, Deployment(6));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto j = nlohmann::json::parse(first.out);
  EXPECT_EQ(j["clusters"], nlohmann::json::parse(R"([{"name": "member1", "replicas": 4},
                                                     {"name": "member2", "replicas": 2}])"));
  dir_.Write("previous.json", first.out);
  auto up = Run(policy, Deployment(9), {"--previous", dir_.Path("previous.json"), "-o", "table"});
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_TRUE(Contains(up.out, "member1                         6")) << up.out;
  EXPECT_TRUE(Contains(up.out, "member2                         3")) << up.out;
  EXPECT_TRUE(Contains(up.out, "member3")) << "listed as excluded: " << up.out;
}

// Equal weights, 5 replicas: the workload's UID decides which cluster gets
// the odd one (FNV-1a parity), always the same way for one workload.
TEST_F(ScheduleCommandTest, TiesFollowTheWorkloadUid) {
  const std::string policy = Policy(R"(    clusterAffinity: {clusterNames: [member1, member2]}
    replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Weighted}
)");
  auto even = Run(policy, Deployment(5, "4858ca61-3ff8-4095-8267-f3d059d8074c"));
  auto odd = Run(policy, Deployment(5, "d43fdeeb-d750-4e2b-bee3-64eb94534f4c"));
  ASSERT_EQ(even.exit_code, 0) << even.err;
  ASSERT_EQ(odd.exit_code, 0) << odd.err;
  EXPECT_EQ(nlohmann::json::parse(even.out)["clusters"][0]["replicas"], 3);
  EXPECT_EQ(nlohmann::json::parse(odd.out)["clusters"][0]["replicas"], 2);
}

TEST_F(ScheduleCommandTest, UnschedulableExitsTwoWithOneLine) {
  auto r = Run(Policy(R"(    clusterAffinity: {clusterNames: [member2, member3]}
    replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Aggregated}
)"),
               Deployment(40));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "meridianctl schedule: unschedulable: failed to assign replicas: failed to scale up: "
            "Clusters available replicas 15 are not enough to schedule.\n");
  EXPECT_EQ(r.out, "");
  auto none = Run(Policy("    clusterAffinity: {clusterNames: [member9]}\n"), Deployment(1));
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(Contains(none.err,
                       "0/4 clusters are available: 4 cluster(s) did not match the "
                       "placement cluster affinity constraint."))
      << none.err;
}

// Ordered clusterAffinities (Karmada's failover groups): the first group
// that can take the workload is used, and a later decision starts from the
// group in force, never moving back by itself; when every group fails, the
// first failure is the error.
TEST_F(ScheduleCommandTest, ClusterAffinitiesFailOverInOrderAndStay) {
  const std::string policy = Policy(R"(    clusterAffinities:
    - {affinityName: primary, clusterNames: [member3]}
    - affinityName: backup
      labelSelector: {matchLabels: {tier: gold}}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference: {dynamicWeight: AvailableReplicas}
)");
  auto small = Run(policy, Deployment(4));
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_EQ(nlohmann::json::parse(small.out)["affinityName"], "primary");
  EXPECT_EQ(nlohmann::json::parse(small.out)["clusters"],
            nlohmann::json::parse(R"([{"name": "member3", "replicas": 4}])"));

  // member3 takes 5 more at most: 12 fail there and go to the backup group.
  auto big = Run(policy, Deployment(12));
  ASSERT_EQ(big.exit_code, 0) << big.err;
  auto j = nlohmann::json::parse(big.out);
  EXPECT_EQ(j["affinityName"], "backup");
  EXPECT_EQ(j["clusters"], nlohmann::json::parse(R"([{"name": "member1", "replicas": 8},
                                                     {"name": "member2", "replicas": 4}])"));

  // Back to 4 replicas from the backup decision: it stays on backup.
  dir_.Write("previous.json", big.out);
  auto down = Run(policy, Deployment(4), {"--previous", dir_.Path("previous.json")});
  ASSERT_EQ(down.exit_code, 0) << down.err;
  EXPECT_EQ(nlohmann::json::parse(down.out)["affinityName"], "backup");

  auto none = Run(policy, Deployment(100));
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err,
            "meridianctl schedule: unschedulable: failed to assign replicas: failed to scale up: "
            "Clusters available replicas 5 are not enough to schedule.\n")
      << "the first group's failure";

  auto both = Run(Policy(R"(    clusterAffinity: {clusterNames: [member1]}
    clusterAffinities: [{affinityName: a}, {affinityName: a}]
)"),
                  Deployment(1));
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_TRUE(Contains(both.err,
                       "spec.placement.clusterAffinities: clusterAffinity and "
                       "clusterAffinities cannot both be set"))
      << both.err;
  EXPECT_TRUE(Contains(both.err, "clusterAffinities[1].affinityName: \"a\" is used twice"))
      << both.err;
}

// Unlucky input: a byte that is not UTF-8 (it used to abort meridianctl when
// the name reached the JSON output) and two Clusters of one name.
TEST_F(ScheduleCommandTest, NonUtf8AndDuplicateClustersAreErrors) {
  dir_.Write("p.yaml", Policy("    clusterAffinity: {}\n"));
  dir_.Write("w.yaml", Deployment(2));
  auto schedule = [&](const std::string& clusters) {
    return RunProcess({MERIDIANCTL_BIN, "schedule", "--policy", dir_.Path("p.yaml"), "--workload",
                       dir_.Path("w.yaml"), "--clusters", dir_.Path(clusters)});
  };
  // The 0xff is byte 73 of the file.
  dir_.Write("bad.yaml",
             "apiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\nmetadata: {name: \"m\xff"
             "1\"}\n");
  auto bad = schedule("bad.yaml");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err, dir_.Path("bad.yaml") + ": byte 73 is not UTF-8\n");
  EXPECT_EQ(bad.out, "");

  dir_.Write("twice.yaml", std::string(kClusters) +
                               "---\napiVersion: cluster.karmada.io/v1alpha1\nkind: Cluster\n"
                               "metadata: {name: member1}\n");
  auto twice = schedule("twice.yaml");
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_TRUE(Contains(twice.err, "document 5: Cluster member1: metadata.name: used twice"))
      << twice.err;
}

// Fields the scheduler does not implement are errors that name them, all
// of them, never ignored.
TEST_F(ScheduleCommandTest, UnimplementedFieldsAreNamed) {
  auto r = Run(Policy(R"(    spreadConstraints: [{spreadByLabel: team, maxGroups: 2, minGroups: 1}]
    clusterTolerations: [{key: a, operator: Exists, value: b}]
    placeholder: {}
    replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Weighted,
                        weightPreference: {dynamicWeight: AvailableCPU}}
)"),
               Deployment(3));
  EXPECT_EQ(r.exit_code, 1);
  for (const char* field :
       {"spec.placement.spreadConstraints[0].spreadByLabel: not supported by Meridian's scheduler",
        "spec.placement.placeholder: not supported",
        "spec.placement.clusterTolerations[0].value: must be empty when `operator` is 'Exists'",
        "spec.placement.replicaScheduling.weightPreference.dynamicWeight: "
        "\"AvailableCPU\": accepted: AvailableReplicas"}) {
    EXPECT_TRUE(Contains(r.err, field)) << field << " in:\n" << r.err;
  }
  auto bad_uid = Run(Policy("    clusterAffinity: {}\n"),
                     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n");
  EXPECT_EQ(bad_uid.exit_code, 1);
  EXPECT_TRUE(Contains(bad_uid.err, "metadata.uid: required")) << bad_uid.err;
}

// Spread constraints are checked as Karmada's webhook checks them, every
// broken rule named.
TEST_F(ScheduleCommandTest, SpreadConstraintsAreValidatedInKarmadasWords) {
  auto r = Run(Policy(R"(    spreadConstraints:
    - {spreadByField: region, maxGroups: 1, minGroups: 2}
    - {spreadByField: region, minGroups: -1}
    - {spreadByField: planet}
)"),
               Deployment(3));
  EXPECT_EQ(r.exit_code, 1);
  for (const char* text :
       {"spec.placement.spreadConstraints[0]: maxGroups(1) lower than minGroups(2) is not allowed",
        "spec.placement.spreadConstraints[1].minGroups: minGroups lower than 0 is not allowed",
        "spec.placement.spreadConstraints: multiple region spread constraints are not allowed",
        "spec.placement.spreadConstraints[2].spreadByField: \"planet\": accepted: cluster, "
        "region, zone, provider",
        "spec.placement.spreadConstraints: the cluster spread constraint must be enabled in one of "
        "the constraints in case of SpreadByField is enabled"}) {
    EXPECT_TRUE(Contains(r.err, text)) << text << " in:\n" << r.err;
  }
}

// Tolerations and taints are checked as Kubernetes checks them, every
// broken one named.
TEST_F(ScheduleCommandTest, TolerationsAndTaintsAreValidated) {
  auto r = Run(Policy(R"(    clusterTolerations:
    - {key: a, operator: Within}
    - {value: b}
    - {key: c, operator: Exists, effect: NoWay}
)"),
               Deployment(3));
  EXPECT_EQ(r.exit_code, 1);
  for (const char* text :
       {"spec.placement.clusterTolerations[0].operator: \"Within\": accepted: Equal, Exists",
        "spec.placement.clusterTolerations[1].operator: must be Exists when `key` is empty",
        "spec.placement.clusterTolerations[2].effect: \"NoWay\": accepted: NoSchedule, "
        "PreferNoSchedule, NoExecute"}) {
    EXPECT_TRUE(Contains(r.err, text)) << text << " in:\n" << r.err;
  }
  const std::string bad_taints = R"(apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member1}
spec:
  taints: [{key: maintenance, effect: Sometimes}, {effect: NoSchedule}]
)";
  auto t = Run(Policy("    clusterAffinity: {}\n"), Deployment(3), {}, bad_taints);
  EXPECT_EQ(t.exit_code, 1);
  for (const char* text :
       {"Cluster member1: spec.taints[0].effect: \"Sometimes\": accepted: NoSchedule, "
        "PreferNoSchedule, NoExecute",
        "Cluster member1: spec.taints[1].key: required"}) {
    EXPECT_TRUE(Contains(t.err, text)) << text << " in:\n" << t.err;
  }
}

// Two regions, at most three clusters, dynamic weights; member5 is tainted
// and not tolerated; member4 runs no zone-less check (no zone constraint).
TEST_F(ScheduleCommandTest, SpreadByRegionAndTaints) {
  const std::string clusters = std::string(kClusters) + R"(---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: member5}
spec:
  provider: gcp
  region: us-west1
  taints: [{key: maintenance, effect: NoSchedule}]
status: {availableReplicas: 50}
)";
  const std::string placement = R"(    spreadConstraints:
    - {spreadByField: region, minGroups: 2, maxGroups: 2}
    - {spreadByField: cluster, minGroups: 2, maxGroups: 3}
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference: {dynamicWeight: AvailableReplicas}
)";
  auto r = Run(Policy(placement), Deployment(9), {}, clusters);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // eu-west-1: member1 (20), member2 (10); us-east1: member4 (unknown:
  // 9), member3 (5). Each region's best, then the best other: member2.
  EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::parse(R"({
    "clusters": [{"name": "member1", "replicas": 5}, {"name": "member2", "replicas": 2},
                 {"name": "member4", "replicas": 2}],
    "excluded": [{"name": "member5",
                  "reason": "cluster had untolerated taint {maintenance  NoSchedule <nil>}"}]})"));
  // Tolerated, member5 is a candidate, but its us-west1 is not chosen:
  // every region can reach the per-region target (9/2 + 1 = 5), so the
  // scores tie and Karmada prefers the regions with more clusters.
  auto tolerated =
      Run(Policy(placement + "    clusterTolerations: [{key: maintenance, operator: Exists}]\n"),
          Deployment(9), {}, clusters);
  ASSERT_EQ(tolerated.exit_code, 0) << tolerated.err;
  auto j = nlohmann::json::parse(tolerated.out);
  EXPECT_TRUE(j["excluded"].empty()) << j;
  std::vector<std::string> names;
  for (const auto& c : j["clusters"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"member1", "member2", "member4"})) << j;
  // Three regions wanted, two exist untainted: exit 2, Karmada's reason.
  auto three = Run(Policy(R"(    spreadConstraints:
    - {spreadByField: region, minGroups: 3, maxGroups: 3}
    - {spreadByField: cluster, minGroups: 3, maxGroups: 3}
)"),
                   Deployment(9), {}, clusters);
  EXPECT_EQ(three.exit_code, 2);
  EXPECT_TRUE(Contains(three.err,
                       "failed to select clusters: the number of feasible region is "
                       "less than spreadConstraint.MinGroups"))
      << three.err;
}

}  // namespace
}  // namespace meridian::cli
