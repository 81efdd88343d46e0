// DecodeManifests on the multi-cluster kinds: ServiceExport and Cluster.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "decode_helpers.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources {
namespace {

using model::Cidr;
using model::Ipv4Address;
using namespace meridian::sources::test_support;  // Decode, Messages, Ip, Net, ExpectErrors

std::string ExportYaml(const std::string& metadata = "  name: web\n") {
  return "apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\nmetadata:\n" + metadata;
}

// A valid gateway Cluster "east"; tests splice bad values into its spec.
std::string ClusterYaml(
    const std::string& spec = "  id: 2\n  podCIDRs: [10.2.0.0/16]\n  gateway: 172.16.2.10\n") {
  return "apiVersion: meridian.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: east\nspec:\n" + spec;
}

// spec.id and spec.podCIDRs of ClusterYaml, followed by `rest`.
std::string ClusterSpec(const std::string& rest) {
  return "  id: 2\n  podCIDRs: [10.2.0.0/16]\n" + rest;
}

constexpr const char* kEast = "m.yaml: document 1: Cluster east: ";

// ---------------------------------------------------------------------------
// ServiceExport.

TEST(ServiceExportDecodeTest, DecodesEveryField) {
  DecodeResult r = Decode(ExportYaml(R"(  name: web
  namespace: shop
  labels: {app: web}
  annotations:
    note: "exported: yes"
  creationTimestamp: "2024-05-01T10:00:00Z"
status:
  conditions: [{type: Valid, status: "True"}]
)"));
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.service_exports.size(), 1u);
  EXPECT_TRUE(r.objects.services.empty());
  EXPECT_TRUE(r.objects.clusters.empty());
  const model::ServiceExport& e = r.objects.service_exports[0];
  model::ServiceExport want;
  want.meta.key = {"shop", "web"};
  want.meta.labels = {{"app", "web"}};
  want.meta.annotations = {{"note", "exported: yes"}};
  want.meta.creation_timestamp = "2024-05-01T10:00:00Z";
  want.meta.source = {"m.yaml", 0};
  EXPECT_EQ(e, want);
}

TEST(ServiceExportDecodeTest, DefaultsNamespaceAndNeedsNoService) {
  // No Service "web" in the text: that is not the decoder's concern, and not
  // an error at all (Kubernetes accepts an export before its Service).
  DecodeResult r = Decode(ExportYaml());
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.service_exports.size(), 1u);
  const model::ServiceExport& e = r.objects.service_exports[0];
  EXPECT_EQ(e.meta.key, (model::ObjectKey{"default", "web"}));
  EXPECT_TRUE(e.meta.labels.empty());
  EXPECT_TRUE(e.meta.annotations.empty());
  EXPECT_EQ(e.meta.creation_timestamp, "");
}

TEST(ServiceExportDecodeTest, RejectsBadMetadata) {
  ExpectErrors(ExportYaml("  namespace: shop\n"), {"m.yaml: document 1: metadata.name: required"});
  ExpectErrors(ExportYaml("  name: 1web\n"),
               {"m.yaml: document 1: ServiceExport default/1web: metadata.name: \"1web\" is not "
                "a valid DNS-1035 label (at most 63 lowercase letters, digits and '-', starting "
                "with a letter and ending with a letter or digit)"});
  ExpectErrors(ExportYaml("  name: web\n  namespace: Shop\n"),
               {"m.yaml: document 1: ServiceExport Shop/web: metadata.namespace: \"Shop\" is not "
                "a valid DNS label (at most 63 lowercase letters, digits and '-', starting and "
                "ending with a letter or digit)"});
  ExpectErrors(ExportYaml("  name: web\n  labels: [a]\n"),
               {"m.yaml: document 1: ServiceExport default/web: metadata.labels: expected a map, "
                "got a list"});
}

TEST(ServiceExportDecodeTest, RejectsWrongApiVersion) {
  std::string text = ExportYaml();
  text.replace(text.find("v1alpha1"), 8, "v1beta1");
  ExpectErrors(text, {"m.yaml: document 1: ServiceExport default/web: apiVersion: unsupported "
                      "apiVersion \"multicluster.x-k8s.io/v1beta1\" for kind ServiceExport; "
                      "accepted: multicluster.x-k8s.io/v1alpha1"});
}

