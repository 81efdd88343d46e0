// .json manifests take the nlohmann fast path: the same objects and the same
// error messages as when yaml-cpp reads the same text, plus strict JSON
// errors (truncation, duplicate keys).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "decode_helpers.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources {
namespace {

using namespace meridian::sources::test_support;  // Messages

constexpr const char* kService = R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
               "annotations": {"service.meridian.io/global": "true"}},
  "spec": {"clusterIP": "10.96.0.10", "sessionAffinity": "ClientIP",
           "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                     {"name": "dns", "protocol": "UDP", "port": 53, "targetPort": "dns"}]}
})";

constexpr const char* kSlice = R"({
  "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
  "metadata": {"name": "web-1", "namespace": "shop",
               "labels": {"kubernetes.io/service-name": "web"}},
  "addressType": "IPv4",
  "ports": [{"name": "http", "protocol": "TCP", "port": 8080}],
  "endpoints": [{"addresses": ["10.1.1.10"], "hostname": "web-0", "nodeName": "n1",
                 "conditions": {"ready": true, "serving": true, "terminating": false}},
                {"addresses": ["10.1.1.11"], "conditions": {"ready": false}}]
})";

// yaml-cpp reads JSON too: the slow path is the reference.
DecodeResult ViaYaml(const std::string& text) { return DecodeManifests(text, "m.yaml"); }
DecodeResult ViaJson(const std::string& text) { return DecodeManifests(text, "m.json"); }

TEST(JsonManifestTest, SameObjectsAsTheYamlPath) {
  for (const char* text : {kService, kSlice}) {
    DecodeResult y = ViaYaml(text);
    DecodeResult j = ViaJson(text);
    ASSERT_EQ(Messages(y), std::vector<std::string>{}) << text;
    ASSERT_EQ(Messages(j), std::vector<std::string>{}) << text;
    // Sources differ by file name only.
    for (auto& s : y.objects.services) s.meta.source.file = "m.json";
    for (auto& s : y.objects.endpoint_slices) s.meta.source.file = "m.json";
    EXPECT_EQ(j.objects.services, y.objects.services);
    EXPECT_EQ(j.objects.endpoint_slices, y.objects.endpoint_slices);
  }
  EXPECT_EQ(ViaJson(kService).objects.services.at(0).ports.size(), 2u);
  EXPECT_EQ(ViaJson(kSlice).objects.endpoint_slices.at(0).endpoints.size(), 2u);
}

TEST(JsonManifestTest, TypeErrorsReadAsInYaml) {
  // A quoted port is a string, a bare one a number, exactly as in YAML.
  std::string text = R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
    "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "a", "port": "80"}, {"name": "b", "port": true}]}})";
  std::vector<std::string> want = {
      "m.json: document 1: Service default/web: spec.ports[0].port: expected an integer, got "
      "the string \"80\"",
      "m.json: document 1: Service default/web: spec.ports[1].port: expected an integer, got "
      "\"true\""};
  EXPECT_EQ(Messages(ViaJson(text)), want);
  auto y = Messages(ViaYaml(text));
  for (auto& m : y) m.replace(0, 6, "m.json");
  EXPECT_EQ(y, want);
}

TEST(JsonManifestTest, TruncatedJsonIsOneErrorWithItsPosition) {
  std::string text = kService;
  auto r = ViaJson(text.substr(0, 60));
  ASSERT_EQ(Messages(r).size(), 1u);
  EXPECT_EQ(Messages(r)[0].rfind("m.json: invalid JSON at line 3, column ", 0), 0u)
      << Messages(r)[0];
  EXPECT_TRUE(r.objects.services.empty());
}

TEST(JsonManifestTest, DuplicateKeyIsAnError) {
  auto r = ViaJson(R"({"apiVersion": "v1", "kind": "Service", "kind": "Service",
    "metadata": {"name": "web"}, "spec": {"clusterIP": "None"}})");
  EXPECT_EQ(Messages(r), std::vector<std::string>{"m.json: invalid JSON: duplicate key \"kind\""});
}

// Lists take their own path (items converted one at a time): errors inside
// items and on the List itself must read exactly as in the YAML path.
TEST(JsonManifestTest, ListErrorsReadAsInYaml) {
  std::string bad_item = R"({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ok"},
     "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"},
     "spec": {"clusterIP": "10.96.0.2", "ports": [{"port": "80"}]}},
    {"apiVersion": "v1", "kind": "List", "items": []}]})";
  std::string bad_list = R"({"apiVersion": "v2", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ok"},
     "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}}]})";
  for (const auto& text : {bad_item, bad_list}) {
    auto j = ViaJson(text);
    auto y = ViaYaml(text);
    auto want = Messages(y);
    for (auto& m : want) m.replace(0, 6, "m.json");
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(Messages(j), want);
    EXPECT_EQ(j.objects.services.size(), y.objects.services.size());
  }
  EXPECT_EQ(ViaJson(bad_item).objects.services.size(), 1u);  // the good item survives
  EXPECT_TRUE(ViaJson(bad_list).objects.services.empty());
}

TEST(JsonManifestTest, ListKindAndNull) {
  std::string list = std::string(R"({"apiVersion": "v1", "kind": "List", "items": [)") + kService +
                     "," + kSlice + "]}";
  auto r = ViaJson(list);
  EXPECT_EQ(Messages(r), std::vector<std::string>{});
  EXPECT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.endpoint_slices.size(), 1u);
  EXPECT_EQ(Messages(ViaJson("null")), std::vector<std::string>{});
}

}  // namespace
}  // namespace meridian::sources
