#include "sources/manifest_decoder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "decode_helpers.h"

namespace meridian::sources {
namespace {

using model::Ipv4Address;
using model::Protocol;
using namespace meridian::sources::test_support;  // Decode, Messages, Ip, ExpectErrors

// A valid single-port Service; tests splice bad values into its text.
std::string ServiceYaml(const std::string& spec_tail = "  ports:\n  - port: 80\n") {
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: 10.96.0.10\n" +
         spec_tail;
}

std::string SliceYaml(const std::string& tail) {
  return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
         "  labels:\n    kubernetes.io/service-name: web\naddressType: IPv4\n" +
         tail;
}

// ---------------------------------------------------------------------------
// Valid input.

TEST(ManifestDecoderTest, DecodesEveryServiceField) {
  DecodeResult r = Decode(R"(apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels:
    app: web
    tier: frontend
  annotations:
    meridian.io/note: "hello: world"
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  clusterIPs: ["10.96.0.10", "fd00::10"]
  selector: {app: web}
  ports:
  - name: http
    protocol: TCP
    port: 80
    targetPort: 8080
  - name: dns
    protocol: UDP
    port: 53
    targetPort: dns-udp
  - name: metrics
    port: 9090
status: {}
)");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_TRUE(r.objects.endpoint_slices.empty());
  const model::Service& s = r.objects.services[0];
  EXPECT_EQ(s.meta.key.ns, "shop");
  EXPECT_EQ(s.meta.key.name, "web");
  EXPECT_EQ(s.meta.labels,
            (std::map<std::string, std::string>{{"app", "web"}, {"tier", "frontend"}}));
  EXPECT_EQ(s.meta.annotations,
            (std::map<std::string, std::string>{{"meridian.io/note", "hello: world"}}));
  EXPECT_EQ(s.meta.creation_timestamp, "2024-05-01T10:00:00Z");
  EXPECT_EQ(s.meta.source, (model::SourceRef{"m.yaml", 0}));
  EXPECT_EQ(s.type, model::ServiceType::kLoadBalancer);
  EXPECT_EQ(s.cluster_ip, Ip("10.96.0.10"));
  ASSERT_EQ(s.ports.size(), 3u);
  EXPECT_EQ(s.ports[0], (model::ServicePort{"http", Protocol::kTcp, 80, 8080, ""}));
  EXPECT_EQ(s.ports[1], (model::ServicePort{"dns", Protocol::kUdp, 53, std::nullopt, "dns-udp"}));
  EXPECT_EQ(s.ports[2], (model::ServicePort{"metrics", Protocol::kTcp, 9090, std::nullopt, ""}));
}

TEST(ManifestDecoderTest, DecodesEveryEndpointSliceField) {
  DecodeResult r = Decode(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: shop
  labels:
    kubernetes.io/service-name: web
    endpointslice.kubernetes.io/managed-by: manual
  annotations:
    note: x
  creationTimestamp: "2024-05-01T10:00:00Z"
addressType: IPv4
endpoints:
- addresses: ["10.1.0.5"]
  conditions: {ready: true, serving: true, terminating: false}
  hostname: web-0
  nodeName: node-a
  zone: zone-1
- addresses: ["10.1.0.6", "10.1.0.7"]
  conditions: {ready: false, serving: false, terminating: true}
  nodeName: node-b
- addresses: ["10.1.0.8"]
ports:
- name: http
  protocol: TCP
  port: 8080
- name: dns-udp
  protocol: UDP
  port: 5353
)");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.endpoint_slices.size(), 1u);
  EXPECT_TRUE(r.objects.services.empty());
  const model::EndpointSlice& s = r.objects.endpoint_slices[0];
  EXPECT_EQ(s.meta.key, (model::ObjectKey{"shop", "web-abc12"}));
  EXPECT_EQ(s.meta.labels, (std::map<std::string, std::string>{
                               {"kubernetes.io/service-name", "web"},
                               {"endpointslice.kubernetes.io/managed-by", "manual"}}));
  EXPECT_EQ(s.meta.annotations, (std::map<std::string, std::string>{{"note", "x"}}));
  EXPECT_EQ(s.meta.creation_timestamp, "2024-05-01T10:00:00Z");
  EXPECT_EQ(s.meta.source, (model::SourceRef{"m.yaml", 0}));
  EXPECT_EQ(s.service_name, "web");
  ASSERT_EQ(s.endpoints.size(), 3u);
  EXPECT_EQ(s.endpoints[0],
            (model::Endpoint{{Ip("10.1.0.5")}, {true, true, false}, "web-0", "node-a", "zone-1"}));
  EXPECT_EQ(
      s.endpoints[1],
      (model::Endpoint{{Ip("10.1.0.6"), Ip("10.1.0.7")}, {false, false, true}, "", "node-b", ""}));
  EXPECT_EQ(s.endpoints[2], (model::Endpoint{{Ip("10.1.0.8")}, {true, true, false}, "", "", ""}));
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[0], (model::EndpointPort{"http", Protocol::kTcp, 8080}));
  EXPECT_EQ(s.ports[1], (model::EndpointPort{"dns-udp", Protocol::kUdp, 5353}));
}

TEST(ManifestDecoderTest, AppliesDefaults) {
  DecodeResult r = Decode(ServiceYaml() + "---\n" +
                          SliceYaml("endpoints:\n- addresses: [10.1.0.5]\nports:\n- port: 80\n"));
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  const model::Service& s = r.objects.services[0];
  EXPECT_EQ(s.meta.key, (model::ObjectKey{"default", "web"}));
  EXPECT_TRUE(s.meta.labels.empty());
  EXPECT_EQ(s.meta.creation_timestamp, "");
  EXPECT_EQ(s.type, model::ServiceType::kClusterIP);
  ASSERT_EQ(s.ports.size(), 1u);
  // No name (single port), TCP, and no targetPort: "same as port".
  EXPECT_EQ(s.ports[0], (model::ServicePort{"", Protocol::kTcp, 80, std::nullopt, ""}));

  ASSERT_EQ(r.objects.endpoint_slices.size(), 1u);
  const model::EndpointSlice& e = r.objects.endpoint_slices[0];
  EXPECT_EQ(e.meta.key.ns, "default");
  ASSERT_EQ(e.endpoints.size(), 1u);
  EXPECT_EQ(e.endpoints[0].conditions, (model::EndpointConditions{true, true, false}));
  EXPECT_EQ(e.ports, (std::vector<model::EndpointPort>{{"", Protocol::kTcp, 80}}));
}

TEST(ManifestDecoderTest, NullFieldsCountAsAbsent) {
  DecodeResult r =
      Decode(ServiceYaml("  type: null\n  ports:\n  - port: 80\n    protocol: ~\n") + "status:\n");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].type, model::ServiceType::kClusterIP);
  EXPECT_EQ(r.objects.services[0].ports[0].protocol, Protocol::kTcp);
}

