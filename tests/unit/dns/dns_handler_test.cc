// Handler: the protocol rules around the resolver (FORMERR, NOTIMP, dropped
// packets, EDNS, truncation) and the counters each one moves.
#include "dns/dns_handler.h"

#include <gtest/gtest.h>

#include <vector>

#include "dns_test_catalog.h"

namespace meridian::dns {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes Query(const std::string& name, std::uint16_t type, std::optional<std::uint16_t> edns = {},
            std::uint8_t opcode = 0) {
  DnsMessage q;
  q.header.id = 0x4242;
  q.header.rd = true;
  q.header.opcode = opcode;
  q.questions.push_back({DnsName::FromDotted(name), type, rr::kClassIn});
  if (edns) q.additional.push_back({DnsName{}, rr::kOpt, *edns, 0, DnsRaw{}});
  return EncodeMessage(q);
}

class HandlerTest : public ::testing::Test {
 protected:
  DnsDecoded Handle(const Bytes& query, DnsTransport t = DnsTransport::kUdp) {
    auto out = HandleDnsQuery(catalog_, query, t, options_, counters_);
    EXPECT_TRUE(out.has_value());
    if (!out) return {};
    last_size_ = out->size();
    DnsDecoded d = DecodeMessage(*out);
    EXPECT_TRUE(d.ok()) << ToString(d.error);
    return d;
  }

