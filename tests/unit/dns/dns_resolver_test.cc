// Resolver: every record the multicluster DNS specification asks for, and
// every negative answer, from a fixed catalog.
#include "dns/dns_resolver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dns_test_catalog.h"

namespace meridian::dns {
namespace {

using test_support::Ip;

class ResolverTest : public ::testing::Test {
 protected:
  DnsAnswer Ask(const std::string& name, std::uint16_t type, std::uint16_t klass = rr::kClassIn) {
    return Resolve(catalog_, DnsQuestion{DnsName::FromDotted(name), type, klass}, options_);
  }
  static std::vector<std::string> Addresses(const std::vector<DnsRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) {
      if (const auto* a = std::get_if<model::Ipv4Address>(&r.data)) out.push_back(a->ToString());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::vector<std::string> SrvLines(const std::vector<DnsRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) {
      const auto& s = std::get<DnsSrv>(r.data);
      out.push_back(std::to_string(s.priority) + " " + std::to_string(s.weight) + " " +
                    std::to_string(s.port) + " " + s.target.ToString());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static void ExpectSoa(const DnsAnswer& a) {
    ASSERT_EQ(a.authority.size(), 1u);
    const DnsRecord& r = a.authority[0];
    EXPECT_EQ(r.type, rr::kSoa);
    EXPECT_EQ(r.name.ToString(), "clusterset.local.");
    const auto& soa = std::get<DnsSoa>(r.data);
    EXPECT_EQ(soa.minimum, 5u);
    EXPECT_EQ(soa.serial, 42u);
    EXPECT_EQ(r.ttl, 5u);
  }

  DnsCatalog catalog_ = test_support::SampleCatalog();
  DnsResolverOptions options_;
};

TEST_F(ResolverTest, ClusterSetIpA) {
  DnsAnswer a = Ask("web.prod.svc.clusterset.local", rr::kA);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  EXPECT_TRUE(a.authoritative);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].ttl, 5u);
  EXPECT_EQ(a.answers[0].name.ToString(), "web.prod.svc.clusterset.local.");
  EXPECT_EQ(Addresses(a.answers), std::vector<std::string>{"10.42.0.10"});
  EXPECT_TRUE(a.authority.empty());
}

TEST_F(ResolverTest, NamesAreCaseInsensitiveAndEchoedAsAsked) {
  DnsAnswer a = Ask("WEB.Prod.SVC.ClusterSet.LOCAL.", rr::kA);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].name.ToString(), "WEB.Prod.SVC.ClusterSet.LOCAL.");
  EXPECT_EQ(Addresses(a.answers), std::vector<std::string>{"10.42.0.10"});
}

TEST_F(ResolverTest, TtlIsConfigurable) {
  options_.ttl = 30;
  EXPECT_EQ(Ask("web.prod.svc.clusterset.local", rr::kA).answers.at(0).ttl, 30u);
}

TEST_F(ResolverTest, ClusterSetIpSrvPerNamedPort) {
  DnsAnswer a = Ask("_http._tcp.web.prod.svc.clusterset.local", rr::kSrv);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  EXPECT_EQ(SrvLines(a.answers),
            std::vector<std::string>{"0 100 80 web.prod.svc.clusterset.local."});
  EXPECT_EQ(Addresses(a.additional), std::vector<std::string>{"10.42.0.10"});
  EXPECT_EQ(SrvLines(Ask("_dns._udp.web.prod.svc.clusterset.local", rr::kSrv).answers),
            std::vector<std::string>{"0 100 53 web.prod.svc.clusterset.local."});
}

TEST_F(ResolverTest, SrvWithWrongProtocolOrUnknownPortIsNxdomain) {
  EXPECT_EQ(Ask("_http._udp.web.prod.svc.clusterset.local", rr::kSrv).rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("_nope._tcp.web.prod.svc.clusterset.local", rr::kSrv).rcode, Rcode::kNxDomain);
}

TEST_F(ResolverTest, SrvNamesAnsweredWithOtherTypesAreNodata) {
  DnsAnswer a = Ask("_http._tcp.web.prod.svc.clusterset.local", rr::kA);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  EXPECT_TRUE(a.answers.empty());
  ExpectSoa(a);
  // _tcp.<svc>... is an empty non-terminal above the SRV names.
  DnsAnswer ent = Ask("_tcp.web.prod.svc.clusterset.local", rr::kSrv);
  EXPECT_EQ(ent.rcode, Rcode::kNoError);
  EXPECT_TRUE(ent.answers.empty());
}

TEST_F(ResolverTest, HeadlessAIsEveryReadyEndpoint) {
  DnsAnswer a = Ask("db.prod.svc.clusterset.local", rr::kA);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  EXPECT_EQ(Addresses(a.answers), (std::vector<std::string>{"10.1.0.1", "10.1.0.2", "10.2.0.1"}));
}