TEST(ManifestDecoderTest, HeadlessServiceHasNoVipAndMayHaveNoPorts) {
  DecodeResult r = Decode(
      "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  clusterIP: None\n"
      "  clusterIPs: [None]\n");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].cluster_ip, std::nullopt);
  EXPECT_TRUE(r.objects.services[0].ports.empty());
}

TEST(ManifestDecoderTest, AcceptsEveryServiceType) {
  const std::pair<const char*, model::ServiceType> cases[] = {
      {"ClusterIP", model::ServiceType::kClusterIP},
      {"NodePort", model::ServiceType::kNodePort},
      {"LoadBalancer", model::ServiceType::kLoadBalancer}};
  for (const auto& [text, type] : cases) {
    DecodeResult r =
        Decode(ServiceYaml(std::string("  type: ") + text + "\n  ports: [{port: 80}]\n"));
    ASSERT_EQ(r.objects.services.size(), 1u) << text;
    EXPECT_EQ(r.objects.services[0].type, type) << text;
  }
  DecodeResult r = Decode(
      "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  type: ExternalName\n"
      "  externalName: db.example.com\n");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].type, model::ServiceType::kExternalName);
  EXPECT_EQ(r.objects.services[0].cluster_ip, std::nullopt);
}

TEST(ManifestDecoderTest, DecodesEveryDocumentAndSkipsEmptyOnes) {
  DecodeResult r = Decode("# leading comment\n---\n" + ServiceYaml() +
                          "---\n# only a comment\n---\n" + SliceYaml("") + "---\n");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  ASSERT_EQ(r.objects.endpoint_slices.size(), 1u);
  // Document indices count the empty document in between.
  EXPECT_EQ(r.objects.services[0].meta.source, (model::SourceRef{"m.yaml", 0}));
  EXPECT_EQ(r.objects.endpoint_slices[0].meta.source, (model::SourceRef{"m.yaml", 2}));
}

TEST(ManifestDecoderTest, EmptyTextHasNothing) {
  for (const char* text : {"", "\n", "# just a comment\n", "---\n---\n"}) {
    DecodeResult r = Decode(text);
    EXPECT_EQ(Messages(r), std::vector<std::string>{}) << text;
    EXPECT_EQ(r.objects, model::ResourceSnapshot{}) << text;
  }
}

