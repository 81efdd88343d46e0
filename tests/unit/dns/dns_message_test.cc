// Wire codec: round trips, compression, truncation and every malformed shape
// the decoder must reject without reading out of bounds.
#include "dns/dns_message.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace meridian::dns {
namespace {

using Bytes = std::vector<std::uint8_t>;

// A 12-byte header: id 0x1234, RD, the given counts.
Bytes Header(std::uint16_t qd, std::uint16_t an = 0, std::uint16_t ns = 0, std::uint16_t ar = 0) {
  return {0x12,
          0x34,
          0x01,
          0x00,
          static_cast<std::uint8_t>(qd >> 8),
          static_cast<std::uint8_t>(qd),
          static_cast<std::uint8_t>(an >> 8),
          static_cast<std::uint8_t>(an),
          static_cast<std::uint8_t>(ns >> 8),
          static_cast<std::uint8_t>(ns),
          static_cast<std::uint8_t>(ar >> 8),
          static_cast<std::uint8_t>(ar)};
}

void Append(Bytes& b, std::initializer_list<std::uint8_t> more) {
  b.insert(b.end(), more.begin(), more.end());
}

DnsMessage SampleResponse() {
  DnsMessage m;
  m.header.id = 0xBEEF;
  m.header.qr = true;
  m.header.aa = true;
  m.header.rd = true;
  m.header.rcode = 3;
  const DnsName svc = DnsName::FromDotted("web.prod.svc.clusterset.local");
  m.questions.push_back({svc, rr::kA, rr::kClassIn});
  m.answers.push_back({svc, rr::kA, rr::kClassIn, 5, model::Ipv4Address(0x0A2A2A2A)});
  m.answers.push_back({DnsName::FromDotted("_http._tcp.web.prod.svc.clusterset.local"), rr::kSrv,
                       rr::kClassIn, 5, DnsSrv{0, 100, 80, svc}});
  m.answers.push_back({DnsName::FromDotted("dns-version.clusterset.local"), rr::kTxt, rr::kClassIn,
                       5, DnsTxt{{"1.0.0"}}});
  m.authority.push_back(
      {DnsName::FromDotted("clusterset.local"), rr::kSoa, rr::kClassIn, 5,
       DnsSoa{DnsName::FromDotted("ns.dns.clusterset.local"),
              DnsName::FromDotted("hostmaster.clusterset.local"), 7, 7200, 1800, 86400, 5}});
  m.additional.push_back({DnsName{}, rr::kOpt, 1232, 0, DnsRaw{}});
  return m;
}

TEST(DnsName, DottedRoundTrip) {
  EXPECT_EQ(DnsName::FromDotted("a.b.c.").labels, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(DnsName::FromDotted("a.b.c").ToString(), "a.b.c.");
  EXPECT_EQ(DnsName{}.ToString(), ".");
  EXPECT_TRUE(DnsName::FromDotted("WeB.x").EqualsIgnoreCase(DnsName::FromDotted("web.X")));
  EXPECT_FALSE(DnsName::FromDotted("web.x").EqualsIgnoreCase(DnsName::FromDotted("web")));
}

TEST(DnsCodec, ResponseRoundTrips) {
  DnsMessage m = SampleResponse();
  const Bytes wire = EncodeMessage(m);
  DnsDecoded d = DecodeMessage(wire);
  ASSERT_TRUE(d.ok()) << ToString(d.error);
  m.header.qdcount = 1;
  m.header.ancount = 3;
  m.header.nscount = 1;
  m.header.arcount = 1;
  EXPECT_EQ(d.message, m);
}

TEST(DnsCodec, CompressesRepeatedSuffixes) {
  DnsMessage m = SampleResponse();
  const Bytes wire = EncodeMessage(m);
  const std::size_t answer_at = 12 + m.questions[0].name.WireLength() + 4;
  // The first answer's owner is a bare pointer to the question at offset 12.
  EXPECT_EQ(wire[answer_at], 0xC0);
  EXPECT_EQ(wire[answer_at + 1], 12);
  // The SRV owner is its two own labels, then a pointer into the question.
  const std::size_t srv_at = answer_at + 2 + 10 + 4;
  EXPECT_EQ(wire[srv_at], 5);      // "_http"
  EXPECT_EQ(wire[srv_at + 6], 4);  // "_tcp"
  EXPECT_EQ(wire[srv_at + 11], 0xC0);
  EXPECT_EQ(wire[srv_at + 12], 12);
}

TEST(DnsCodec, QueryWithEdnsRoundTrips) {
  DnsMessage q;
  q.header.id = 7;
  q.header.rd = true;
  q.questions.push_back({DnsName::FromDotted("A.B"), rr::kSrv, rr::kClassIn});
  q.additional.push_back({DnsName{}, rr::kOpt, 4096, 0, DnsRaw{{0, 10, 0, 2, 0xAA, 0xBB}}});
  DnsDecoded d = DecodeMessage(EncodeMessage(q));
  ASSERT_TRUE(d.ok()) << ToString(d.error);
  EXPECT_EQ(d.message.questions, q.questions);
  EXPECT_EQ(d.message.additional, q.additional);
}

TEST(DnsCodec, TruncationKeepsQuestionAndOpt) {
  DnsMessage m = SampleResponse();
  const Bytes wire = EncodeMessage(m, 60);
  DnsDecoded d = DecodeMessage(wire);
  ASSERT_TRUE(d.ok()) << ToString(d.error);
  EXPECT_TRUE(d.message.header.tc);
  EXPECT_EQ(d.message.questions, m.questions);
  EXPECT_TRUE(d.message.answers.empty());
  EXPECT_TRUE(d.message.authority.empty());
  ASSERT_EQ(d.message.additional.size(), 1u);
  EXPECT_EQ(d.message.additional[0].type, rr::kOpt);
}

TEST(DnsCodecMalformed, ShortHeaderHasNoHeader) {
  for (std::size_t n : {0u, 1u, 11u}) {
    Bytes b(n, 0);
    DnsDecoded d = DecodeMessage(b);
    EXPECT_EQ(d.error, DnsWireError::kShortHeader);
    EXPECT_FALSE(d.header.has_value());
  }
}

TEST(DnsCodecMalformed, TruncatedQuestionKeepsHeader) {
  Bytes b = Header(1);
  Append(b, {3, 'w', 'e', 'b', 0, 0x00});  // type cut after one byte
  DnsDecoded d = DecodeMessage(b);
  EXPECT_EQ(d.error, DnsWireError::kTruncatedQuestion);
  ASSERT_TRUE(d.header.has_value());
  EXPECT_EQ(d.header->id, 0x1234);
}

TEST(DnsCodecMalformed, TruncatedName) {
  Bytes b = Header(1);
  Append(b, {5, 'w', 'e'});
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kTruncatedName);
  Bytes no_root = Header(1);
  Append(no_root, {3, 'w', 'e', 'b'});
  EXPECT_EQ(DecodeMessage(no_root).error, DnsWireError::kTruncatedName);
}

TEST(DnsCodecMalformed, CompressionLoopToItself) {
  Bytes b = Header(1);
  Append(b, {0xC0, 12, 0, 1, 0, 1});  // pointer at 12 pointing at 12
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kCompressionLoop);
}