  DnsCatalog catalog_ = test_support::SampleCatalog();
  DnsHandlerOptions options_;
  DnsCounters counters_;
  std::size_t last_size_ = 0;
};

TEST_F(HandlerTest, AnswersAQueryAuthoritatively) {
  DnsDecoded d = Handle(Query("web.prod.svc.clusterset.local", rr::kA));
  EXPECT_EQ(d.message.header.id, 0x4242);
  EXPECT_TRUE(d.message.header.qr);
  EXPECT_TRUE(d.message.header.aa);
  EXPECT_TRUE(d.message.header.rd);
  EXPECT_FALSE(d.message.header.ra);  // not a recursive resolver
  EXPECT_EQ(d.message.answers.size(), 1u);
  EXPECT_TRUE(d.message.additional.empty());  // no OPT unless asked with one
  EXPECT_EQ(counters_.udp_queries, 1u);
  EXPECT_EQ(counters_.responses(Rcode::kNoError), 1u);
}

// Not an open resolver, and no amplifier: a query for a name outside the
// zone (recursion desired) is REFUSED, with no answer and no referral, in
// a response no larger than the query, with EDNS or without.
TEST_F(HandlerTest, OutOfZoneIsRefusedNoLargerThanTheQuery) {
  for (auto edns : {std::optional<std::uint16_t>{}, std::optional<std::uint16_t>{4096}}) {
    const Bytes q = Query("example.com", rr::kAny, edns);
    DnsDecoded d = Handle(q);
    EXPECT_EQ(d.message.header.rcode, static_cast<std::uint8_t>(Rcode::kRefused));
    EXPECT_FALSE(d.message.header.ra);
    EXPECT_TRUE(d.message.answers.empty());
    EXPECT_TRUE(d.message.authority.empty());
    EXPECT_LE(last_size_, q.size()) << (edns ? "with EDNS" : "without EDNS");
  }
  EXPECT_EQ(counters_.responses(Rcode::kRefused), 2u);
}

// /metrics shows queries by QTYPE: each well-formed query counts once under
// its type, a type not listed under "other", a malformed one under none.
TEST_F(HandlerTest, QueriesAreCountedByType) {
  for (std::uint16_t type : {rr::kA, rr::kA, rr::kAaaa, rr::kSrv, rr::kPtr, rr::kTxt, rr::kAny}) {
    Handle(Query("web.prod.svc.clusterset.local", type));
  }
  Handle({0x42, 0x42, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});  // no question
  auto count = [&](QueryType t) { return counters_.queries_by_type[static_cast<std::size_t>(t)]; };
  EXPECT_EQ(count(QueryType::kA), 2u);
  EXPECT_EQ(count(QueryType::kAaaa), 1u);
  EXPECT_EQ(count(QueryType::kSrv), 1u);
  EXPECT_EQ(count(QueryType::kPtr), 1u);
  EXPECT_EQ(count(QueryType::kAny), 1u);
  EXPECT_EQ(count(QueryType::kOther), 1u);  // TXT
  EXPECT_EQ(counters_.udp_queries, 8u);
  EXPECT_EQ(ToString(QueryType::kAaaa), "AAAA");
  EXPECT_EQ(ToString(QueryType::kOther), "other");
}

TEST_F(HandlerTest, ShortHeaderIsDroppedAndCounted) {
  Bytes b{0x12, 0x34, 0x01};
  EXPECT_FALSE(HandleDnsQuery(catalog_, b, DnsTransport::kUdp, options_, counters_).has_value());
  EXPECT_EQ(counters_.dropped, 1u);
  EXPECT_EQ(counters_.malformed_count(DnsWireError::kShortHeader), 1u);
}

TEST_F(HandlerTest, ResponsesAreNeverAnswered) {
  Bytes b = Query("web.prod.svc.clusterset.local", rr::kA);
  b[2] |= 0x80;  // QR
  EXPECT_FALSE(HandleDnsQuery(catalog_, b, DnsTransport::kUdp, options_, counters_).has_value());
  EXPECT_EQ(counters_.dropped, 1u);
}

TEST_F(HandlerTest, MalformedWithHeaderIsFormerrWithTheSameId) {
  Bytes b{0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};  // loop
  DnsDecoded d = Handle(b);
  EXPECT_EQ(d.message.header.id, 0xABCD);
  EXPECT_EQ(d.message.header.rcode, static_cast<std::uint8_t>(Rcode::kFormErr));
  EXPECT_TRUE(d.message.questions.empty());
  EXPECT_EQ(counters_.formerr, 1u);
  EXPECT_EQ(counters_.malformed_count(DnsWireError::kCompressionLoop), 1u);
  EXPECT_EQ(counters_.responses(Rcode::kFormErr), 1u);
}

TEST_F(HandlerTest, QuestionCountZeroOrTwoIsFormerr) {
  Bytes zero{0, 1, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(Handle(zero).message.header.rcode, static_cast<std::uint8_t>(Rcode::kFormErr));
  Bytes two{0, 2, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 1, 0, 1};
  EXPECT_EQ(Handle(two).message.header.rcode, static_cast<std::uint8_t>(Rcode::kFormErr));
  EXPECT_EQ(counters_.malformed_count(DnsWireError::kQuestionCount), 2u);
  EXPECT_EQ(counters_.formerr, 2u);
}

TEST_F(HandlerTest, TruncatedQuestionIsFormerr) {
  Bytes b{0, 3, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0};
  EXPECT_EQ(Handle(b).message.header.rcode, static_cast<std::uint8_t>(Rcode::kFormErr));
  EXPECT_EQ(counters_.malformed_count(DnsWireError::kTruncatedQuestion), 1u);
}

TEST_F(HandlerTest, OtherOpcodesAreNotImplemented) {
  for (std::uint8_t opcode : {1, 2, 4, 5}) {
    DnsDecoded d = Handle(Query("web.prod.svc.clusterset.local", rr::kA, {}, opcode));
    EXPECT_EQ(d.message.header.rcode, static_cast<std::uint8_t>(Rcode::kNotImp));
    EXPECT_EQ(d.message.header.opcode, opcode);
  }
  EXPECT_EQ(counters_.responses(Rcode::kNotImp), 4u);
}

TEST_F(HandlerTest, EdnsIsEchoedWithOurSize) {
  DnsDecoded d = Handle(Query("web.prod.svc.clusterset.local", rr::kA, 4096));
  ASSERT_EQ(d.message.additional.size(), 1u);
  EXPECT_EQ(d.message.additional[0].type, rr::kOpt);
  EXPECT_EQ(d.message.additional[0].klass, 1232);
}

TEST_F(HandlerTest, SrvAdditionalCarriesTargetAddressesBeforeOpt) {
  DnsDecoded d = Handle(Query("_pg._tcp.db.prod.svc.clusterset.local", rr::kSrv, 1232));
  EXPECT_EQ(d.message.answers.size(), 2u);
  ASSERT_EQ(d.message.additional.size(), 3u);
  EXPECT_EQ(d.message.additional.back().type, rr::kOpt);
}

TEST_F(HandlerTest, EdnsVersionOtherThanZeroIsBadvers) {
  Bytes q = Query("web.prod.svc.clusterset.local", rr::kA, 1232);
  q[q.size() - 5] = 1;  // OPT TTL byte 2: the EDNS version
  DnsDecoded d = Handle(q);
  EXPECT_EQ(d.message.header.rcode, 0);
  EXPECT_TRUE(d.message.answers.empty());
  ASSERT_EQ(d.message.additional.size(), 1u);
  EXPECT_EQ(d.message.additional[0].ttl >> 24, 1u);  // extended rcode 16 >> 4
  EXPECT_EQ(counters_.badvers, 1u);
}

TEST_F(HandlerTest, TwoOptRecordsAreFormerr) {
  DnsMessage q;
  q.header.id = 5;
  q.questions.push_back({DnsName::FromDotted("web.prod.svc.clusterset.local"), rr::kA, 1});
  q.additional.push_back({DnsName{}, rr::kOpt, 1232, 0, DnsRaw{}});
  q.additional.push_back({DnsName{}, rr::kOpt, 1232, 0, DnsRaw{}});
  EXPECT_EQ(Handle(EncodeMessage(q)).message.header.rcode,
            static_cast<std::uint8_t>(Rcode::kFormErr));
  EXPECT_EQ(counters_.malformed_count(DnsWireError::kBadOpt), 1u);
}

class TruncationTest : public HandlerTest {
 protected:
  void SetUp() override {
    DnsImport big;
    big.ns = "prod";
    big.name = "big";
    big.headless = true;
    big.ports = {{"p", model::Protocol::kTcp, 1}};
    // 100 A records of 16 bytes each: over 512 and over 1232, under 64 KiB.
    for (int i = 0; i < 100; ++i) {
      big.endpoints.push_back(
          {model::Ipv4Address(0x0A000001 + i), "h" + std::to_string(i), "c", true});
    }
    DnsImport mid = big;
    mid.name = "mid";
    mid.endpoints.resize(50);
    catalog_ = DnsCatalog({big, mid});
  }
};

TEST_F(TruncationTest, UdpWithoutEdnsIsCutAt512) {
  DnsDecoded d = Handle(Query("big.prod.svc.clusterset.local", rr::kA));
  EXPECT_TRUE(d.message.header.tc);
  EXPECT_LE(last_size_, 512u);
  EXPECT_EQ(d.message.questions.size(), 1u);
  EXPECT_TRUE(d.message.answers.empty());
  EXPECT_EQ(counters_.truncated, 1u);
}

TEST_F(TruncationTest, UdpWithEdnsIsCutAtOurSize) {
  DnsDecoded d = Handle(Query("big.prod.svc.clusterset.local", rr::kA, 65000));
  EXPECT_TRUE(d.message.header.tc);
  ASSERT_EQ(d.message.additional.size(), 1u);  // OPT survives truncation
  EXPECT_EQ(d.message.additional[0].type, rr::kOpt);
}

TEST_F(TruncationTest, EdnsSizeLetsALargerAnswerThrough) {
  options_.edns_udp_size = 4096;
  DnsDecoded d = Handle(Query("big.prod.svc.clusterset.local", rr::kA, 4096));
  EXPECT_FALSE(d.message.header.tc);
  EXPECT_EQ(d.message.answers.size(), 100u);
  EXPECT_GT(last_size_, 1232u);
}

TEST_F(TruncationTest, SrvDropsAdditionalBeforeTruncating) {
  options_.edns_udp_size = 3000;
  // 50 SRV records (~55 bytes each: targets are never compressed) fit in
  // 3000 bytes, but not with their 50 A records (16 bytes each) as well.
  DnsDecoded d = Handle(Query("_p._tcp.mid.prod.svc.clusterset.local", rr::kSrv, 4096));
  EXPECT_FALSE(d.message.header.tc);
  EXPECT_EQ(d.message.answers.size(), 50u);
  ASSERT_EQ(d.message.additional.size(), 1u);
  EXPECT_EQ(d.message.additional[0].type, rr::kOpt);
}

TEST_F(TruncationTest, TcpIsNeverCut) {
  DnsDecoded d = Handle(Query("big.prod.svc.clusterset.local", rr::kA), DnsTransport::kTcp);
  EXPECT_FALSE(d.message.header.tc);
  EXPECT_EQ(d.message.answers.size(), 100u);
  EXPECT_EQ(counters_.tcp_queries, 1u);
  EXPECT_EQ(counters_.truncated, 0u);
}

}  // namespace
}  // namespace meridian::dns