// ---------------------------------------------------------------------------
// Cluster: valid input.

TEST(ClusterDecodeTest, DecodesEveryFieldWithTunnelEndpoints) {
  DecodeResult r = Decode(R"(apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata:
  name: east
  labels: {region: eu}
  annotations: {note: x}
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  id: 16777215
  podCIDRs: ["10.2.0.0/16", "10.20.0.0/16"]
  tunnelEndpoints:
  - address: 172.16.2.11
    podCIDRs: ["10.2.1.0/24"]
  - address: 172.16.2.12
    podCIDRs: ["10.2.2.0/24", "10.20.0.0/24"]
status: {}
)");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.clusters.size(), 1u);
  EXPECT_TRUE(r.objects.service_exports.empty());
  model::Cluster want;
  want.meta.key = {"", "east"};
  want.meta.labels = {{"region", "eu"}};
  want.meta.annotations = {{"note", "x"}};
  want.meta.creation_timestamp = "2024-05-01T10:00:00Z";
  want.meta.source = {"m.yaml", 0};
  want.id = 16777215;
  want.pod_cidrs = {Net("10.2.0.0/16"), Net("10.20.0.0/16")};
  want.tunnel_endpoints = {{Ip("172.16.2.11"), {Net("10.2.1.0/24")}},
                           {Ip("172.16.2.12"), {Net("10.2.2.0/24"), Net("10.20.0.0/24")}}};
  EXPECT_EQ(r.objects.clusters[0], want);
}

TEST(ClusterDecodeTest, DecodesAGatewayCluster) {
  DecodeResult r =
      Decode(ClusterYaml("  id: 1\n  podCIDRs: [10.2.0.0/16, 10.3.0.0/16]\n"
                         "  gateway: 172.16.2.10\n  tunnelEndpoints: []\n"));
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.clusters.size(), 1u);
  model::Cluster want;
  want.meta.key = {"", "east"};
  want.meta.source = {"m.yaml", 0};
  want.id = 1;
  want.pod_cidrs = {Net("10.2.0.0/16"), Net("10.3.0.0/16")};
  want.gateway = Ip("172.16.2.10");
  EXPECT_EQ(r.objects.clusters[0], want);
}

TEST(ClusterDecodeTest, EmptyNamespaceIsNoNamespace) {
  std::string text = ClusterYaml();
  text.replace(text.find("  name: east\n"), 13, "  name: 1-east\n  namespace: \"\"\n");
  DecodeResult r = Decode(text);
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.clusters.size(), 1u);
  // A DNS label may start with a digit.
  EXPECT_EQ(r.objects.clusters[0].meta.key, (model::ObjectKey{"", "1-east"}));
}

TEST(ClusterDecodeTest, DecodesListsOfBothKinds) {
  DecodeResult r = Decode(R"(apiVersion: v1
kind: List
items:
- apiVersion: multicluster.x-k8s.io/v1alpha1
  kind: ServiceExport
  metadata: {name: web, namespace: shop}
- apiVersion: meridian.io/v1alpha1
  kind: Cluster
  metadata: {name: east}
  spec: {id: 2, podCIDRs: [10.2.0.0/16], gateway: 172.16.2.10}
- apiVersion: meridian.io/v1alpha1
  kind: Cluster
  metadata: {name: west}
  spec: {id: 3, podCIDRs: [10.3.0.1/16], gateway: 172.16.3.10}
)");
  EXPECT_EQ(Messages(r),
            std::vector<std::string>{"m.yaml: document 1: Cluster west: items[2].spec.podCIDRs[0]: "
                                     "\"10.3.0.1/16\" is not a CIDR (host bits must be zero)"});
  ASSERT_EQ(r.objects.service_exports.size(), 1u);
  EXPECT_EQ(r.objects.service_exports[0].meta.key, (model::ObjectKey{"shop", "web"}));
  ASSERT_EQ(r.objects.clusters.size(), 1u);
  EXPECT_EQ(r.objects.clusters[0].meta.key.name, "east");
}

// ---------------------------------------------------------------------------
// Cluster: errors.