TEST(DnsCodecMalformed, CompressionLoopBetweenTwoPointers) {
  Bytes b = Header(1);
  // 12: label "a", then pointer to 16; 16: pointer back to 12.
  Append(b, {1, 'a', 0xC0, 16, 0xC0, 12, 0, 1, 0, 1});
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kCompressionLoop);
}

TEST(DnsCodecMalformed, PointerOutOfBounds) {
  Bytes b = Header(1);
  Append(b, {0xC1, 0x00, 0, 1, 0, 1});  // offset 256 in a 18-byte message
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kPointerOutOfBounds);
  Bytes cut = Header(1);
  Append(cut, {0xC0});  // half a pointer
  EXPECT_EQ(DecodeMessage(cut).error, DnsWireError::kTruncatedName);
}

TEST(DnsCodecMalformed, LabelLongerThan63) {
  Bytes b = Header(1);
  b.push_back(64);
  b.insert(b.end(), 64, 'x');
  Append(b, {0, 0, 1, 0, 1});
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kLabelTooLong);
  Bytes reserved = Header(1);
  Append(reserved, {0x80, 'x', 0, 0, 1, 0, 1});
  EXPECT_EQ(DecodeMessage(reserved).error, DnsWireError::kLabelTooLong);
}

TEST(DnsCodecMalformed, NameLongerThan255) {
  Bytes b = Header(1);
  for (int i = 0; i < 5; ++i) {  // 5 * 64 = 320 bytes of labels
    b.push_back(63);
    b.insert(b.end(), 63, 'x');
  }
  Append(b, {0, 0, 1, 0, 1});
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kNameTooLong);
}

