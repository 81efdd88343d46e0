#include "controller/decision_scheduler.h"

#include <gtest/gtest.h>

#include <fstream>

#include "controller/scheduler_lease.h"
#include "mcs/records.h"
#include "mcs/registry_keys.h"
#include "mcs_fixtures.h"
#include "temp_dir.h"

namespace meridian::controller {
namespace {

using mcs::test_support::Cluster;
using meridian::test_support::TempDir;
using Replicas = std::map<std::string, std::uint32_t>;

// Divided, dynamic weights over every cluster; web (10 replicas) and a
// workload no policy selects.
constexpr char kManifests[] = R"(apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: web, namespace: shop}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  placement:
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference: {dynamicWeight: AvailableReplicas}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: 6f1d2c3b-0000-4000-8000-000000000001}
spec: {replicas: 10}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: lonely, namespace: shop, uid: 6f1d2c3b-0000-4000-8000-000000000002}
spec: {replicas: 3}
---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: c1}
status: {availableReplicas: 60}
---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: c2}
status: {availableReplicas: 30}
---
apiVersion: cluster.karmada.io/v1alpha1
kind: Cluster
metadata: {name: c3}
status: {availableReplicas: 10}
)";

std::vector<model::Cluster> Live(std::initializer_list<const char*> names) {
  std::vector<model::Cluster> out;
  std::uint32_t id = 1;
  for (const char* n : names) out.push_back(Cluster(n, id++, "10.1.0.0/16", "172.16.1.11"));
  return out;
}

class DecisionSchedulerTest : public testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/sched");
    Write(kManifests);
    auto r = registry::OpenRegistry("dir:" + dir_.path() + "/reg");
    ASSERT_TRUE(r.ok());
    reg_ = std::move(*r);
  }
  void Write(const std::string& text) { std::ofstream(dir_.path() + "/sched/all.yaml") << text; }
  std::map<model::ObjectKey, model::PropagationDecision> InForce() {
    std::map<model::ObjectKey, model::PropagationDecision> out;
    auto list = reg_->List(mcs::kDecisionsPrefix);
    EXPECT_TRUE(list.ok());
    for (const auto& kv : *list) {
      auto parsed = mcs::ParseKey(kv.key);
      auto key = std::get<mcs::DecisionKeyParts>(*parsed).service;
      out[key] = *mcs::DecodeDecision(key, kv.value);
    }
    return out;
  }
  ScheduleRound Round(const std::vector<model::Cluster>& live) {
    return RunScheduleRound(*reg_, dir_.path() + "/sched", live, InForce());
  }

  TempDir dir_;
  std::unique_ptr<registry::Registry> reg_;
};

TEST_F(DecisionSchedulerTest, PublishesOnChangeOnlyAndFollowsLiveClusters) {
  auto first = Round(Live({"c1", "c2", "c3"}));
  EXPECT_TRUE(first.errors.empty()) << first.errors.front();
  EXPECT_EQ(first.published, 1u);
  ASSERT_EQ(first.planned.size(), 1u);  // lonely: no policy selects it
  auto d = InForce().at({"shop", "web"});
  EXPECT_EQ(d.replicas_per_cluster, (Replicas{{"c1", 6}, {"c2", 3}, {"c3", 1}}));
  EXPECT_EQ(d.generation, 1);
  EXPECT_EQ(d.workload, "Deployment shop/web");
  EXPECT_EQ(first.planned[0].policy, "shop/web");

  // Same inputs: nothing is written, the generation stays.
  auto rev = reg_->CurrentRevision();
  auto second = Round(Live({"c1", "c2", "c3"}));
  EXPECT_EQ(second.published, 0u);
  EXPECT_EQ(reg_->CurrentRevision(), rev);

  // c3's ClusterInfo lease ran out: its replica goes elsewhere.
  auto third = Round(Live({"c1", "c2"}));
  EXPECT_EQ(third.published, 1u);
  d = InForce().at({"shop", "web"});
  EXPECT_EQ(d.generation, 2);
  EXPECT_EQ(d.TotalReplicas(), 10u);
  EXPECT_EQ(d.replicas_per_cluster.count("c3"), 0u);
}

