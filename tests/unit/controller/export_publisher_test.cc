#include "controller/export_publisher.h"

#include <gtest/gtest.h>

#include "mcs/records.h"
#include "mcs/registry_keys.h"
#include "mcs_fixtures.h"
#include "temp_dir.h"

namespace meridian::controller {
namespace {

using namespace mcs::test_support;
using meridian::test_support::TempDir;

class ExportPublisherTest : public testing::Test {
 protected:
  void SetUp() override {
    auto r = registry::OpenRegistry("dir:" + dir_.path() + "/reg");
    ASSERT_TRUE(r.ok());
    reg_ = std::move(*r);
  }
  PublisherOptions Options(const std::string& cluster) {
    return {.cluster = cluster,
            .lease_ttl = std::chrono::milliseconds(60000),
            .clusterset_cidr = Net("10.255.0.0/24"),
            .orphan_grace = std::chrono::milliseconds(0)};
  }
  std::vector<std::string> Keys() {
    std::vector<std::string> out;
    auto list = reg_->List("/meridian/v1/");
    EXPECT_TRUE(list.ok());
    if (!list.ok()) return out;
    for (const auto& kv : list.value()) out.push_back(kv.key);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<registry::Registry> reg_;
};

TEST_F(ExportPublisherTest, PublishesRenewsDeletesAndWithdraws) {
  ExportPublisher east(*reg_, Options("east"));
  auto info = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  auto web = Export("east", "web", 1), db = Export("east", "db", 1);
  auto first = east.Sync(info, {web, db});
  EXPECT_TRUE(first.errors.empty());
  EXPECT_EQ(first.puts, 3);
  EXPECT_EQ(Keys(),
            (std::vector<std::string>{
                "/meridian/v1/clusters/east/exports/shop/db",
                "/meridian/v1/clusters/east/exports/shop/web", "/meridian/v1/clusters/east/info",
                "/meridian/v1/imports/shop/db", "/meridian/v1/imports/shop/web"}));
  auto rev = reg_->CurrentRevision();
  auto second = east.Sync(info, {web, db});
  EXPECT_EQ(second.puts, 0);
  EXPECT_EQ(second.keepalives, 3);
  EXPECT_EQ(reg_->CurrentRevision(), rev);  // renewals are not changes

  // Another cluster exports web too: dropping our web keeps its IP.
  ExportPublisher west(*reg_, Options("west"));
  ASSERT_TRUE(
      west.Sync(Cluster("west", 2, "10.2.0.0/16", "172.16.2.11"), {Export("west", "web", 2)})
          .errors.empty());
  auto third = east.Sync(info, {db});
  EXPECT_EQ(third.deletes, 1);
  EXPECT_EQ(third.released_imports, 0);
  EXPECT_TRUE(reg_->Get(mcs::ImportKey({"shop", "web"}))->has_value());

  // Withdrawing east releases db (only east exported it), not web.
  auto gone = east.Withdraw();
  EXPECT_EQ(gone.deletes, 2);
  EXPECT_EQ(gone.released_imports, 1);
  EXPECT_EQ(Keys(), (std::vector<std::string>{"/meridian/v1/clusters/west/exports/shop/web",
                                              "/meridian/v1/clusters/west/info",
                                              "/meridian/v1/imports/shop/web"}));
}

// Issue 13.1: a string that is not UTF-8 serializes (libprotobuf logs an
// ERROR) but does not parse, so every agent rejected the record while the
// controller said "publishing". Such a record is never written; the error
// names the export.
TEST_F(ExportPublisherTest, RecordThatDoesNotDecodeIsNeverPublished) {
  ExportPublisher east(*reg_, Options("east"));
  auto web = Export("east", "web", 1);
  auto bad = Export("east", "db", 1);
  bad.annotations["service.meridian.io/x"] = "\xe9";
  auto report = east.Sync(Cluster("east", 1, "10.1.0.0/16", "172.16.1.11"), {web, bad});
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(
      report.errors[0].rfind("export shop/db: not published: its record does not decode: ", 0), 0u)
      << report.errors[0];
  EXPECT_EQ(Keys(), (std::vector<std::string>{"/meridian/v1/clusters/east/exports/shop/web",
                                              "/meridian/v1/clusters/east/info",
                                              "/meridian/v1/imports/shop/web"}));
}

TEST_F(ExportPublisherTest, AdoptsWhatAPreviousRunLeftAndRemovesTheRest) {
  auto info = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  {
    ExportPublisher before(*reg_, Options("east"));
    ASSERT_TRUE(
        before.Sync(info, {Export("east", "web", 1), Export("east", "old", 1)}).errors.empty());
  }
  ExportPublisher after(*reg_, Options("east"));
  auto report = after.Sync(info, {Export("east", "web", 1)});
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(report.keepalives, 1);  // web unchanged: renewed, not rewritten
  EXPECT_EQ(report.deletes, 1);     // old
  EXPECT_FALSE(reg_->Get(mcs::ExportKey("east", {"shop", "old"}))->has_value());
  EXPECT_FALSE(reg_->Get(mcs::ImportKey({"shop", "old"}))->has_value());
}

TEST_F(ExportPublisherTest, ReleasesOrphanImportsOfDeadClusters) {
  // A dead cluster's import record stays behind after its lease expired.
  ASSERT_TRUE(reg_->Put(mcs::ImportKey({"shop", "dead"}),
                        mcs::EncodeImportRecord({"shop", "dead"}, Ip("10.255.0.7")))
                  .ok());
  ExportPublisher east(*reg_, Options("east"));
  auto r1 = east.Sync(Cluster("east", 1, "10.1.0.0/16", "172.16.1.11"), {});
  EXPECT_EQ(r1.released_imports, 1);  // grace 0 in this test
  EXPECT_FALSE(reg_->Get(mcs::ImportKey({"shop", "dead"}))->has_value());
}

// Issue 12.5: the ClusterSet IP follows the merged import. A headless export
// that is older makes the import headless: the younger ClusterIP exporter
// must neither allocate an IP nor keep one it allocated earlier.
TEST_F(ExportPublisherTest, AllocatesAnIpOnlyForAClusterSetIpImport) {
  ExportPublisher west(*reg_, Options("west"));
  auto west_info = Cluster("west", 2, "10.2.0.0/16", "172.16.2.11");
  auto west_web = Export("west", "web", 200);  // ClusterSetIP, younger
  auto alone = west.Sync(west_info, {west_web});
  ASSERT_TRUE(alone.errors.empty());
  EXPECT_TRUE(reg_->Get(mcs::ImportKey({"shop", "web"}))->has_value());  // alone: ClusterSetIP

  ExportPublisher east(*reg_, Options("east"));
  auto east_web = Export("east", "web", 100);  // older, headless
  east_web.type = model::ImportType::kHeadless;
  auto r = east.Sync(Cluster("east", 1, "10.1.0.0/16", "172.16.1.11"), {east_web});
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.released_imports, 1);
  EXPECT_FALSE(reg_->Get(mcs::ImportKey({"shop", "web"}))->has_value());

