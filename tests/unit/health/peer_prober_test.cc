// PeerProber against the real kernel: each test runs in a network namespace
// of its own (unshare), where 127.0.0.1 answers echo requests once lo is up
// and any other address has no route. Needs root (CAP_SYS_ADMIN, CAP_NET_RAW).
#include "health/peer_prober.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

namespace meridian::health {
namespace {

using namespace std::chrono_literals;
using model::Ipv4Address;

const Ipv4Address kLoopback = *Ipv4Address::Parse("127.0.0.1");
const Ipv4Address kNoRoute = *Ipv4Address::Parse("10.255.255.1");

void SetLoopback(bool up) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  ASSERT_EQ(ioctl(fd, SIOCGIFFLAGS, &ifr), 0) << std::strerror(errno);
  if (up) {
    ifr.ifr_flags |= IFF_UP;
  } else {
    ifr.ifr_flags &= ~IFF_UP;
  }
  ASSERT_EQ(ioctl(fd, SIOCSIFFLAGS, &ifr), 0) << std::strerror(errno);
  close(fd);
}

class PeerProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace and a raw socket)";
    // This process only (ctest runs each test in a process of its own).
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    SetLoopback(true);
  }

  std::unique_ptr<PeerProber> Start(std::vector<Ipv4Address> targets,
                                    PeerProber::OnChange on_change = {}) {
    auto p = PeerProber::Start(io_, {.interval = 20ms, .misses = 3}, std::move(on_change));
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    if (!p.ok()) return nullptr;
    auto prober = std::move(p).value();
    prober->SetTargets(targets);
    return prober;
  }

  // Runs the io_context until `done` holds, at most 2 s.
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(5ms);
      io_.restart();
    }
    return true;
  }

  Reachability StateOf(const PeerProber& p, Ipv4Address a) {
    auto probe = p.Find(a);
    return probe ? probe->state : Reachability::kProbing;
  }

  boost::asio::io_context io_;
};

TEST(EchoPacketTest, RequestHasTypeIdSequenceAndAValidChecksum) {
  auto p = EchoRequest(0x1234, 0x0102, 0xfeedfacecafebeefull, 123456789);
  ASSERT_EQ(p.size(), 24u);
  EXPECT_EQ(p[0], 8);  // echo request
  EXPECT_EQ(p[1], 0);
  EXPECT_EQ(p[4], 0x12);
  EXPECT_EQ(p[5], 0x34);
  EXPECT_EQ(p[6], 0x01);
  EXPECT_EQ(p[7], 0x02);
  // The one's-complement sum over a packet with a correct checksum is 0xffff.
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < p.size(); i += 2) sum += p[i] << 8 | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
}

// An IPv4 header (IHL 5) in front of `icmp`.
std::vector<std::uint8_t> WithIpHeader(std::vector<std::uint8_t> icmp) {
  std::vector<std::uint8_t> packet(20, 0);
  packet[0] = 0x45;
  packet.insert(packet.end(), icmp.begin(), icmp.end());
  return packet;
}

TEST(EchoPacketTest, MatchesOnlyItsOwnReplies) {
  auto reply = EchoRequest(7, 1, 42, 5000);
  reply[0] = 0;  // echo reply
  auto packet = WithIpHeader(reply);
  EXPECT_EQ(MatchEchoReply(packet.data(), packet.size(), 7, 42), 5000);
  EXPECT_EQ(MatchEchoReply(packet.data(), packet.size(), 8, 42), std::nullopt) << "other id";
  EXPECT_EQ(MatchEchoReply(packet.data(), packet.size(), 7, 43), std::nullopt) << "other token";
  EXPECT_EQ(MatchEchoReply(packet.data(), packet.size() - 1, 7, 42), std::nullopt) << "truncated";
  auto request = WithIpHeader(EchoRequest(7, 1, 42, 5000));
  EXPECT_EQ(MatchEchoReply(request.data(), request.size(), 7, 42), std::nullopt) << "a request";
  auto ipv6ish = packet;
  ipv6ish[0] = 0x65;
  EXPECT_EQ(MatchEchoReply(ipv6ish.data(), ipv6ish.size(), 7, 42), std::nullopt) << "not IPv4";
  auto options = WithIpHeader(std::vector<std::uint8_t>(4, 0));  // IHL 6: 4 bytes of options
  options[0] = 0x46;
  options.insert(options.end(), reply.begin(), reply.end());
  EXPECT_EQ(MatchEchoReply(options.data(), options.size(), 7, 42), 5000) << "IP options skipped";
}

TEST_F(PeerProberTest, RejectsBadOptions) {
  auto p = PeerProber::Start(io_, {.interval = 0ms, .misses = 3});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message, "peer prober: interval must be > 0 and misses >= 1 (got 0 ms, 3)");
}