TEST(ClusterDecodeTest, IsClusterScoped) {
  std::string text = ClusterYaml();
  text.replace(text.find("  name: east\n"), 13, "  name: east\n  namespace: default\n");
  ExpectErrors(text, {std::string(kEast) +
                      "metadata.namespace: Cluster is cluster-scoped; remove metadata.namespace"});
  text = ClusterYaml();
  text.replace(text.find("  name: east\n"), 13, "  name: east\n  namespace: [a]\n");
  ExpectErrors(text, {std::string(kEast) +
                      "metadata.namespace: Cluster is cluster-scoped; remove metadata.namespace"});
}

TEST(ClusterDecodeTest, RejectsBadName) {
  std::string text = ClusterYaml();
  ExpectErrors(text.replace(text.find("name: east"), 10, "name: East"),
               {"m.yaml: document 1: Cluster East: metadata.name: \"East\" is not a valid DNS "
                "label (at most 63 lowercase letters, digits and '-', starting and ending with a "
                "letter or digit)"});
  text = ClusterYaml();
  ExpectErrors(text.replace(text.find("  name: east\n"), 13, "  labels: {a: b}\n"),
               {"m.yaml: document 1: metadata.name: required"});
}

TEST(ClusterDecodeTest, RejectsWrongApiVersion) {
  std::string text = ClusterYaml();
  ExpectErrors(text.replace(0, 32, "apiVersion: meridian.io/v1"),
               {std::string(kEast) +
                "apiVersion: unsupported apiVersion \"meridian.io/v1\" for kind Cluster; "
                "accepted: meridian.io/v1alpha1"});
}

TEST(ClusterDecodeTest, RequiresSpec) {
  ExpectErrors("apiVersion: meridian.io/v1alpha1\nkind: Cluster\nmetadata: {name: east}\n",
               {std::string(kEast) + "spec: required"});
  ExpectErrors(
      "apiVersion: meridian.io/v1alpha1\nkind: Cluster\nmetadata: {name: east}\nspec: [1]\n",
      {std::string(kEast) + "spec: expected a map, got a list"});
  ExpectErrors(
      ClusterYaml("  {}\n"),
      {std::string(kEast) + "spec.id: required",
       std::string(kEast) + "spec.podCIDRs: required (at least one IPv4 CIDR)",
       std::string(kEast) + "spec: exactly one of tunnelEndpoints and gateway must be given, got "
                            "neither"});
}

TEST(ClusterDecodeTest, ChecksIdRange) {
  const std::string range = " is out of range 1-16777215 (it is the cluster's 24-bit VXLAN VNI)";
  ExpectErrors(ClusterYaml("  id: 0\n  podCIDRs: [10.2.0.0/16]\n  gateway: 172.16.2.10\n"),
               {std::string(kEast) + "spec.id: 0" + range});
  ExpectErrors(ClusterYaml("  id: 16777216\n  podCIDRs: [10.2.0.0/16]\n  gateway: 172.16.2.10\n"),
               {std::string(kEast) + "spec.id: 16777216" + range});
  ExpectErrors(ClusterYaml("  id: -2\n  podCIDRs: [10.2.0.0/16]\n  gateway: 172.16.2.10\n"),
               {std::string(kEast) + "spec.id: -2" + range});
  ExpectErrors(ClusterYaml("  id: \"2\"\n  podCIDRs: [10.2.0.0/16]\n  gateway: 172.16.2.10\n"),
               {std::string(kEast) + "spec.id: expected an integer, got the string \"2\""});
}

TEST(ClusterDecodeTest, ChecksPodCidrs) {
  auto spec = [](const std::string& cidrs) {
    return ClusterYaml("  id: 2\n  podCIDRs: " + cidrs + "\n  gateway: 172.16.2.10\n");
  };
  ExpectErrors(spec("[\"10.2.0.1/16\"]"),
               {std::string(kEast) +
                "spec.podCIDRs[0]: \"10.2.0.1/16\" is not a CIDR (host bits must be zero)"});
  const std::string not_cidr =
      " is not an IPv4 CIDR (expected address/prefix length, e.g. 10.1.0.0/16)";
  ExpectErrors(spec("[10.2.0.0/16, 10.3.0.0, 10.4.0.0/33, 10.5.0/16, 10.6.0.0/+8]"),
               {std::string(kEast) + "spec.podCIDRs[1]: \"10.3.0.0\"" + not_cidr,
                std::string(kEast) + "spec.podCIDRs[2]: \"10.4.0.0/33\"" + not_cidr,
                std::string(kEast) + "spec.podCIDRs[3]: \"10.5.0/16\"" + not_cidr,
                std::string(kEast) + "spec.podCIDRs[4]: \"10.6.0.0/+8\"" + not_cidr});
  ExpectErrors(spec("[\"fd00:2::/64\"]"),
               {std::string(kEast) + "spec.podCIDRs[0]: \"fd00:2::/64\": IPv6 is not supported "
                                     "yet"});
  ExpectErrors(spec("[]"),
               {std::string(kEast) + "spec.podCIDRs: required (at least one IPv4 CIDR)"});
  ExpectErrors(spec("10.2.0.0/16"),
               {std::string(kEast) + "spec.podCIDRs: expected a list, got \"10.2.0.0/16\""});
  ExpectErrors(spec("[{cidr: 10.2.0.0/16}]"),
               {std::string(kEast) + "spec.podCIDRs[0]: expected a string, got a map"});
}

