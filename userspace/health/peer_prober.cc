#include "health/peer_prober.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <random>

namespace meridian::health {

namespace asio = boost::asio;
using asio::ip::icmp;

namespace {

constexpr std::uint8_t kEchoReply = 0;
constexpr std::uint8_t kEchoRequest = 8;
constexpr std::size_t kIcmpHeader = 8;
constexpr std::size_t kPayload = 16;  // token + send time

std::uint16_t InternetChecksum(const std::uint8_t* data, std::size_t length) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < length; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (length % 2) sum += data[length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

void Put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}
std::uint16_t Get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

std::int64_t SteadyNs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

const char* ReachabilityName(Reachability r) {
  switch (r) {
    case Reachability::kProbing:
      return "probing";
    case Reachability::kReachable:
      return "reachable";
    case Reachability::kUnreachable:
      return "unreachable";
  }
  return "unknown";
}

std::vector<std::uint8_t> EchoRequest(std::uint16_t id, std::uint16_t sequence, std::uint64_t token,
                                      std::int64_t sent_ns) {
  std::vector<std::uint8_t> p(kIcmpHeader + kPayload, 0);
  p[0] = kEchoRequest;
  Put16(&p[4], id);
  Put16(&p[6], sequence);
  // Payload in host order: only this process reads it back.
  std::memcpy(&p[kIcmpHeader], &token, 8);
  std::memcpy(&p[kIcmpHeader + 8], &sent_ns, 8);
  Put16(&p[2], InternetChecksum(p.data(), p.size()));
  return p;
}

std::optional<std::int64_t> MatchEchoReply(const std::uint8_t* packet, std::size_t length,
                                           std::uint16_t id, std::uint64_t token) {
  if (length < 20 || (packet[0] >> 4) != 4) return std::nullopt;
  const std::size_t ihl = (packet[0] & 0x0f) * 4u;
  if (ihl < 20 || length < ihl + kIcmpHeader + kPayload) return std::nullopt;
  const std::uint8_t* icmp = packet + ihl;
  if (icmp[0] != kEchoReply || icmp[1] != 0 || Get16(&icmp[4]) != id) return std::nullopt;
  std::uint64_t got_token;
  std::int64_t sent_ns;
  std::memcpy(&got_token, &icmp[kIcmpHeader], 8);
  std::memcpy(&sent_ns, &icmp[kIcmpHeader + 8], 8);
  if (got_token != token) return std::nullopt;
  return sent_ns;
}

PeerProber::PeerProber(asio::io_context& io, Options options, OnChange on_change)
    : options_(options), on_change_(std::move(on_change)), socket_(io), timer_(io) {
  std::random_device rd;
  echo_id_ = static_cast<std::uint16_t>(rd());
  token_ = (static_cast<std::uint64_t>(rd()) << 32) | rd();
}

PeerProber::~PeerProber() { *alive_ = false; }

Result<std::unique_ptr<PeerProber>> PeerProber::Start(asio::io_context& io, Options options,
                                                      OnChange on_change) {
  if (options.interval.count() <= 0 || options.misses < 1) {
    return Error{fmt::format("peer prober: interval must be > 0 and misses >= 1 (got {} ms, {})",
                             options.interval.count(), options.misses)};
  }
  std::unique_ptr<PeerProber> p(new PeerProber(io, options, std::move(on_change)));
  boost::system::error_code ec;
  p->socket_.open(icmp::v4(), ec);
  if (!ec) p->socket_.non_blocking(true, ec);
  if (ec) {
    return Error{fmt::format("peer prober: cannot open a raw ICMP socket ({}; needs CAP_NET_RAW)",
                             ec.message())};
  }
  p->Receive();
  p->Tick();
  return p;
}

void PeerProber::SetTargets(const std::vector<model::Ipv4Address>& targets) {
  std::map<model::Ipv4Address, Target> next;
  std::vector<model::Ipv4Address> added;
  const auto now = Clock::now();
  for (auto a : targets) {
    if (next.contains(a)) continue;
    auto it = targets_.find(a);
    if (it != targets_.end()) {
      next.emplace(a, std::move(it->second));
    } else {
      next.emplace(a, Target{.added = now});
      added.push_back(a);
    }
  }
  targets_ = std::move(next);
  // A new peer is probed at once, not up to an interval later; the others
  // keep their rhythm.
  for (auto a : added) SendTo(a, targets_.at(a));
}

void PeerProber::Tick() {
  SendAll();
  if (UpdateStates(Clock::now()) && on_change_) on_change_();
  timer_.expires_after(options_.interval);
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    Tick();
  });
}