TEST(ManifestDecoderTest, DecodesListItems) {
  DecodeResult r = Decode(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec: {clusterIP: 10.96.0.1, ports: [{port: 80}]}
- apiVersion: v1
  kind: Service
  metadata: {name: b}
  spec: {clusterIP: 10.96.0.2, ports: [{port: 70000}]}
)");
  EXPECT_EQ(Messages(r), std::vector<std::string>{
                             "m.yaml: document 1: Service default/b: items[1].spec.ports[0].port: "
                             "70000 is out of range 1-65535"});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].meta.key.name, "a");
}

TEST(ManifestDecoderTest, DecodesJson) {
  DecodeResult r = Decode(R"({
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": {"name": "web", "namespace": "shop"},
	"spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80, "targetPort": "http"}]}
})");
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].ports[0],
            (model::ServicePort{"", Protocol::kTcp, 80, std::nullopt, "http"}));
}

TEST(ManifestDecoderTest, IgnoresByteOrderMark) {
  DecodeResult r = Decode("\xEF\xBB\xBF" + ServiceYaml());
  EXPECT_EQ(Messages(r), std::vector<std::string>{});
  EXPECT_EQ(r.objects.services.size(), 1u);
}

// ---------------------------------------------------------------------------
// Errors: each names file, document, object and field.

TEST(ManifestDecoderTest, GoodDocumentsSurviveABadOne) {
  DecodeResult r = Decode(ServiceYaml() + "---\n" +
                          "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n"
                          "  clusterIP: 10.96.0.11\n  ports:\n  - name: a\n    port: 80\n"
                          "  - name: b\n    port: 70000\n");
  EXPECT_EQ(Messages(r), std::vector<std::string>{
                             "m.yaml: document 2: Service default/api: spec.ports[1].port: 70000 "
                             "is out of range 1-65535"});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].meta.key.name, "web");
  const DecodeError& e = r.errors.at(0);
  EXPECT_EQ(e, (DecodeError{"m.yaml", 1, "Service default/api", "spec.ports[1].port",
                            "70000 is out of range 1-65535"}));
}

TEST(ManifestDecoderTest, ToStringOmitsEmptyParts) {
  EXPECT_EQ((DecodeError{"a.yaml", 0, "", "", "boom"}).ToString(), "a.yaml: document 1: boom");
  EXPECT_EQ((DecodeError{"a.yaml", -1, "", "", "boom"}).ToString(), "a.yaml: boom");
  EXPECT_EQ((DecodeError{"", -1, "Service a/b", "spec", "boom"}).ToString(),
            "Service a/b: spec: boom");
}

TEST(ManifestDecoderTest, RejectsPortsOutOfRange) {
  ExpectErrors(ServiceYaml("  ports:\n  - port: 0\n    targetPort: 65536\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].port: 0 is out of range "
                "1-65535",
                "m.yaml: document 1: Service default/web: spec.ports[0].targetPort: 65536 is out "
                "of range 1-65535"});
  ExpectErrors(ServiceYaml("  ports:\n  - port: -1\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].port: -1 is out of range "
                "1-65535"});
  ExpectErrors(ServiceYaml("  ports:\n  - port: 99999999999999999999999\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].port: "
                "99999999999999999999999 is out of range 1-65535"});
  ExpectErrors(SliceYaml("ports:\n- port: 65536\n"),
               {"m.yaml: document 1: EndpointSlice default/web-1: ports[0].port: 65536 is out of "
                "range 1-65535"});
}

TEST(ManifestDecoderTest, RejectsBadAddresses) {
  ExpectErrors(SliceYaml("endpoints:\n- addresses: [10.1.1.3, 10.1.1.300]\n"),
               {"m.yaml: document 1: EndpointSlice default/web-1: endpoints[0].addresses[1]: "
                "\"10.1.1.300\" is not an IPv4 address"});
  ExpectErrors(ServiceYaml().replace(ServiceYaml().find("10.96.0.10"), 10, "10.96.0"),
               {"m.yaml: document 1: Service default/web: spec.clusterIP: \"10.96.0\" is not an "
                "IPv4 address"});
  ExpectErrors(SliceYaml("endpoints:\n- addresses: []\n- conditions: {ready: true}\n"),
               {"m.yaml: document 1: EndpointSlice default/web-1: endpoints[0].addresses: "
                "required (at least one address)",
                "m.yaml: document 1: EndpointSlice default/web-1: endpoints[1].addresses: "
                "required (at least one address)"});
}

