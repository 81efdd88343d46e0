// The Service fields of external frontends: spec.ports[].nodePort,
// spec.externalIPs, status.loadBalancer.ingress, spec.externalTrafficPolicy
// and spec.healthCheckNodePort, as the one Service decoder reads them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "decode_helpers.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources {
namespace {

using model::Protocol;
using namespace meridian::sources::test_support;  // Decode, Messages, Ip, ExpectErrors

// A Service web of `type`; `spec_tail` and `tail` (after spec: status) are
// spliced in.
std::string Svc(const std::string& type, const std::string& spec_tail,
                const std::string& tail = "") {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: " + type +
         "\n  clusterIP: 10.96.0.10\n" + spec_tail + tail;
}

model::Service DecodeOne(const std::string& text) {
  DecodeResult r = Decode(text);
  EXPECT_EQ(Messages(r), std::vector<std::string>{});
  EXPECT_EQ(r.objects.services.size(), 1u);
  return r.objects.services.empty() ? model::Service{} : r.objects.services[0];
}

const char kPrefix[] = "m.yaml: document 1: Service default/web: ";

TEST(ManifestDecoderExternalTest, DecodesEveryExternalField) {
  model::Service s = DecodeOne(Svc("LoadBalancer", R"(  externalTrafficPolicy: Local
  healthCheckNodePort: 32100
  externalIPs: [198.51.100.7, "2001:db8::7", 198.51.100.8]
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
  - {name: dns, port: 53, protocol: UDP, nodePort: 30053}
  - {name: dns-tcp, port: 53, protocol: TCP, nodePort: 30053}
  - {name: admin, port: 9090}
)",
                                   R"(status:
  loadBalancer:
    ingress:
    - ip: 203.0.113.7
    - hostname: lb.example.com
    - ip: "2001:db8::1"
    - {ip: 203.0.113.8, ipMode: Proxy}
    - {ip: 203.0.113.9, ipMode: VIP, hostname: lb2.example.com, ports: [{port: 80, protocol: TCP}]}
)"));
  ASSERT_EQ(s.ports.size(), 4u);
  EXPECT_EQ(s.ports[0].node_port, 30080);
  EXPECT_EQ(s.ports[1].node_port, 30053);  // one nodePort, two protocols
  EXPECT_EQ(s.ports[1].protocol, Protocol::kUdp);
  EXPECT_EQ(s.ports[2].node_port, 30053);
  EXPECT_EQ(s.ports[3].node_port, std::nullopt);  // not allocated: none
  // IPv6 entries are left out without an error, as a hostname-only and an
  // ipMode Proxy ingress are.
  EXPECT_EQ(s.external_ips,
            (std::vector<model::Ipv4Address>{Ip("198.51.100.7"), Ip("198.51.100.8")}));
  EXPECT_EQ(s.load_balancer_ips,
            (std::vector<model::Ipv4Address>{Ip("203.0.113.7"), Ip("203.0.113.9")}));
  EXPECT_EQ(s.external_traffic_policy, model::TrafficPolicy::kLocal);
  EXPECT_EQ(s.health_check_node_port, 32100);
}

TEST(ManifestDecoderExternalTest, DefaultsAndAcceptedSpellings) {
  model::Service plain = DecodeOne(Svc("NodePort", "  ports: [{port: 80}]\n"));
  EXPECT_EQ(plain.ports.at(0).node_port, std::nullopt);
  EXPECT_TRUE(plain.external_ips.empty());
  EXPECT_TRUE(plain.load_balancer_ips.empty());
  EXPECT_EQ(plain.external_traffic_policy, model::TrafficPolicy::kCluster);
  EXPECT_EQ(plain.health_check_node_port, std::nullopt);

  for (const char* policy : {"Cluster", "Global", "\"\""}) {
    SCOPED_TRACE(policy);
    model::Service s = DecodeOne(Svc("NodePort", std::string("  externalTrafficPolicy: ") + policy +
                                                     "\n  ports: [{port: 80}]\n"));
    EXPECT_EQ(s.external_traffic_policy, model::TrafficPolicy::kCluster);
  }
  // externalIPs serve every type with a ClusterIP; an empty status or
  // load balancer is nothing.
  model::Service cluster_ip =
      DecodeOne(Svc("ClusterIP", "  externalIPs: [198.51.100.7]\n  ports: [{port: 80}]\n",
                    "status: {loadBalancer: {}}\n"));
  EXPECT_EQ(cluster_ip.external_ips, std::vector<model::Ipv4Address>{Ip("198.51.100.7")});
  EXPECT_TRUE(cluster_ip.load_balancer_ips.empty());
  model::Service no_ingress =
      DecodeOne(Svc("LoadBalancer", "  ports: [{port: 80, nodePort: 30080}]\n",
                    "status: {loadBalancer: {ingress: []}}\n"));
  EXPECT_TRUE(no_ingress.load_balancer_ips.empty());
}

// As the API server validates them.
TEST(ManifestDecoderExternalTest, RejectsBadNodePorts) {
  const std::string p = kPrefix;
  ExpectErrors(Svc("ClusterIP", "  ports: [{port: 80, nodePort: 30080}]\n"),
               {p + "spec.ports[0].nodePort: may not be used when type is ClusterIP"});
  ExpectErrors(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: ExternalName\n"
      "  externalName: db.example.com\n  ports: [{port: 80, nodePort: 30080}]\n",
      {p + "spec.ports[0].nodePort: may not be used when type is ExternalName"});
  ExpectErrors(Svc("NodePort", "  ports: [{port: 80, nodePort: 70000}]\n"),
               {p + "spec.ports[0].nodePort: 70000 is out of range 1-65535"});
  ExpectErrors(Svc("NodePort", "  ports: [{port: 80, nodePort: 0}]\n"),
               {p + "spec.ports[0].nodePort: 0 is out of range 1-65535"});
  ExpectErrors(Svc("NodePort", "  ports: [{port: 80, nodePort: \"30080\"}]\n"),
               {p + "spec.ports[0].nodePort: expected an integer, got the string \"30080\""});
  ExpectErrors(Svc("LoadBalancer",
                   "  ports:\n  - {name: a, port: 80, nodePort: 30080}\n"
                   "  - {name: b, port: 81, nodePort: 30080}\n"),
               {p + "spec.ports[1].nodePort: 30080/TCP is already used by spec.ports[0]"});
}

TEST(ManifestDecoderExternalTest, RejectsBadExternalIps) {
  const std::string p = kPrefix;
  ExpectErrors(Svc("ClusterIP", "  externalIPs: [198.51.100.7, abc]\n  ports: [{port: 80}]\n"),
               {p + "spec.externalIPs[1]: \"abc\" is not an IP address"});
  ExpectErrors(Svc("ClusterIP",
                   "  externalIPs: [0.0.0.0, 127.0.0.2, 169.254.1.1, 224.0.0.5, 224.0.1.5]\n"
                   "  ports: [{port: 80}]\n"),
               {p + "spec.externalIPs[0]: \"0.0.0.0\" may not be unspecified (0.0.0.0)",
                p + "spec.externalIPs[1]: \"127.0.0.2\" may not be in the loopback range "
                    "(127.0.0.0/8)",
                p + "spec.externalIPs[2]: \"169.254.1.1\" may not be in the link-local range "
                    "(169.254.0.0/16)",
                p + "spec.externalIPs[3]: \"224.0.0.5\" may not be in the link-local multicast "
                    "range (224.0.0.0/24)"});
  ExpectErrors(Svc("ClusterIP", "  externalIPs: 198.51.100.7\n  ports: [{port: 80}]\n"),
               {p + "spec.externalIPs: expected a list, got \"198.51.100.7\""});
  ExpectErrors(Svc("ClusterIP", "  externalIPs: [{ip: 198.51.100.7}]\n  ports: [{port: 80}]\n"),
               {p + "spec.externalIPs[0]: expected a string, got a map"});
}

TEST(ManifestDecoderExternalTest, RejectsBadLoadBalancerIngress) {
  const std::string p = kPrefix;
  const std::string spec = "  ports: [{port: 80, nodePort: 30080}]\n";
  ExpectErrors(Svc("LoadBalancer", spec,
                   "status: {loadBalancer: {ingress: [{ip: 203.0.113.7}, {ip: lb}]}}\n"),
               {p + "status.loadBalancer.ingress[1].ip: \"lb\" is not an IP address"});
  ExpectErrors(Svc("LoadBalancer", spec,
                   "status: {loadBalancer: {ingress: [{ip: 203.0.113.7, ipMode: Direct}]}}\n"),
               {p + "status.loadBalancer.ingress[0].ipMode: unsupported value \"Direct\"; "
                    "accepted: VIP, Proxy"});
  ExpectErrors(Svc("LoadBalancer", spec, "status: {loadBalancer: {ingress: 203.0.113.7}}\n"),
               {p + "status.loadBalancer.ingress: expected a list, got \"203.0.113.7\""});
  ExpectErrors(Svc("LoadBalancer", spec, "status: [ready]\n"),
               {p + "status: expected a map, got a list"});
}

TEST(ManifestDecoderExternalTest, RejectsBadTrafficPolicyAndHealthCheckNodePort) {
  const std::string p = kPrefix;
  ExpectErrors(Svc("NodePort", "  externalTrafficPolicy: OnlyLocal\n  ports: [{port: 80}]\n"),
               {p + "spec.externalTrafficPolicy: unsupported value \"OnlyLocal\"; accepted: "
                    "Cluster (or its old name Global), Local"});
  ExpectErrors(Svc("NodePort",
                   "  externalTrafficPolicy: Local\n  healthCheckNodePort: 32100\n"
                   "  ports: [{port: 80}]\n"),
               {p + "spec.healthCheckNodePort: may only be set when type is LoadBalancer and "
                    "externalTrafficPolicy is Local"});
  ExpectErrors(Svc("LoadBalancer", "  healthCheckNodePort: 32100\n  ports: [{port: 80}]\n"),
               {p + "spec.healthCheckNodePort: may only be set when type is LoadBalancer and "
                    "externalTrafficPolicy is Local"});
  ExpectErrors(Svc("LoadBalancer",
                   "  externalTrafficPolicy: Local\n  healthCheckNodePort: 65536\n"
                   "  ports: [{port: 80}]\n"),
               {p + "spec.healthCheckNodePort: 65536 is out of range 1-65535"});
}

}  // namespace
}  // namespace meridian::sources
