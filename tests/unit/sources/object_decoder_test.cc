// The Kubernetes source and the manifest directory share one decoder: the
// same object gives the same model whether it was read from a YAML file, a
// JSON file, or a LIST/WATCH (DecodeObjectJson on the parsed JSON, as the
// reflector delivers it). Every fixture below goes through all three.
#include "sources/object_decoder.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sources/manifest_decoder.h"

namespace meridian::sources {
namespace {

using nlohmann::json;

// YAML -> JSON as the API server would store it: a quoted scalar (yaml-cpp
// tags it "!") stays a string, a plain one becomes a number, boolean or
// null when it reads as one.
json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : n) out[kv.first.as<std::string>()] = ToJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& e : n) out.push_back(ToJson(e));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = n.Scalar();
      if (n.Tag() == "!") return s;
      if (s == "true" || s == "false") return s == "true";
      if (s == "null" || s == "~") return nullptr;
      auto number = json::parse(s, nullptr, false);
      if (number.is_number()) return number;
      return s;
    }
    default:
      return nullptr;
  }
}

// Everything the decoders read, in objects that decode without error.
const std::vector<std::string> kFixtures = {
    R"(apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {service.meridian.io/global: "true", service.meridian.io/affinity: remote, note: "x: y"}
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  type: ClusterIP
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
  - {name: dns, port: 53, targetPort: dns, protocol: UDP}
)",
    R"(apiVersion: v1
kind: Service
metadata: {name: edge, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.11
  externalIPs: [198.51.100.7, "2001:db8::7"]
  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  ports:
  - {name: https, port: 443, targetPort: 8443, protocol: TCP, nodePort: 30443}
status:
  loadBalancer:
    ingress:
    - {ip: 203.0.113.7, ipMode: VIP}
    - {hostname: lb.example.com}
    - {ip: 203.0.113.8, ipMode: Proxy}
)",
    R"(apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, ports: [{port: 5432}]}
)",
    R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: shop
  labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}, {name: dns, port: 5353, protocol: UDP}]
endpoints:
- addresses: [10.1.0.5]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-1
  zone: eu-1a
  targetRef: {kind: Pod, name: web-1, namespace: shop}
- addresses: [10.1.0.6]
  conditions: {ready: false}
)",
    R"(apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata: {name: web, namespace: shop, creationTimestamp: "2024-05-01T10:00:00Z"}
)",
    R"(apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata: {name: east, labels: {region: eu}}
spec:
  id: 2
  podCIDRs: ["10.2.0.0/16"]
  tunnelEndpoints:
  - address: 172.16.2.11
    podCIDRs: ["10.2.1.0/24"]
)",
    R"(apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata: {name: west}
spec: {id: 3, podCIDRs: ["10.3.0.0/16"], gateway: 172.16.3.10}
)",
    R"(apiVersion: about.k8s.io/v1alpha1
kind: ClusterProperty
metadata: {name: cluster.clusterset.k8s.io}
spec: {value: east}
)",
    R"(apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {topology.kubernetes.io/zone: zone-a, topology.kubernetes.io/region: eu}
status:
  addresses:
  - {type: InternalIP, address: "fd00::1"}
  - {type: InternalIP, address: 192.168.1.10}
  - {type: ExternalIP, address: 203.0.113.10}
  - {type: Hostname, address: node-1}
)",
};

model::ResourceSnapshot WithoutSources(model::ResourceSnapshot s) {
  for (auto& o : s.services) o.meta.source = {};
  for (auto& o : s.endpoint_slices) o.meta.source = {};
  for (auto& o : s.service_exports) o.meta.source = {};
  for (auto& o : s.clusters) o.meta.source = {};
  for (auto& o : s.cluster_properties) o.meta.source = {};
  for (auto& o : s.nodes) o.meta.source = {};
  return s;
}

TEST(ObjectDecoderTest, EveryFixtureGivesTheSameModelFromYamlJsonAndTheApi) {
  for (const std::string& yaml : kFixtures) {
    SCOPED_TRACE(yaml);
    DecodeResult from_yaml = DecodeManifests(yaml, "m.yaml");
    ASSERT_TRUE(from_yaml.errors.empty()) << from_yaml.errors[0].ToString();
    const json object = ToJson(YAML::Load(yaml));
    DecodeResult from_file = DecodeManifests(object.dump(), "m.json");
    ASSERT_TRUE(from_file.errors.empty()) << from_file.errors[0].ToString();
    DecodeResult from_api = DecodeObjectJson(json::parse(object.dump()), "kubernetes");
    ASSERT_TRUE(from_api.errors.empty()) << from_api.errors[0].ToString();
    const auto expected = WithoutSources(from_yaml.objects);
    EXPECT_NE(expected, model::ResourceSnapshot{});
    EXPECT_EQ(WithoutSources(from_file.objects), expected);
    EXPECT_EQ(WithoutSources(from_api.objects), expected);
  }
}

TEST(ObjectDecoderTest, ErrorsNameTheObjectAndFieldAndTheSource) {
  json svc = ToJson(YAML::Load(kFixtures[0]));
  svc["spec"]["ports"][0]["port"] = "80";  // a string, as the API server would refuse
  DecodeResult r = DecodeObjectJson(svc, "kubernetes");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString().rfind("kubernetes: Service shop/web: spec.ports[0].port: ", 0),
            0u)
      << r.errors[0].ToString();
  EXPECT_TRUE(r.objects.services.empty());
  // A List is not an object a watch delivers.
  DecodeResult list = DecodeObjectJson(json{{"apiVersion", "v1"}, {"kind", "List"}}, "kubernetes");
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_NE(list.errors[0].ToString().find("unsupported kind \"List\""), std::string::npos)
      << list.errors[0].ToString();
}

}  // namespace
}  // namespace meridian::sources