TEST(DnsCodecMalformed, LongestLegalNameDecodes) {
  Bytes b = Header(1);
  // 3 * 64 + 62 + 1 (root) = 255 bytes exactly.
  for (int i = 0; i < 3; ++i) {
    b.push_back(63);
    b.insert(b.end(), 63, 'x');
  }
  b.push_back(61);
  b.insert(b.end(), 61, 'y');
  Append(b, {0, 0, 1, 0, 1});
  DnsDecoded d = DecodeMessage(b);
  ASSERT_TRUE(d.ok()) << ToString(d.error);
  EXPECT_EQ(d.message.questions[0].name.WireLength(), 255u);
}

TEST(DnsCodecMalformed, QdcountZeroAndTwoDecodeAsWritten) {
  // The codec reports what is there; the handler rejects counts other than
  // one (see dns_handler_test).
  EXPECT_TRUE(DecodeMessage(Header(0)).ok());
  Bytes two = Header(2);
  Append(two, {1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 1, 0, 1});
  DnsDecoded d = DecodeMessage(two);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.message.questions.size(), 2u);
  // A count that promises a second question that is not there.
  Bytes promised = Header(2);
  Append(promised, {1, 'a', 0, 0, 1, 0, 1});
  EXPECT_EQ(DecodeMessage(promised).error, DnsWireError::kTruncatedName);
}

TEST(DnsCodecMalformed, TruncatedRecordAndBadRdata) {
  Bytes b = Header(1, 0, 0, 1);
  Append(b, {1, 'a', 0, 0, 1, 0, 1});
  Append(b, {0, 0, 41, 0x10});  // OPT cut inside its fixed part
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kTruncatedRecord);

  Bytes rd = Header(0, 1);
  Append(rd, {0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 3, 1, 2, 3});  // A with 3 bytes
  EXPECT_EQ(DecodeMessage(rd).error, DnsWireError::kBadRdata);

  Bytes over = Header(0, 1);
  Append(over, {0, 0, 1, 0, 1, 0, 0, 0, 5, 0, 9, 1, 2, 3, 4});  // rdlength past end
  EXPECT_EQ(DecodeMessage(over).error, DnsWireError::kTruncatedRecord);
}

TEST(DnsCodecMalformed, TrailingBytes) {
  Bytes b = Header(1);
  Append(b, {1, 'a', 0, 0, 1, 0, 1, 0xFF});
  EXPECT_EQ(DecodeMessage(b).error, DnsWireError::kTrailingBytes);
}

TEST(DnsCodecMalformed, EveryPrefixOfAValidMessageFailsCleanly) {
  // Decoding each prefix must fail (not crash, not read past the end: run
  // under ASan to prove the latter).
  const Bytes wire = EncodeMessage(SampleResponse());
  for (std::size_t n = 0; n < wire.size(); ++n) {
    Bytes prefix(wire.begin(), wire.begin() + n);
    EXPECT_FALSE(DecodeMessage(prefix).ok()) << "prefix " << n;
  }
}

TEST(DnsCodecMalformed, RandomBytesNeverCrash) {
  // A cheap fuzz pass (meaningful under -DMERIDIAN_SANITIZE=ON): random
  // bodies behind a plausible header, and random mutations of a valid one.
  std::mt19937 rng(1645);
  const Bytes valid = EncodeMessage(SampleResponse());
  for (int i = 0; i < 20000; ++i) {
    Bytes b;
    if (i % 2 == 0) {
      b = Header(1, rng() % 3, rng() % 3, rng() % 3);
      b.resize(12 + rng() % 64);
      for (std::size_t k = 12; k < b.size(); ++k) b[k] = static_cast<std::uint8_t>(rng());
    } else {
      b = valid;
      for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    }
    DnsDecoded d = DecodeMessage(b);
    if (d.ok()) {
      // Whatever decodes must re-encode to something that decodes again.
      EXPECT_TRUE(DecodeMessage(EncodeMessage(d.message)).ok());
    }
  }
}

}  // namespace
}  // namespace meridian::dns