TEST(ManifestDecoderTest, RejectsIpv6) {
  ExpectErrors(ServiceYaml().replace(ServiceYaml().find("10.96.0.10"), 10, "fd00::10"),
               {"m.yaml: document 1: Service default/web: spec.clusterIP: \"fd00::10\": IPv6 is "
                "not supported yet"});
  ExpectErrors(SliceYaml("endpoints:\n- addresses: [\"fd00::5\"]\n"),
               {"m.yaml: document 1: EndpointSlice default/web-1: endpoints[0].addresses[0]: "
                "\"fd00::5\": IPv6 is not supported yet"});
  std::string slice = SliceYaml("");
  slice.replace(slice.find("IPv4"), 4, "IPv6");
  ExpectErrors(slice, {"m.yaml: document 1: EndpointSlice default/web-1: addressType: "
                       "unsupported addressType \"IPv6\"; accepted: IPv4"});
  slice.replace(slice.find("IPv6"), 4, "FQDN");
  ExpectErrors(slice, {"m.yaml: document 1: EndpointSlice default/web-1: addressType: "
                       "unsupported addressType \"FQDN\"; accepted: IPv4"});
}

TEST(ManifestDecoderTest, RejectsUnknownKind) {
  ExpectErrors("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n",
               {"m.yaml: document 1: Deployment shop/web: kind: unsupported kind \"Deployment\"; "
                "accepted: Service, EndpointSlice, ServiceExport, Cluster, ClusterProperty, Node"});
  ExpectErrors("apiVersion: v1\nmetadata: {name: web}\n", {"m.yaml: document 1: kind: required"});
  // A List inside a List is not an object we accept.
  ExpectErrors("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: []}\n",
               {"m.yaml: document 1: items[0].kind: unsupported kind \"List\"; accepted: "
                "Service, EndpointSlice, ServiceExport, Cluster, ClusterProperty, Node"});
}

TEST(ManifestDecoderTest, RejectsWrongApiVersion) {
  std::string svc = ServiceYaml();
  ExpectErrors(svc.replace(0, 14, "apiVersion: v2"),
               {"m.yaml: document 1: Service default/web: apiVersion: unsupported apiVersion "
                "\"v2\" for kind Service; accepted: v1"});
  std::string slice = SliceYaml("");
  ExpectErrors(slice.replace(0, 31, "apiVersion: discovery.k8s.io/v1beta1"),
               {"m.yaml: document 1: EndpointSlice default/web-1: apiVersion: unsupported "
                "apiVersion \"discovery.k8s.io/v1beta1\" for kind EndpointSlice; accepted: "
                "discovery.k8s.io/v1"});
  ExpectErrors("kind: Service\nmetadata: {name: web}\n",
               {"m.yaml: document 1: Service default/web: apiVersion: required"});
}

TEST(ManifestDecoderTest, RejectsMissingOrInvalidName) {
  ExpectErrors(
      "apiVersion: v1\nkind: Service\nmetadata:\n  namespace: shop\nspec:\n"
      "  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n",
      {"m.yaml: document 1: metadata.name: required"});
  ExpectErrors(
      "apiVersion: v1\nkind: Service\nspec:\n  clusterIP: 10.96.0.10\n"
      "  ports: [{port: 80}]\n",
      {"m.yaml: document 1: metadata.name: required"});
  std::string svc = ServiceYaml();
  ExpectErrors(svc.replace(svc.find("name: web"), 9, "name: 1web"),
               {"m.yaml: document 1: Service default/1web: metadata.name: \"1web\" is not a valid "
                "DNS-1035 label (at most 63 lowercase letters, digits and '-', starting with a "
                "letter and ending with a letter or digit)"});
  svc = ServiceYaml();
  ExpectErrors(svc.replace(svc.find("name: web"), 9, "name: web\n  namespace: Shop"),
               {"m.yaml: document 1: Service Shop/web: metadata.namespace: \"Shop\" is not a "
                "valid DNS label (at most 63 lowercase letters, digits and '-', starting and "
                "ending with a letter or digit)"});
  std::string slice = SliceYaml("");
  ExpectErrors(slice.replace(slice.find("web-1"), 5, "web_1"),
               {"m.yaml: document 1: EndpointSlice default/web_1: metadata.name: \"web_1\" is "
                "not a valid DNS subdomain (at most 253 lowercase letters, digits, '-' and '.', "
                "each dot-separated part starting and ending with a letter or digit)"});
}

TEST(ManifestDecoderTest, RejectsSliceWithoutServiceName) {
  ExpectErrors(
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n"
      "  labels: {app: web}\naddressType: IPv4\n",
      {"m.yaml: document 1: EndpointSlice default/web-1: "
       "metadata.labels[\"kubernetes.io/service-name\"]: required (it names the Service "
       "this slice belongs to)"});
  ExpectErrors("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n",
               {"m.yaml: document 1: EndpointSlice default/web-1: "
                "metadata.labels[\"kubernetes.io/service-name\"]: required (it names the Service "
                "this slice belongs to)",
                "m.yaml: document 1: EndpointSlice default/web-1: addressType: required"});
}