  auto again = west.Sync(west_info, {west_web});
  ASSERT_TRUE(again.errors.empty());
  EXPECT_FALSE(reg_->Get(mcs::ImportKey({"shop", "web"}))->has_value())
      << "the younger ClusterIP export re-allocated an IP for a headless import";
  ASSERT_EQ(again.exports.size(), 1u);
  EXPECT_EQ(again.exports[0].import_type, model::ImportType::kHeadless);
  EXPECT_EQ(again.exports[0].clusters, (std::vector<std::string>{"east", "west"}));

  // The headless export goes: the import is ClusterSetIP again, with an IP.
  ASSERT_TRUE(east.Sync(Cluster("east", 1, "10.1.0.0/16", "172.16.1.11"), {}).errors.empty());
  ASSERT_TRUE(west.Sync(west_info, {west_web}).errors.empty());
  EXPECT_TRUE(reg_->Get(mcs::ImportKey({"shop", "web"}))->has_value());
}

// Issue 12.4: a conflict is reported on every export of the service, the
// oldest (winning) one included, with the merged import's view.
TEST_F(ExportPublisherTest, ReportsTheImportsConflictsOnEveryExport) {
  ExportPublisher east(*reg_, Options("east")), west(*reg_, Options("west"));
  auto east_info = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  auto west_info = Cluster("west", 2, "10.2.0.0/16", "172.16.2.11");
  auto west_web = Export("west", "web", 200);
  west_web.session_affinity = model::SessionAffinity::kClientIP;
  ASSERT_TRUE(east.Sync(east_info, {Export("east", "web", 100)}).errors.empty());
  ASSERT_TRUE(west.Sync(west_info, {west_web}).errors.empty());
  const model::ExportConflict expected{
      "west", "SessionAffinityConflict",
      "session affinity ClientIP conflicts with None of the oldest export (cluster east)"};
  for (auto* pub : {&east, &west}) {
    auto r = pub == &east ? pub->Sync(east_info, {Export("east", "web", 100)})
                          : pub->Sync(west_info, {west_web});
    ASSERT_EQ(r.exports.size(), 1u);
    EXPECT_EQ(r.exports[0].service, (model::ObjectKey{"shop", "web"}));
    EXPECT_EQ(r.exports[0].session_affinity, model::SessionAffinity::kNone);
    EXPECT_EQ(r.exports[0].clusters, (std::vector<std::string>{"east", "west"}));
    EXPECT_EQ(r.exports[0].conflicts, std::vector<model::ExportConflict>{expected});
  }
  // Resolved: no conflict on either side.
  west_web.session_affinity = model::SessionAffinity::kNone;
  ASSERT_TRUE(west.Sync(west_info, {west_web}).errors.empty());
  EXPECT_TRUE(east.Sync(east_info, {Export("east", "web", 100)}).exports[0].conflicts.empty());
}

// Issue 12.6: a restarted publisher learns the creation time its previous
// run published, so an export without creationTimestamp keeps its age.
TEST_F(ExportPublisherTest, AdoptReturnsThePreviousRunsCreationTimes) {
  auto info = Cluster("east", 1, "10.1.0.0/16", "172.16.1.11");
  {
    ExportPublisher before(*reg_, Options("east"));
    ASSERT_TRUE(before.Sync(info, {Export("east", "web", 1234)}).errors.empty());
  }
  ExportPublisher after(*reg_, Options("east"));
  EXPECT_FALSE(after.adopted());
  auto created = after.Adopt();
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(after.adopted());
  EXPECT_EQ(*created, (std::map<model::ObjectKey, std::int64_t>{{{"shop", "web"}, 1234}}));
  auto report = after.Sync(info, {Export("east", "web", 1234)});
  EXPECT_TRUE(report.errors.empty());
  EXPECT_EQ(report.keepalives, 1);  // web: adopted by Adopt, so Sync renews it
  EXPECT_EQ(report.puts, 1);        // info: it carries this run's start time
}

}  // namespace
}  // namespace meridian::controller