TEST(ClusterDecodeTest, PodCidrsMustNotOverlap) {
  ExpectErrors(
      ClusterYaml("  id: 2\n  podCIDRs: [10.2.0.0/16, 10.3.0.0/16, 10.2.128.0/17, 10.3.0.0/16]\n"
                  "  gateway: 172.16.2.10\n"),
      {std::string(kEast) + "spec.podCIDRs[2]: 10.2.128.0/17 overlaps 10.2.0.0/16 at "
                            "spec.podCIDRs[0]",
       std::string(kEast) + "spec.podCIDRs[3]: 10.3.0.0/16 overlaps 10.3.0.0/16 at "
                            "spec.podCIDRs[1]"});
  // The shorter prefix second: it contains the first.
  ExpectErrors(ClusterYaml("  id: 2\n  podCIDRs: [10.2.1.0/24, 10.0.0.0/8]\n"
                           "  gateway: 172.16.2.10\n"),
               {std::string(kEast) +
                "spec.podCIDRs[1]: 10.0.0.0/8 overlaps 10.2.1.0/24 at spec.podCIDRs[0]"});
}

TEST(ClusterDecodeTest, EndpointCidrsMustLieInsidePodCidrs) {
  ExpectErrors(
      ClusterYaml(ClusterSpec("  tunnelEndpoints:\n"
                              "  - {address: 172.16.2.11, podCIDRs: [10.2.1.0/24]}\n"
                              "  - {address: 172.16.2.12, podCIDRs: [10.3.1.0/24]}\n"
                              "  - {address: 172.16.2.13, podCIDRs: [11.0.0.0/8]}\n")),
      {std::string(kEast) + "spec.tunnelEndpoints[1].podCIDRs[0]: \"10.3.1.0/24\" is not inside "
                            "spec.podCIDRs",
       std::string(kEast) + "spec.tunnelEndpoints[2].podCIDRs[0]: \"11.0.0.0/8\" is not inside "
                            "spec.podCIDRs"});
  // The whole pod CIDR is fine for one endpoint.
  DecodeResult r = Decode(ClusterYaml(
      ClusterSpec("  tunnelEndpoints:\n  - {address: 172.16.2.11, podCIDRs: [10.2.0.0/16]}\n")));
  EXPECT_EQ(Messages(r), std::vector<std::string>{});
  EXPECT_EQ(r.objects.clusters.size(), 1u);
}

TEST(ClusterDecodeTest, ContainmentIsNotJudgedAgainstBadPodCidrs) {
  // With spec.podCIDRs[0] unreadable, "not inside" would be a guess.
  ExpectErrors(ClusterYaml("  id: 2\n  podCIDRs: [10.2.0.1/16]\n  tunnelEndpoints:\n"
                           "  - {address: 172.16.2.11, podCIDRs: [10.2.1.0/24]}\n"),
               {std::string(kEast) +
                "spec.podCIDRs[0]: \"10.2.0.1/16\" is not a CIDR (host bits must be zero)"});
}