TEST(ManifestDecoderTest, RejectsDuplicatePorts) {
  ExpectErrors(ServiceYaml("  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 80, protocol: "
                           "UDP}\n  - {name: c, port: 80, protocol: TCP}\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[2]: 80/TCP is already used "
                "by spec.ports[0]"});
  ExpectErrors(ServiceYaml("  ports:\n  - {name: a, port: 80}\n  - {name: a, port: 81}\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[1].name: \"a\" is already "
                "used by spec.ports[0]"});
  ExpectErrors(SliceYaml("ports:\n- {port: 80}\n- {port: 81}\n"),
               {"m.yaml: document 1: EndpointSlice default/web-1: ports[1].name: \"\" is already "
                "used by ports[0]"});
}

TEST(ManifestDecoderTest, RejectsBadPortNames) {
  ExpectErrors(ServiceYaml("  ports:\n  - {name: a, port: 80}\n  - {port: 81}\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[1].name: required when the "
                "Service has more than one port"});
  ExpectErrors(ServiceYaml("  ports:\n  - {name: HTTP, port: 80}\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].name: \"HTTP\" is not a "
                "valid DNS label (at most 63 lowercase letters, digits and '-', starting and "
                "ending with a letter or digit)"});
  ExpectErrors(ServiceYaml("  ports:\n  - {port: 80, targetPort: \"8080\"}\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].targetPort: \"8080\" is "
                "not a valid port name (at most 15 lowercase letters, digits and '-', with at "
                "least one letter, no leading, trailing or doubled '-')"});
}

// SCTP is decoded (the datapath passes it untouched); anything else is an
// error, exactly spelled.
TEST(ManifestDecoderTest, AcceptsSctpAndRejectsUnknownProtocols) {
  DecodeResult r = Decode(
      ServiceYaml("  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 80, protocol: SCTP}\n"));
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services[0].ports.size(), 2u);
  EXPECT_EQ(r.objects.services[0].ports[1].protocol, Protocol::kSctp);
  EXPECT_EQ(model::ToString(Protocol::kSctp), "SCTP");
  ExpectErrors(ServiceYaml("  ports:\n  - port: 80\n    protocol: sctp\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].protocol: unsupported "
                "protocol \"sctp\"; accepted: TCP, UDP, SCTP"});
  ExpectErrors(SliceYaml("ports:\n- {port: 80, protocol: tcp}\n"),
               {"m.yaml: document 1: EndpointSlice default/web-1: ports[0].protocol: unsupported "
                "protocol \"tcp\"; accepted: TCP, UDP, SCTP"});
}

TEST(ManifestDecoderTest, RejectsUnsupportedServiceType) {
  ExpectErrors(ServiceYaml("  type: Magic\n  ports: [{port: 80}]\n"),
               {"m.yaml: document 1: Service default/web: spec.type: unsupported type \"Magic\"; "
                "accepted: ClusterIP, NodePort, LoadBalancer, ExternalName"});
}

TEST(ManifestDecoderTest, DecodesSessionAffinity) {
  DecodeResult r = Decode(ServiceYaml("  sessionAffinity: ClientIP\n  ports: [{port: 80}]\n"));
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].session_affinity, model::SessionAffinity::kClientIP);
  DecodeResult none = Decode(ServiceYaml());
  ASSERT_EQ(none.objects.services.size(), 1u);
  EXPECT_EQ(none.objects.services[0].session_affinity, model::SessionAffinity::kNone);
  ExpectErrors(ServiceYaml("  sessionAffinity: Sticky\n  ports: [{port: 80}]\n"),
               {"m.yaml: document 1: Service default/web: spec.sessionAffinity: unsupported "
                "value \"Sticky\"; accepted: None, ClientIP"});
}

// The timeout, as the API server defaults and validates it.
TEST(ManifestDecoderTest, DecodesSessionAffinityTimeout) {
  auto timeout = [](const std::string& spec) {
    DecodeResult r = Decode(ServiceYaml(spec + "  ports: [{port: 80}]\n"));
    EXPECT_EQ(Messages(r), std::vector<std::string>{});
    return r.objects.services.at(0).session_affinity_timeout_s;
  };
  EXPECT_EQ(timeout("  sessionAffinity: ClientIP\n"), 10800u);
  EXPECT_EQ(timeout("  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: "
                    "{timeoutSeconds: 60}}\n"),
            60u);
  EXPECT_EQ(timeout("  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {}}\n"),
            10800u);
  EXPECT_EQ(timeout(""), 0u);
  ExpectErrors(ServiceYaml("  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: "
                           "{timeoutSeconds: 86401}}\n  ports: [{port: 80}]\n"),
               {"m.yaml: document 1: Service default/web: "
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is out of range "
                "1-86400"});
  ExpectErrors(ServiceYaml("  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}\n  "
                           "ports: [{port: 80}]\n"),
               {"m.yaml: document 1: Service default/web: spec.sessionAffinityConfig: must not "
                "be set when sessionAffinity is None"});
}

