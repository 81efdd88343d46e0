#include "controller/export_conditions.h"

#include <gtest/gtest.h>

namespace meridian::controller {
namespace {

using nlohmann::json;

// "Type=Status/Reason" for each condition, in order.
std::vector<std::string> Summary(const json& conditions) {
  std::vector<std::string> out;
  for (const auto& c : conditions) {
    out.push_back(c["type"].get<std::string>() + "=" + c["status"].get<std::string>() + "/" +
                  c["reason"].get<std::string>());
  }
  return out;
}

ExportState Published(std::vector<model::ExportConflict> conflicts = {}) {
  return ExportState{
      .service = {"shop", "web"}, .clusters = {"east", "west"}, .conflicts = std::move(conflicts)};
}

TEST(ExportConditionsTest, PublishedWithoutConflict) {
  json c = ExportConditions({.published = Published()}, json(), "2026-01-01T00:00:00Z");
  EXPECT_EQ(Summary(c), (std::vector<std::string>{"Valid=True/Valid", "Ready=True/Ready",
                                                  "Conflict=False/NoConflicts"}));
  EXPECT_EQ(c[1]["message"], "published to the ClusterSet; exported by 2 cluster(s)");
  EXPECT_EQ(c[0]["lastTransitionTime"], "2026-01-01T00:00:00Z");
}

TEST(ExportConditionsTest, ConflictNamesItsReasonAndEveryConflict) {
  json c = ExportConditions(
      {.published = Published({{"west", "PortConflict", "port 80/TCP differs"},
                               {"north", "SessionAffinityConflict", "ClientIP vs None"}})},
      json(), "t1");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[2]["status"], "True");
  EXPECT_EQ(c[2]["reason"], "PortConflict");
  EXPECT_EQ(c[2]["message"],
            "west: PortConflict: port 80/TCP differs; north: SessionAffinityConflict: ClientIP "
            "vs None");
}

TEST(ExportConditionsTest, InvalidIsValidFalseWithTheKepReason) {
  json c = ExportConditions(
      {.invalid = mcs::ExportProblem{{"shop", "web"}, "NoService", "no Service shop/web"}}, json(),
      "t1");
  EXPECT_EQ(Summary(c), (std::vector<std::string>{"Valid=False/NoService", "Ready=False/Invalid"}));
  EXPECT_EQ(c[0]["message"], "no Service shop/web");
}

TEST(ExportConditionsTest, NotYetPublishedIsPending) {
  json c = ExportConditions({}, json(), "t1");
  EXPECT_EQ(Summary(c), (std::vector<std::string>{"Valid=True/Valid", "Ready=False/Pending"}));
}

// metav1.Condition: lastTransitionTime moves only when the status changes,
// so a sync that changes nothing produces the same conditions (and the
// writer sends nothing).
TEST(ExportConditionsTest, TransitionTimeMovesOnlyWithTheStatus) {
  json first = ExportConditions({.published = Published()}, json(), "t1");
  json again = ExportConditions({.published = Published()}, first, "t2");
  EXPECT_EQ(again, first);
  json conflicted = ExportConditions(
      {.published = Published({{"west", "TypeConflict", "headless"}})}, first, "t3");
  EXPECT_EQ(conflicted[0]["lastTransitionTime"], "t1");  // Valid stayed True
  EXPECT_EQ(conflicted[2]["lastTransitionTime"], "t3");  // Conflict went True
}

}  // namespace
}  // namespace meridian::controller