TEST(ClusterDecodeTest, EndpointCidrsMustNotOverlap) {
  ExpectErrors(ClusterYaml(ClusterSpec(
                   "  tunnelEndpoints:\n"
                   "  - {address: 172.16.2.11, podCIDRs: [10.2.1.0/24, 10.2.2.0/24]}\n"
                   "  - {address: 172.16.2.12, podCIDRs: [10.2.2.128/25]}\n"
                   "  - {address: 172.16.2.13, podCIDRs: [10.2.3.0/24, 10.2.3.0/24]}\n")),
               {std::string(kEast) + "spec.tunnelEndpoints[1].podCIDRs[0]: 10.2.2.128/25 overlaps "
                                     "10.2.2.0/24 at spec.tunnelEndpoints[0].podCIDRs[1]",
                std::string(kEast) + "spec.tunnelEndpoints[2].podCIDRs[1]: 10.2.3.0/24 overlaps "
                                     "10.2.3.0/24 at spec.tunnelEndpoints[2].podCIDRs[0]"});
}

TEST(ClusterDecodeTest, EndpointAddressesMustBeUnique) {
  ExpectErrors(ClusterYaml(ClusterSpec("  tunnelEndpoints:\n"
                                       "  - {address: 172.16.2.11, podCIDRs: [10.2.1.0/24]}\n"
                                       "  - {address: 172.16.2.12, podCIDRs: [10.2.2.0/24]}\n"
                                       "  - {address: 172.16.2.11, podCIDRs: [10.2.3.0/24]}\n")),
               {std::string(kEast) + "spec.tunnelEndpoints[2].address: 172.16.2.11 is already "
                                     "used by spec.tunnelEndpoints[0]"});
}

TEST(ClusterDecodeTest, ChecksEndpointFields) {
  ExpectErrors(
      ClusterYaml(ClusterSpec("  tunnelEndpoints:\n"
                              "  - {podCIDRs: [10.2.1.0/24]}\n"
                              "  - {address: 172.16.2.300, podCIDRs: [10.2.2.0/24]}\n"
                              "  - {address: \"fd00::1\", podCIDRs: [10.2.3.0/24]}\n"
                              "  - {address: 172.16.2.14}\n"
                              "  - {address: 172.16.2.15, podCIDRs: []}\n"
                              "  - 172.16.2.16\n")),
      {std::string(kEast) + "spec.tunnelEndpoints[0].address: required",
       std::string(kEast) +
           "spec.tunnelEndpoints[1].address: \"172.16.2.300\" is not an IPv4 address",
       std::string(kEast) +
           "spec.tunnelEndpoints[2].address: \"fd00::1\": IPv6 is not supported yet",
       std::string(kEast) + "spec.tunnelEndpoints[3].podCIDRs: required (at least one IPv4 CIDR)",
       std::string(kEast) + "spec.tunnelEndpoints[4].podCIDRs: required (at least one IPv4 CIDR)",
       std::string(kEast) + "spec.tunnelEndpoints[5]: expected a map, got \"172.16.2.16\""});
  ExpectErrors(ClusterYaml(ClusterSpec("  tunnelEndpoints: {address: 172.16.2.11}\n")),
               {std::string(kEast) + "spec.tunnelEndpoints: expected a list, got a map"});
}

TEST(ClusterDecodeTest, ChecksGateway) {
  ExpectErrors(ClusterYaml(ClusterSpec("  gateway: 172.16.2\n")),
               {std::string(kEast) + "spec.gateway: \"172.16.2\" is not an IPv4 address"});
  ExpectErrors(ClusterYaml(ClusterSpec("  gateway: [172.16.2.10]\n")),
               {std::string(kEast) + "spec.gateway: expected a string, got a list"});
}

TEST(ClusterDecodeTest, NeedsExactlyOneOfTunnelEndpointsAndGateway) {
  const std::string one_of = "spec: exactly one of tunnelEndpoints and gateway must be given, got ";
  ExpectErrors(ClusterYaml(ClusterSpec("  gateway: 172.16.2.10\n  tunnelEndpoints:\n"
                                       "  - {address: 172.16.2.11, podCIDRs: [10.2.1.0/24]}\n")),
               {std::string(kEast) + one_of + "both"});
  ExpectErrors(ClusterYaml(ClusterSpec("")), {std::string(kEast) + one_of + "neither"});
  ExpectErrors(ClusterYaml(ClusterSpec("  tunnelEndpoints: []\n  gateway: null\n")),
               {std::string(kEast) + one_of + "neither (tunnelEndpoints is empty)"});
}

}  // namespace
}  // namespace meridian::sources