// Issue 14: the service.meridian.io/* annotations are typed fields; a
// typo is an error naming the annotation, not a silent default.
TEST(ManifestDecoderTest, DecodesMeridianAnnotationsIntoTypedFields) {
  auto with = [](const std::string& annotations) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations: {" + annotations +
           "}\nspec:\n  clusterIP: 10.96.0.10\n  ports: [{port: 80}]\n";
  };
  DecodeResult r =
      Decode(with("service.meridian.io/global: \"true\", service.meridian.io/affinity: remote, "
                  "other.io/x: y"));
  ASSERT_EQ(Messages(r), std::vector<std::string>{});
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_TRUE(r.objects.services[0].global);
  EXPECT_EQ(r.objects.services[0].global_affinity, model::GlobalAffinity::kRemote);
  DecodeResult plain = Decode(with(""));
  ASSERT_EQ(plain.objects.services.size(), 1u);
  EXPECT_FALSE(plain.objects.services[0].global);
  EXPECT_EQ(plain.objects.services[0].global_affinity, model::GlobalAffinity::kLocal);
  ExpectErrors(with("service.meridian.io/global: \"yes\""),
               {"m.yaml: document 1: Service default/web: "
                "metadata.annotations[\"service.meridian.io/global\"]: unsupported value \"yes\"; "
                "accepted: \"true\", \"false\""});
  ExpectErrors(with("service.meridian.io/affinity: nearest"),
               {"m.yaml: document 1: Service default/web: "
                "metadata.annotations[\"service.meridian.io/affinity\"]: unsupported value "
                "\"nearest\"; accepted: local, remote, none"});
  ExpectErrors(with("service.meridian.io/globl: \"true\""),
               {"m.yaml: document 1: Service default/web: "
                "metadata.annotations[\"service.meridian.io/globl\"]: unknown annotation; "
                "accepted: service.meridian.io/global, service.meridian.io/affinity"});
}

TEST(ManifestDecoderTest, RequiresClusterIpAndPorts) {
  ExpectErrors(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: "
      "80}]\n",
      {"m.yaml: document 1: Service default/web: spec.clusterIP: required (the agent "
       "does not allocate ClusterIPs)"});
  ExpectErrors(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n"
      "  clusterIP: \"\"\n  ports: [{port: 80}]\n",
      {"m.yaml: document 1: Service default/web: spec.clusterIP: required (the agent "
       "does not allocate ClusterIPs)"});
  ExpectErrors("apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
               {"m.yaml: document 1: Service default/web: spec: required"});
  ExpectErrors(ServiceYaml("  ports: []\n"),
               {"m.yaml: document 1: Service default/web: spec.ports: required (a Service with "
                "a ClusterIP needs at least one port)"});
  ExpectErrors(ServiceYaml("  ports:\n  - name: http\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].port: required"});
}

TEST(ManifestDecoderTest, ChecksClusterIpsAgainstClusterIp) {
  ExpectErrors(ServiceYaml("  clusterIPs: [10.96.0.11]\n  ports: [{port: 80}]\n"),
               {"m.yaml: document 1: Service default/web: spec.clusterIPs[0]: \"10.96.0.11\" "
                "does not match spec.clusterIP \"10.96.0.10\""});
  ExpectErrors(ServiceYaml("  clusterIPs: []\n  ports: [{port: 80}]\n"),
               {"m.yaml: document 1: Service default/web: spec.clusterIPs: must start with "
                "spec.clusterIP \"10.96.0.10\""});
}

TEST(ManifestDecoderTest, ExternalNameMustNotHaveAVip) {
  ExpectErrors(
      "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  type: "
      "ExternalName\n  clusterIP: 10.96.0.10\n",
      {"m.yaml: document 1: Service default/ext: spec.clusterIP: \"10.96.0.10\": must "
       "be empty or \"None\" for type ExternalName"});
}