TEST_F(PeerProberTest, AnsweringTargetBecomesReachableWithAnRtt) {
  int changes = 0;
  auto p = Start({kLoopback}, [&] { ++changes; });
  ASSERT_TRUE(p);
  EXPECT_EQ(p->Find(kLoopback)->state, Reachability::kProbing) << "no verdict before a reply";
  ASSERT_TRUE(RunUntil([&] { return StateOf(*p, kLoopback) == Reachability::kReachable; }));
  auto probe = *p->Find(kLoopback);
  EXPECT_GE(probe.replies, 1u);
  EXPECT_GE(probe.sent, probe.replies);
  ASSERT_TRUE(probe.rtt);
  EXPECT_GT(probe.rtt->count(), 0);
  EXPECT_LT(*probe.rtt, 100ms);
  ASSERT_TRUE(probe.since_reply);
  EXPECT_EQ(probe.last_error, "");
  EXPECT_EQ(changes, 1);
  EXPECT_STREQ(ReachabilityName(probe.state), "reachable");
}

TEST_F(PeerProberTest, TargetWithoutRouteGoesUnreachableWithTheReason) {
  int changes = 0;
  auto p = Start({kNoRoute}, [&] { ++changes; });
  ASSERT_TRUE(p);
  EXPECT_EQ(p->Find(kNoRoute)->state, Reachability::kProbing);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunUntil([&] { return StateOf(*p, kNoRoute) == Reachability::kUnreachable; }));
  // Not before `misses` intervals (3 x 20 ms).
  EXPECT_GE(std::chrono::steady_clock::now() - started, 55ms);
  auto probe = *p->Find(kNoRoute);
  EXPECT_EQ(probe.replies, 0u);
  EXPECT_GE(probe.sent, 3u);
  EXPECT_EQ(probe.rtt, std::nullopt);
  EXPECT_EQ(probe.since_reply, std::nullopt);
  EXPECT_EQ(probe.last_error, "Network is unreachable");
  EXPECT_EQ(changes, 1);
  EXPECT_STREQ(ReachabilityName(probe.state), "unreachable");
}

TEST_F(PeerProberTest, FlipsWhenTheLinkGoesDownAndUp) {
  int changes = 0;
  auto p = Start({kLoopback}, [&] { ++changes; });
  ASSERT_TRUE(p);
  ASSERT_TRUE(RunUntil([&] { return StateOf(*p, kLoopback) == Reachability::kReachable; }));
  SetLoopback(false);
  ASSERT_TRUE(RunUntil([&] { return StateOf(*p, kLoopback) == Reachability::kUnreachable; }));
  const auto replies_while_down = p->Find(kLoopback)->replies;
  const auto sent_while_down = p->Find(kLoopback)->sent;
  // lo down: sends still succeed, nothing comes back.
  ASSERT_TRUE(RunUntil([&] { return p->Find(kLoopback)->sent >= sent_while_down + 3; }));
  EXPECT_EQ(p->Find(kLoopback)->replies, replies_while_down);
  EXPECT_EQ(p->Find(kLoopback)->state, Reachability::kUnreachable);
  SetLoopback(true);
  ASSERT_TRUE(RunUntil([&] { return StateOf(*p, kLoopback) == Reachability::kReachable; }));
  EXPECT_GT(p->Find(kLoopback)->replies, replies_while_down);
  EXPECT_EQ(changes, 3);  // reachable, unreachable, reachable
}

TEST_F(PeerProberTest, TwoProbersCountOnlyTheirOwnReplies) {
  // Each raw socket sees both probers' replies; the id and the token keep
  // them apart.
  auto a = Start({kLoopback});
  auto b = Start({kLoopback});
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(RunUntil(
      [&] { return a->Find(kLoopback)->replies >= 5 && b->Find(kLoopback)->replies >= 5; }));
  EXPECT_LE(a->Find(kLoopback)->replies, a->Find(kLoopback)->sent);
  EXPECT_LE(b->Find(kLoopback)->replies, b->Find(kLoopback)->sent);
}

TEST_F(PeerProberTest, SetTargetsKeepsWhatStaysAndProbesWhatIsNewAtOnce) {
  const Ipv4Address second = *Ipv4Address::Parse("127.0.0.2");
  auto p = Start({kLoopback});
  ASSERT_TRUE(p);
  ASSERT_TRUE(RunUntil([&] { return p->Find(kLoopback)->replies >= 2; }));
  const auto kept = *p->Find(kLoopback);
  p->SetTargets({second, kLoopback, second});
  ASSERT_EQ(p->Snapshot().size(), 2u) << "one entry per address";
  EXPECT_EQ(p->Snapshot()[0].address, kLoopback) << "sorted by address";
  EXPECT_GE(p->Find(kLoopback)->replies, kept.replies);
  EXPECT_EQ(p->Find(kLoopback)->sent, kept.sent) << "a kept target is not probed again";
  EXPECT_EQ(p->Find(kLoopback)->state, Reachability::kReachable);
  EXPECT_EQ(p->Find(second)->sent, 1u) << "probed without waiting for the next interval";
  EXPECT_EQ(p->Find(second)->state, Reachability::kProbing);
  p->SetTargets({second});
  EXPECT_EQ(p->Find(kLoopback), std::nullopt);
  ASSERT_TRUE(RunUntil([&] { return StateOf(*p, second) == Reachability::kReachable; }));
}

}  // namespace
}  // namespace meridian::health
