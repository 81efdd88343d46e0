#include "common/json_query.h"

#include <gtest/gtest.h>

namespace meridian {
namespace {

const nlohmann::json kStatus = nlohmann::json::parse(R"({
  "state": "serving",
  "reconciles": 12,
  "reused_pinned_maps": false,
  "conntrack": {"entries": 2, "evicted": 0, "last_error": ""},
  "imports": [
    {"name": "default/db", "clusterset_ip": "10.254.0.1", "ports": [5432]},
    {"name": "default/web", "clusterset_ip": "10.254.0.2", "ports": [80, 443]}
  ],
  "node_object": null
})");

std::string Text(const std::string& path) {
  auto v = QueryJson(kStatus, path);
  EXPECT_TRUE(v.ok()) << path << ": " << v.error().message;
  return v.ok() ? JsonValueText(*v) : "";
}

std::string Why(const std::string& path) {
  auto v = QueryJson(kStatus, path);
  EXPECT_FALSE(v.ok()) << path << " matched " << (v.ok() ? v->dump() : "");
  return v.ok() ? "" : v.error().message;
}

TEST(JsonQueryTest, ScalarsPrintAsScriptsWantThem) {
  EXPECT_EQ(Text("state"), "serving");  // no quotes
  EXPECT_EQ(Text("reconciles"), "12");
  EXPECT_EQ(Text("reused_pinned_maps"), "false");
  EXPECT_EQ(Text("conntrack.evicted"), "0");
  EXPECT_EQ(Text("conntrack.last_error"), "");
  EXPECT_EQ(Text("node_object"), "null");
}

TEST(JsonQueryTest, ObjectsAndArraysPrintAsCompactJson) {
  EXPECT_EQ(Text("conntrack"), R"({"entries":2,"evicted":0,"last_error":""})");
  EXPECT_EQ(Text("imports.1.ports"), "[80,443]");
  EXPECT_EQ(Text(""), kStatus.dump());
}

TEST(JsonQueryTest, IndexesAndSelectorsPickArrayElements) {
  EXPECT_EQ(Text("imports.0.name"), "default/db");
  EXPECT_EQ(Text("imports[name=default/web].clusterset_ip"), "10.254.0.2");
  EXPECT_EQ(Text("imports[clusterset_ip=10.254.0.1].name"), "default/db");  // dots in the value
  EXPECT_EQ(Text("imports[name=default/web].ports.1"), "443");
}

TEST(JsonQueryTest, ErrorsNameWhatDidNotMatch) {
  EXPECT_EQ(Why("stat"), "the document has no field 'stat'");
  EXPECT_EQ(Why("conntrack.evict"), "'conntrack' has no field 'evict'");
  EXPECT_EQ(Why("state.x"), "'state' is a string: it has no field 'x'");
  EXPECT_EQ(Why("imports.7"), "'imports' has 2 elements: no element 7");
  EXPECT_EQ(Why("imports.name"), "'imports' is an array: 'name' is no index");
  EXPECT_EQ(Why("imports[name=default/api].clusterset_ip"),
            "'imports' has no element with name = 'default/api'");
  EXPECT_EQ(Why("conntrack[entries=2]"),
            "'conntrack' is an object, not an array: cannot select [entries=2]");
  EXPECT_EQ(Why("imports[name]"),
            "query 'imports[name]': a selector is [member=value], not [name]");
  EXPECT_EQ(Why("imports[name=a"), "query 'imports[name=a': '[' without ']'");
  EXPECT_EQ(Why("imports]"), "query 'imports]': ']' without '['");
  EXPECT_EQ(Why("imports[name=a]x"), "query 'imports[name=a]x': expected '.' after ']'");
  EXPECT_EQ(Why("conntrack..entries"), "query 'conntrack..entries': an empty field name");
  EXPECT_EQ(Why("state."), "query 'state.': an empty field name");
}

}  // namespace
}  // namespace meridian