TEST(ManifestDecoderTest, ReportsTypeMismatchesOnTheirField) {
  ExpectErrors(ServiceYaml("  ports:\n  - name: a\n    port: \"80\"\n  - name: b\n    port: abc\n"
                           "  - name: c\n    port: [1]\n    targetPort: {x: 1}\n"),
               {"m.yaml: document 1: Service default/web: spec.ports[0].port: expected an "
                "integer, got the string \"80\"",
                "m.yaml: document 1: Service default/web: spec.ports[1].port: expected an "
                "integer, got \"abc\"",
                "m.yaml: document 1: Service default/web: spec.ports[2].port: expected an "
                "integer, got a list",
                "m.yaml: document 1: Service default/web: spec.ports[2].targetPort: expected an "
                "integer or a port name, got a map"});
  ExpectErrors(ServiceYaml("  ports: {}\n"),
               {"m.yaml: document 1: Service default/web: spec.ports: expected a list, got a "
                "map"});
  ExpectErrors("apiVersion: v1\nkind: Service\nmetadata:\n  name: [web]\n  labels: [a]\nspec: 3\n",
               {"m.yaml: document 1: metadata.name: expected a string, got a list",
                "m.yaml: document 1: metadata.labels: expected a map, got a list",
                "m.yaml: document 1: spec: expected a map, got \"3\""});
  ExpectErrors(SliceYaml("endpoints:\n- addresses: [10.1.0.1]\n  conditions: {ready: yes}\n"
                         "- addresses: 10.1.0.2\n- 7\n"),
               {"m.yaml: document 1: EndpointSlice default/web-1: endpoints[0].conditions.ready: "
                "expected true or false, got \"yes\"",
                "m.yaml: document 1: EndpointSlice default/web-1: endpoints[1].addresses: "
                "expected a list, got \"10.1.0.2\"",
                "m.yaml: document 1: EndpointSlice default/web-1: endpoints[2]: expected a map, "
                "got \"7\""});
  ExpectErrors("- a\n- b\n",
               {"m.yaml: document 1: expected a Kubernetes object (a map), got a list"});
}

TEST(ManifestDecoderTest, ReportsMalformedYamlWithLineAndNoObjects) {
  // The first document is valid, but a syntax error anywhere voids the text.
  ExpectErrors(ServiceYaml() +
                   "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: api\n"
                   " namespace: x\n",
               {"m.yaml: document 2: invalid YAML at line 14, column 2: end of map not found"});
  ExpectErrors("apiVersion: v1\nkind: Service\nspec:\n  ports: [80,\n",
               {"m.yaml: document 1: invalid YAML at line 5, column 1: end of sequence flow not "
                "found"});
  ExpectErrors(ServiceYaml("  ports:\n  - port: 80\n    port: 81\n"),
               {"m.yaml: document 1: invalid YAML at line 9, column 5: duplicate key \"port\""});
}

TEST(ManifestDecoderTest, ReportsTruncatedFiles) {
  const std::string full = ServiceYaml("  ports:\n  - port: 80\n    targetPort: 8080\n");
  // Cut in the middle of a key: yaml-cpp alone would read "targetPo: null".
  ExpectErrors(full.substr(0, full.find("rgetPort")),
               {"m.yaml: document 1: invalid YAML at line 9, column 5: could not find expected "
                "':'"});
  // Cut inside a quoted value, with and without the final newline.
  const std::string quoted =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"
      "  annotations:\n    note: \"hello wor";
  ExpectErrors(quoted + "\n",
               {"m.yaml: document 1: invalid YAML at line 6, column 11: unterminated quoted "
                "string (is the file truncated?)"});
  ExpectErrors(quoted,
               {"m.yaml: document 1: invalid YAML at line 6, column 21: illegal EOF in scalar"});
  // Cut inside a JSON object.
  ExpectErrors(R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web")",
               {"m.yaml: document 1: invalid YAML at line 1, column 1: end of map flow not "
                "found"});
  // Cut right after a mapping key that has children: decodes, but fails
  // validation rather than passing silently.
  ExpectErrors(full.substr(0, full.find("  - port")),
               {"m.yaml: document 1: Service default/web: spec.ports: required (a Service with "
                "a ClusterIP needs at least one port)"});
}

TEST(ManifestDecoderTest, QuotesAreNotMistakenForTruncation) {
  DecodeResult r = Decode(ServiceYaml() + "  # it's fine\n" +
                          "status: {note: 'it''s \"ok\"', other: \"a \\\" b\"}\n");
  EXPECT_EQ(Messages(r), std::vector<std::string>{});
  EXPECT_EQ(r.objects.services.size(), 1u);
}