TEST_F(ResolverTest, HeadlessPerEndpointNames) {
  EXPECT_EQ(Addresses(Ask("db-0.cluster-a.db.prod.svc.clusterset.local", rr::kA).answers),
            std::vector<std::string>{"10.1.0.1"});
  EXPECT_EQ(Addresses(Ask("db-0.cluster-b.db.prod.svc.clusterset.local", rr::kA).answers),
            std::vector<std::string>{"10.2.0.1"});
  // Not ready: no record at all.
  EXPECT_EQ(Ask("db-1.cluster-a.db.prod.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("db-0.cluster-c.db.prod.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
  // <clusterid>.<svc>... is an empty non-terminal for a headless import.
  DnsAnswer ent = Ask("cluster-a.db.prod.svc.clusterset.local", rr::kA);
  EXPECT_EQ(ent.rcode, Rcode::kNoError);
  EXPECT_TRUE(ent.answers.empty());
}

TEST_F(ResolverTest, HeadlessSrvPointsAtEndpointNames) {
  DnsAnswer a = Ask("_pg._tcp.db.prod.svc.clusterset.local", rr::kSrv);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  EXPECT_EQ(SrvLines(a.answers),
            (std::vector<std::string>{"0 100 5432 db-0.cluster-a.db.prod.svc.clusterset.local.",
                                      "0 100 5432 db-0.cluster-b.db.prod.svc.clusterset.local."}));
  EXPECT_EQ(Addresses(a.additional), (std::vector<std::string>{"10.1.0.1", "10.2.0.1"}));
}

TEST_F(ResolverTest, HeadlessWithoutReadyEndpointsIsNxdomain) {
  DnsAnswer a = Ask("empty.prod.svc.clusterset.local", rr::kA);
  EXPECT_EQ(a.rcode, Rcode::kNxDomain);
  ExpectSoa(a);
  EXPECT_EQ(Ask("_pg._tcp.empty.prod.svc.clusterset.local", rr::kSrv).rcode, Rcode::kNxDomain);
}

TEST_F(ResolverTest, ClusterSetIpImportsHaveNoPerClusterNames) {
  EXPECT_EQ(Ask("cluster-a.web.prod.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("x.cluster-a.web.prod.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
}

TEST_F(ResolverTest, SchemaVersionTxt) {
  DnsAnswer a = Ask("dns-version.clusterset.local", rr::kTxt);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(std::get<DnsTxt>(a.answers[0].data).strings, std::vector<std::string>{"1.0.0"});
  EXPECT_EQ(Ask("dns-version.clusterset.local", rr::kA).answers.size(), 0u);
}

TEST_F(ResolverTest, UnknownServiceIsNxdomainWithSoa) {
  DnsAnswer a = Ask("nope.prod.svc.clusterset.local", rr::kA);
  EXPECT_EQ(a.rcode, Rcode::kNxDomain);
  EXPECT_TRUE(a.authoritative);
  EXPECT_TRUE(a.answers.empty());
  ExpectSoa(a);
  EXPECT_EQ(Ask("web.other.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("other.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("web.prod.pod.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("a.b.c.d.e.f.prod.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
}

TEST_F(ResolverTest, KnownNameOtherTypeIsNodataWithSoa) {
  DnsAnswer a = Ask("web.prod.svc.clusterset.local", rr::kAaaa);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  EXPECT_TRUE(a.answers.empty());
  ExpectSoa(a);
  EXPECT_TRUE(Ask("db.prod.svc.clusterset.local", rr::kTxt).answers.empty());
  EXPECT_EQ(Ask("db.prod.svc.clusterset.local", rr::kTxt).rcode, Rcode::kNoError);
}

TEST_F(ResolverTest, EmptyNonTerminalsAreNodata) {
  for (const char* name : {"prod.svc.clusterset.local", "svc.clusterset.local"}) {
    DnsAnswer a = Ask(name, rr::kA);
    EXPECT_EQ(a.rcode, Rcode::kNoError) << name;
    EXPECT_TRUE(a.answers.empty()) << name;
    ExpectSoa(a);
  }
}

TEST_F(ResolverTest, ApexSoa) {
  DnsAnswer a = Ask("clusterset.local", rr::kSoa);
  EXPECT_EQ(a.rcode, Rcode::kNoError);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].type, rr::kSoa);
}

TEST_F(ResolverTest, AnyReturnsEveryType) {
  EXPECT_EQ(Addresses(Ask("web.prod.svc.clusterset.local", rr::kAny).answers),
            std::vector<std::string>{"10.42.0.10"});
}

TEST_F(ResolverTest, OutsideTheZoneIsRefused) {
  for (const char* name : {"example.com", "local", "cluster.local", "web.prod.svc.cluster.local",
                           "xclusterset.local", "."}) {
    DnsAnswer a = Ask(name, rr::kA);
    EXPECT_EQ(a.rcode, Rcode::kRefused) << name;
    EXPECT_FALSE(a.authoritative) << name;
    EXPECT_TRUE(a.authority.empty()) << name;
  }
  EXPECT_EQ(Ask("web.prod.svc.clusterset.local", rr::kA, /*CH*/ 3).rcode, Rcode::kRefused);
}

TEST_F(ResolverTest, EmptyCatalogAnswersNxdomainForServices) {
  catalog_ = DnsCatalog();
  EXPECT_EQ(Ask("web.prod.svc.clusterset.local", rr::kA).rcode, Rcode::kNxDomain);
  EXPECT_EQ(Ask("dns-version.clusterset.local", rr::kTxt).rcode, Rcode::kNoError);
}

}  // namespace
}  // namespace meridian::dns
