// End to end: the server on 127.0.0.1 with an ephemeral port, its
// io_context on a thread of its own, queried by the real `dig` over UDP and
// TCP, and by raw sockets for the TCP connection rules.
// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include "dns/dns_server.h"

#include <gtest/gtest.h>
#include <stdio.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dns_test_catalog.h"

namespace meridian::dns {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

bool HaveDig() { return std::system("command -v dig >/dev/null 2>&1") == 0; }

// Runs a command, returns stdout with every run of blanks and tabs collapsed
// to one space (dig aligns columns with tabs).
std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return "popen failed";
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), f) != nullptr) out += buf.data();
  pclose(f);
  std::string norm;
  for (char c : out) {
    if (c == '\t') c = ' ';
    if (c == ' ' && !norm.empty() && norm.back() == ' ') continue;
    norm += c;
  }
  return norm;
}

class DnsServerTest : public ::testing::Test {
 protected:
  void StartServer(DnsServerOptions options = {}) {
    options.listen_address = "127.0.0.1";
    options.port = 0;
    auto server = DnsServer::Start(io_, options);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    // Before the io thread starts, this thread is the io_context's thread.
    server_->SetCatalog(test_support::SampleCatalog());
    work_.emplace(asio::make_work_guard(io_));
    thread_ = std::thread([this] { io_.run(); });
  }

  // Stops the server on its thread and joins it, so counters can be read.
  void TearDown() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      server_->Stop();
      work_.reset();
    });
    thread_.join();
  }

  std::string Dig(const std::string& args) {
    return RunCommand("dig @127.0.0.1 -p " + std::to_string(server_->udp_port()) +
                      " +tries=1 +time=2 " + args + " 2>&1");
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<DnsServer> server_;
  std::thread thread_;
};

#define REQUIRE_DIG() \
  if (!HaveDig()) GTEST_SKIP() << "dig not installed (apt-get install dnsutils)"

TEST_F(DnsServerTest, BindsOneEphemeralPortForBoth) {
  StartServer();
  EXPECT_NE(server_->udp_port(), 0);
  EXPECT_EQ(server_->udp_port(), server_->tcp_port());
}

TEST_F(DnsServerTest, BadListenAddressIsAnError) {
  DnsServerOptions o;
  o.listen_address = "not-an-ip";
  auto server = DnsServer::Start(io_, o);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message.find("not-an-ip"), std::string::npos);
}

TEST_F(DnsServerTest, DigClusterSetIpA) {
  REQUIRE_DIG();
  StartServer();
  EXPECT_EQ(Dig("+noall +answer web.prod.svc.clusterset.local A"),
            "web.prod.svc.clusterset.local. 5 IN A 10.42.0.10\n");
}

TEST_F(DnsServerTest, DigSrv) {
  REQUIRE_DIG();
  StartServer();
  EXPECT_EQ(Dig("+noall +answer _http._tcp.web.prod.svc.clusterset.local SRV"),
            "_http._tcp.web.prod.svc.clusterset.local. 5 IN SRV 0 100 80 "
            "web.prod.svc.clusterset.local.\n");
  EXPECT_EQ(Dig("+noall +additional +noedns _http._tcp.web.prod.svc.clusterset.local SRV"),
            "web.prod.svc.clusterset.local. 5 IN A 10.42.0.10\n");
}

TEST_F(DnsServerTest, DigTxtSchemaVersion) {
  REQUIRE_DIG();
  StartServer();
  EXPECT_EQ(Dig("+noall +answer dns-version.clusterset.local TXT"),
            "dns-version.clusterset.local. 5 IN TXT \"1.0.0\"\n");
}

TEST_F(DnsServerTest, DigHeadless) {
  REQUIRE_DIG();
  StartServer();
  std::string all = Dig("+noall +answer db.prod.svc.clusterset.local A");
  EXPECT_NE(all.find("db.prod.svc.clusterset.local. 5 IN A 10.1.0.1\n"), std::string::npos) << all;
  EXPECT_NE(all.find("db.prod.svc.clusterset.local. 5 IN A 10.1.0.2\n"), std::string::npos) << all;
  EXPECT_NE(all.find("db.prod.svc.clusterset.local. 5 IN A 10.2.0.1\n"), std::string::npos) << all;
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 3) << all;

  EXPECT_EQ(Dig("+noall +answer db-0.cluster-b.db.prod.svc.clusterset.local A"),
            "db-0.cluster-b.db.prod.svc.clusterset.local. 5 IN A 10.2.0.1\n");
  std::string srv = Dig("+noall +answer _pg._tcp.db.prod.svc.clusterset.local SRV");
  EXPECT_NE(srv.find("_pg._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 100 5432 "
                     "db-0.cluster-a.db.prod.svc.clusterset.local.\n"),
            std::string::npos)
      << srv;
  EXPECT_NE(srv.find("_pg._tcp.db.prod.svc.clusterset.local. 5 IN SRV 0 100 5432 "
                     "db-0.cluster-b.db.prod.svc.clusterset.local.\n"),
            std::string::npos)
      << srv;
  EXPECT_EQ(std::count(srv.begin(), srv.end(), '\n'), 2) << srv;
}