TEST(ManifestDecoderTest, BoundsAliasExpansion) {
  // Ten levels of ten aliases: 10^10 nodes if expanded.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 10; ++level) {
    std::string prev = "*a" + std::to_string(level - 1);
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", " : "") + prev;
    text += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  ExpectErrors(text, {"m.yaml: document 1: invalid YAML at line 7, column 25: aliases expand to "
                      "more than 4194304 nodes"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// yaml-cpp loops on this malformed flow text, emitting nulls and nested
// collections without consuming it: 76 bytes took 9 s and 500 MB before the
// syntax pass bounded its events (found by tests/fuzz/fuzz_manifests.cc;
// the input is tests/fuzz/corpus/manifests/runaway-flow.yaml).
TEST(ManifestDecoderTest, BoundsAParserThatStopsMakingProgress) {
  const std::string text =
      "{\"ainspace\":\"d\"},\"spec\":{\"clusterIP\":\"09.96.#0.01\"\",ports\":[{\"port\":80}]}}]}";
  ASSERT_EQ(text.size(), 76u);
  auto start = std::chrono::steady_clock::now();
  DecodeResult r = DecodeManifests(text, "m.yaml");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("the YAML parser stopped making progress"), std::string::npos)
      << r.errors[0].message;
  EXPECT_TRUE(r.objects.services.empty());
}

}  // namespace
}  // namespace meridian::sources

namespace meridian::sources {
namespace {

// The About API's cluster id names the cluster: only a DNS label will do;
// other properties keep any value. A Node's IPv6 addresses are skipped, a
// malformed IPv4 one is named.
TEST(ManifestDecoderTest, ClusterPropertyAndNodeRules) {
  auto ok = DecodeManifests(
      "apiVersion: about.k8s.io/v1alpha1\nkind: ClusterProperty\n"
      "metadata: {name: clusterset.k8s.io}\nspec: {value: \"Any Value_1\"}\n",
      "m.yaml");
  ASSERT_TRUE(ok.errors.empty()) << ok.errors[0].ToString();
  EXPECT_EQ(ok.objects.cluster_properties.at(0).value, "Any Value_1");
  auto bad = DecodeManifests(
      "apiVersion: about.k8s.io/v1alpha1\nkind: ClusterProperty\n"
      "metadata: {name: cluster.clusterset.k8s.io}\nspec: {value: East_1}\n",
      "m.yaml");
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].ToString().find(
                "ClusterProperty cluster.clusterset.k8s.io: spec.value: \"East_1\""),
            std::string::npos)
      << bad.errors[0].ToString();
  auto missing = DecodeManifests(
      "apiVersion: about.k8s.io/v1alpha1\nkind: ClusterProperty\n"
      "metadata: {name: cluster.clusterset.k8s.io}\nspec: {}\n",
      "m.yaml");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_NE(missing.errors[0].ToString().find("spec.value: required"), std::string::npos)
      << missing.errors[0].ToString();

  auto node = DecodeManifests(
      "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
      "status: {addresses: [{type: InternalIP, address: 10.0.0.300}]}\n",
      "m.yaml");
  ASSERT_EQ(node.errors.size(), 1u);
  EXPECT_NE(node.errors[0].ToString().find(
                "Node n1: status.addresses[0].address: \"10.0.0.300\" is not an IPv4 address"),
            std::string::npos)
      << node.errors[0].ToString();
}

}  // namespace
}  // namespace meridian::sources

namespace meridian::sources {
namespace {

TEST(ManifestDecoderTest, DecodesTrafficPolicyAndTopology) {
  auto svc = [](const std::string& spec, const std::string& annotations = "") {
    DecodeResult r = Decode(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default" + annotations +
        "}\nspec:\n  clusterIP: 10.96.0.10\n" + spec + "  ports: [{port: 80}]\n");
    EXPECT_EQ(Messages(r), std::vector<std::string>{});
    return r.objects.services.at(0);
  };
  EXPECT_EQ(svc("").internal_traffic_policy, model::TrafficPolicy::kCluster);
  EXPECT_EQ(svc("  internalTrafficPolicy: Local\n").internal_traffic_policy,
            model::TrafficPolicy::kLocal);
  EXPECT_FALSE(svc("").prefer_close);
  EXPECT_TRUE(svc("  trafficDistribution: PreferClose\n").prefer_close);
  EXPECT_TRUE(svc("", ", annotations: {service.kubernetes.io/topology-mode: Auto}").prefer_close);
  EXPECT_FALSE(
      svc("", ", annotations: {service.kubernetes.io/topology-mode: Disabled}").prefer_close);
  ExpectErrors(ServiceYaml("  internalTrafficPolicy: Nearby\n  ports: [{port: 80}]\n"),
               {"m.yaml: document 1: Service default/web: spec.internalTrafficPolicy: unsupported "
                "value \"Nearby\"; accepted: Cluster, Local"});

  DecodeResult slice = Decode(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.1.1.1]
  zone: a
  hints: {forZones: [{name: a}, {name: b}]}
)");
  ASSERT_EQ(Messages(slice), std::vector<std::string>{});
  EXPECT_EQ(slice.objects.endpoint_slices.at(0).endpoints.at(0).zone_hints,
            (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace meridian::sources