TEST_F(DecisionSchedulerTest, UnschedulableKeepsTheDecisionInForce) {
  ASSERT_EQ(Round(Live({"c1", "c2", "c3"})).published, 1u);
  // No live cluster at all: Karmada's error, and the decision stays.
  auto none = Round({});
  EXPECT_EQ(none.published, 0u);
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_NE(none.errors[0].find("Deployment shop/web: "), std::string::npos) << none.errors[0];
  EXPECT_NE(none.errors[0].find("(the decision in force stays)"), std::string::npos);
  EXPECT_EQ(InForce().at({"shop", "web"}).generation, 1);
}

TEST_F(DecisionSchedulerTest, BadManifestsDeleteNothingAndGoneWorkloadsAreDeleted) {
  ASSERT_EQ(Round(Live({"c1", "c2", "c3"})).published, 1u);
  Write("kind: PropagationPolicy\napiVersion: policy.karmada.io/v1alpha1\nspec: [\n");
  auto bad = Round(Live({"c1", "c2", "c3"}));
  EXPECT_FALSE(bad.errors.empty());
  EXPECT_EQ(bad.deleted, 0u);
  EXPECT_EQ(InForce().size(), 1u);
  Write("");  // every workload gone, cleanly
  auto gone = Round(Live({"c1", "c2", "c3"}));
  EXPECT_TRUE(gone.errors.empty());
  EXPECT_EQ(gone.deleted, 1u);
  EXPECT_TRUE(InForce().empty());
}

TEST(PlanDecisionsTest, TheMostSpecificPolicyPlacesAWorkload) {
  sources::SchedulingManifests m;
  propagation::Policy by_kind{.name = "a-all", .ns = "shop"};
  by_kind.selectors = {{.api_version = "apps/v1", .kind = "Deployment"}};
  by_kind.strategy = propagation::Strategy::kDuplicated;
  propagation::Policy by_name = by_kind;
  by_name.name = "z-web";
  by_name.selectors = {{.api_version = "apps/v1", .kind = "Deployment", .name = "web"}};
  m.policies = {by_kind, by_name};
  m.workloads = {{.api_version = "apps/v1",
                  .kind = "Deployment",
                  .name = "web",
                  .ns = "shop",
                  .uid = "u1",
                  .replicas = 2},
                 {.api_version = "apps/v1",
                  .kind = "Deployment",
                  .name = "db",
                  .ns = "shop",
                  .uid = "u2",
                  .replicas = 1}};
  auto plans = PlanDecisions(m, Live({"c1", "c2"}), {});
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].policy, "shop/z-web");  // named beats kind-only
  EXPECT_EQ(plans[1].policy, "shop/a-all");
  EXPECT_EQ(plans[0].decision.replicas_per_cluster, (Replicas{{"c1", 2}, {"c2", 2}}));
  EXPECT_TRUE(plans[0].changed);
}

TEST(SchedulerLeaseTest, OneLeaderAtATimeAndTakeoverAfterTheLease) {
  TempDir dir;
  auto reg = registry::OpenRegistry("dir:" + dir.path() + "/reg");
  ASSERT_TRUE(reg.ok());
  const auto ttl = std::chrono::milliseconds(300);
  SchedulerLease a(**reg, "c1/host/1", ttl), b(**reg, "c2/host/2", ttl);
  EXPECT_TRUE(*a.Step());
  EXPECT_FALSE(*b.Step());
  EXPECT_EQ(b.holder(), "c1/host/1");
  EXPECT_TRUE(*a.Step());  // renews
  // a dies (no more Steps): b takes over once the lease has run out.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(*b.Step());
  EXPECT_FALSE(*a.Step());  // a is back, and follows
  EXPECT_EQ(a.holder(), "c2/host/2");
  // A clean stop hands over at once.
  b.Release();
  EXPECT_TRUE(*a.Step());
}

}  // namespace
}  // namespace meridian::controller