void PeerProber::SendAll() {
  for (auto& [address, t] : targets_) SendTo(address, t);
}

void PeerProber::SendTo(model::Ipv4Address address, Target& t) {
  const auto packet = EchoRequest(echo_id_, sequence_++, token_, SteadyNs(Clock::now()));
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(packet),
                  icmp::endpoint(asio::ip::address_v4(address.host_order()), 0), 0, ec);
  ++t.sent;
  if (ec) {
    // No route, or the device is down: the verdict comes from the missing
    // replies; the reason is kept for the status.
    if (t.last_error != ec.message()) {
      spdlog::debug("peer prober: echo to {}: {}", address.ToString(), ec.message());
    }
    t.last_error = ec.message();
  } else {
    t.last_error.clear();
  }
}

void PeerProber::Receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_), from_,
      [this, alive = alive_](const boost::system::error_code& ec, std::size_t n) {
        if (!*alive || ec == asio::error::operation_aborted) return;
        if (!ec) OnPacket(n);
        Receive();
      });
}

void PeerProber::OnPacket(std::size_t length) {
  // A raw ICMP socket sees every ICMP packet of the namespace: ours are the
  // echo replies with our id and token, from a target.
  auto sent_ns = MatchEchoReply(buffer_.data(), length, echo_id_, token_);
  if (!sent_ns) return;
  auto it = targets_.find(model::Ipv4Address(from_.address().to_v4().to_uint()));
  if (it == targets_.end()) return;
  const auto now = Clock::now();
  Target& t = it->second;
  ++t.replies;
  t.last_reply = now;
  t.rtt = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::nanoseconds(SteadyNs(now) - *sent_ns));
  // Coming back is reported at once; going away waits for the misses.
  if (UpdateStates(now) && on_change_) on_change_();
}

Reachability PeerProber::StateOf(const Target& t, Clock::time_point now) const {
  const auto window = options_.interval * options_.misses;
  if (t.last_reply && now - *t.last_reply <= window) return Reachability::kReachable;
  if (!t.last_reply && now - t.added < window) return Reachability::kProbing;
  return Reachability::kUnreachable;
}

bool PeerProber::UpdateStates(Clock::time_point now) {
  bool changed = false;
  for (auto& [address, t] : targets_) {
    const auto s = StateOf(t, now);
    if (s != t.state) {
      if (s == Reachability::kUnreachable) {
        spdlog::warn("peer {}: no echo reply for {} ms{}", address.ToString(),
                     (options_.interval * options_.misses).count(),
                     t.last_error.empty() ? "" : " (" + t.last_error + ")");
      } else if (t.state == Reachability::kUnreachable) {
        spdlog::info("peer {}: answers again", address.ToString());
      }
      t.state = s;
      changed = true;
    }
  }
  return changed;
}

PeerProbe PeerProber::Describe(model::Ipv4Address address, const Target& t,
                               Clock::time_point now) const {
  PeerProbe p{.address = address,
              .state = t.state,
              .rtt = t.rtt,
              .sent = t.sent,
              .replies = t.replies,
              .last_error = t.last_error};
  if (t.last_reply) {
    p.since_reply = std::chrono::duration_cast<std::chrono::milliseconds>(now - *t.last_reply);
  }
  return p;
}

std::vector<PeerProbe> PeerProber::Snapshot() const {
  std::vector<PeerProbe> out;
  const auto now = Clock::now();
  for (const auto& [address, t] : targets_) out.push_back(Describe(address, t, now));
  return out;
}

std::optional<PeerProbe> PeerProber::Find(model::Ipv4Address address) const {
  auto it = targets_.find(address);
  if (it == targets_.end()) return std::nullopt;
  return Describe(address, it->second, Clock::now());
}

}  // namespace meridian::health
