// DocNode reads a yaml-cpp tree and a nlohmann::json value the same way, so
// the decoders behave alike on .yaml and .json manifests.
#include "sources/doc_node.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace meridian::sources::internal {
namespace {

constexpr const char* kText =
    R"({"port": 80, "name": "80", "on": true, "ratio": 1.5, "gone": null,
        "list": ["a", 7], "map": {"b": "x", "a": null}})";

// The same text through both parsers (yaml-cpp reads JSON too).
struct Both {
  YAML::Node yaml = YAML::Load(kText);
  nlohmann::json json = nlohmann::json::parse(kText);
  std::vector<DocNode> views() const { return {DocNode(yaml), DocNode(json)}; }
};

TEST(DocNodeTest, ScalarsKeepPlainAndQuotedApart) {
  Both both;
  for (const DocNode& doc : both.views()) {
    ASSERT_TRUE(doc.IsMap());
    auto port = doc.Get("port");
    ASSERT_TRUE(port);
    EXPECT_TRUE(port->IsScalar());
    EXPECT_TRUE(port->IsPlain());
    EXPECT_EQ(port->Scalar(), "80");
    auto name = doc.Get("name");
    ASSERT_TRUE(name);
    EXPECT_FALSE(name->IsPlain()) << "a quoted \"80\" is a string";
    EXPECT_EQ(name->Scalar(), "80");
    EXPECT_EQ(doc.Get("on")->Scalar(), "true");
    EXPECT_TRUE(doc.Get("on")->IsPlain());
    EXPECT_EQ(doc.Get("ratio")->Scalar(), "1.5");
  }
}

TEST(DocNodeTest, NullAndMissingAreAbsentAndNothingThrows) {
  Both both;
  for (const DocNode& doc : both.views()) {
    EXPECT_FALSE(doc.Get("gone"));
    EXPECT_FALSE(doc.Get("nope"));
    auto port = doc.Get("port");
    EXPECT_FALSE(port->Get("x")) << "Get on a scalar";
    EXPECT_TRUE(port->Elements().empty());
    EXPECT_TRUE(port->Entries().empty());
    EXPECT_EQ(port->size(), 0U);
  }
}

TEST(DocNodeTest, ListsAndMaps) {
  Both both;
  for (const DocNode& doc : both.views()) {
    auto list = doc.Get("list");
    ASSERT_TRUE(list && list->IsSequence());
    EXPECT_EQ(list->size(), 2U);
    auto items = list->Elements();
    ASSERT_EQ(items.size(), 2U);
    EXPECT_EQ(items[0].Scalar(), "a");
    EXPECT_FALSE(items[0].IsPlain());
    EXPECT_EQ(items[1].Scalar(), "7");
    EXPECT_TRUE(items[1].IsPlain());

    auto map = doc.Get("map");
    ASSERT_TRUE(map && map->IsMap());
    std::vector<std::string> keys;
    for (const auto& [key, value] : map->Entries()) {
      EXPECT_TRUE(key.IsScalar());
      EXPECT_FALSE(key.IsPlain()) << "keys read as strings";
      keys.push_back(key.Scalar() + "=" + (value.IsNull() ? "null" : value.Scalar()));
    }
    std::sort(keys.begin(), keys.end());  // JSON objects keep no order
    EXPECT_EQ(keys, (std::vector<std::string>{"a=null", "b=x"}));
  }
}

}  // namespace
}  // namespace meridian::sources::internal