TEST_F(DnsServerTest, DigNxdomainNodataRefused) {
  REQUIRE_DIG();
  StartServer();
  std::string nx = Dig("+noall +comments +authority nope.prod.svc.clusterset.local A");
  EXPECT_NE(nx.find("status: NXDOMAIN"), std::string::npos) << nx;
  EXPECT_NE(nx.find("flags: qr aa rd;"), std::string::npos) << nx;
  EXPECT_NE(nx.find("clusterset.local. 5 IN SOA ns.dns.clusterset.local. "
                    "hostmaster.clusterset.local. 42 7200 1800 86400 5\n"),
            std::string::npos)
      << nx;
  std::string nodata = Dig("+noall +comments +answer web.prod.svc.clusterset.local AAAA");
  EXPECT_NE(nodata.find("status: NOERROR"), std::string::npos) << nodata;
  EXPECT_NE(nodata.find("ANSWER: 0,"), std::string::npos) << nodata;
  std::string refused = Dig("+noall +comments example.com A");
  EXPECT_NE(refused.find("status: REFUSED"), std::string::npos) << refused;
}

TEST_F(DnsServerTest, DigOverTcp) {
  REQUIRE_DIG();
  StartServer();
  EXPECT_EQ(Dig("+tcp +noall +answer web.prod.svc.clusterset.local A"),
            "web.prod.svc.clusterset.local. 5 IN A 10.42.0.10\n");
  EXPECT_EQ(Dig("+tcp +noall +answer dns-version.clusterset.local TXT"),
            "dns-version.clusterset.local. 5 IN TXT \"1.0.0\"\n");
  TearDown();
  EXPECT_EQ(server_->counters().tcp_connections, 2u);
  EXPECT_EQ(server_->counters().tcp_queries, 2u);
  EXPECT_EQ(server_->counters().tcp_connections_active, 0u);
}

TEST_F(DnsServerTest, DigSeesCatalogSwaps) {
  REQUIRE_DIG();
  StartServer();
  std::promise<void> swapped;
  asio::post(io_, [&] {
    DnsImport api;
    api.ns = "dev";
    api.name = "api";
    api.clusterset_ip = test_support::Ip("10.42.0.99");
    server_->SetCatalog(DnsCatalog({api}));
    swapped.set_value();
  });
  swapped.get_future().wait();
  EXPECT_EQ(Dig("+noall +answer api.dev.svc.clusterset.local A"),
            "api.dev.svc.clusterset.local. 5 IN A 10.42.0.99\n");
  EXPECT_NE(Dig("+noall +comments web.prod.svc.clusterset.local A").find("status: NXDOMAIN"),
            std::string::npos);
}

// Raw TCP helpers for what dig cannot show: several queries on one
// connection, the connection bound and the idle timeout.
std::vector<std::uint8_t> Frame(const std::string& name, std::uint16_t id) {
  DnsMessage q;
  q.header.id = id;
  q.questions.push_back({DnsName::FromDotted(name), rr::kA, rr::kClassIn});
  std::vector<std::uint8_t> body = EncodeMessage(q);
  std::vector<std::uint8_t> out{static_cast<std::uint8_t>(body.size() >> 8),
                                static_cast<std::uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

DnsDecoded ReadFrame(tcp::socket& s, boost::system::error_code& ec) {
  std::array<std::uint8_t, 2> len{};
  asio::read(s, asio::buffer(len), ec);
  if (ec) return {};
  std::vector<std::uint8_t> body((len[0] << 8) | len[1]);
  asio::read(s, asio::buffer(body), ec);
  if (ec) return {};
  return DecodeMessage(body);
}

TEST_F(DnsServerTest, TcpCarriesSeveralQueriesPerConnection) {
  StartServer();
  asio::io_context client_io;
  tcp::socket s(client_io);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), server_->tcp_port()}, ec);
  ASSERT_FALSE(ec) << ec.message();
  // Two queries written back to back (pipelined), answered in order.
  std::vector<std::uint8_t> both = Frame("web.prod.svc.clusterset.local", 1);
  std::vector<std::uint8_t> second = Frame("nope.prod.svc.clusterset.local", 2);
  both.insert(both.end(), second.begin(), second.end());
  asio::write(s, asio::buffer(both), ec);
  ASSERT_FALSE(ec);
  DnsDecoded a = ReadFrame(s, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(a.message.header.id, 1);
  EXPECT_EQ(a.message.answers.size(), 1u);
  DnsDecoded b = ReadFrame(s, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(b.message.header.id, 2);
  EXPECT_EQ(b.message.header.rcode, static_cast<std::uint8_t>(Rcode::kNxDomain));
}

TEST_F(DnsServerTest, TcpConnectionsAreBoundedAndIdleOnesClosed) {
  DnsServerOptions o;
  o.max_tcp_connections = 1;
  o.tcp_idle_timeout = std::chrono::milliseconds(300);
  StartServer(o);
  asio::io_context client_io;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), server_->tcp_port());
  boost::system::error_code ec;
  tcp::socket first(client_io);
  first.connect(ep, ec);
  ASSERT_FALSE(ec);
  // Make sure the first is accepted (and counted) before the second comes.
  asio::write(first, asio::buffer(Frame("web.prod.svc.clusterset.local", 1)), ec);
  ReadFrame(first, ec);
  ASSERT_FALSE(ec) << ec.message();

  tcp::socket second(client_io);
  second.connect(ep, ec);  // the kernel completes the handshake; then we close
  ASSERT_FALSE(ec);
  std::array<std::uint8_t, 1> byte{};
  asio::read(second, asio::buffer(byte), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();

  // The first, left idle, is closed by the server.
  const auto start = std::chrono::steady_clock::now();
  asio::read(first, asio::buffer(byte), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));

  TearDown();
  EXPECT_EQ(server_->counters().tcp_connections, 1u);
  EXPECT_EQ(server_->counters().tcp_connections_rejected, 1u);
  EXPECT_EQ(server_->counters().tcp_idle_timeouts, 1u);
  EXPECT_EQ(server_->counters().tcp_connections_active, 0u);
}

TEST_F(DnsServerTest, UdpMalformedIsCountedAndServerKeepsServing) {
  StartServer();
  asio::io_context client_io;
  asio::ip::udp::socket s(client_io, asio::ip::udp::v4());
  const asio::ip::udp::endpoint ep(asio::ip::make_address("127.0.0.1"), server_->udp_port());
  const std::array<std::uint8_t, 3> junk{1, 2, 3};
  s.send_to(asio::buffer(junk), ep);
  std::vector<std::uint8_t> q = Frame("web.prod.svc.clusterset.local", 9);
  s.send_to(asio::buffer(q.data() + 2, q.size() - 2), ep);
  std::array<std::uint8_t, 512> buf{};
  asio::ip::udp::endpoint from;
  const std::size_t n = s.receive_from(asio::buffer(buf), from);
  DnsDecoded d = DecodeMessage(std::span(buf.data(), n));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.message.header.id, 9);  // the junk got no answer
  TearDown();
  EXPECT_EQ(server_->counters().udp_queries, 2u);
  EXPECT_EQ(server_->counters().dropped, 1u);
  EXPECT_EQ(server_->counters().malformed_count(DnsWireError::kShortHeader), 1u);
}

// Over its rate, a client's UDP queries go unanswered and are counted; a
// client at another address keeps its own budget.
TEST_F(DnsServerTest, UdpQueriesOverTheClientsRateAreDroppedAndCounted) {
  StartServer({.udp_rate_limit = {.per_second = 1, .burst = 10}});
  asio::io_context client_io;
  const asio::ip::udp::endpoint server(asio::ip::make_address("127.0.0.1"), server_->udp_port());
  auto answers = [&](const char* from, int queries) {
    asio::ip::udp::socket s(client_io, asio::ip::udp::endpoint(asio::ip::make_address(from), 0));
    for (int i = 0; i < queries; ++i) {
      std::vector<std::uint8_t> q = Frame("web.prod.svc.clusterset.local", 100 + i);
      s.send_to(asio::buffer(q.data() + 2, q.size() - 2), server);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    s.non_blocking(true);
    int n = 0;
    std::array<std::uint8_t, 512> buf{};
    asio::ip::udp::endpoint peer;
    boost::system::error_code ec;
    while (s.receive_from(asio::buffer(buf), peer, 0, ec) > 0 && !ec) ++n;
    return n;
  };
  EXPECT_EQ(answers("127.0.0.1", 30), 10);  // the burst; 1/s refills none in 0.3 s
  EXPECT_EQ(answers("127.0.0.2", 5), 5);
  TearDown();
  EXPECT_EQ(server_->counters().udp_queries, 35u);
  EXPECT_EQ(server_->counters().rate_limited, 20u);
}

}  // namespace
}  // namespace meridian::dns
