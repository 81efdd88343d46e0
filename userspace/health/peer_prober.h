// PeerProber: whether this node reaches each peer cluster's tunnel
// endpoints (or its gateway) over the underlay, by ICMP echo, as
// cilium-health probes its peers. The tunnel rides the same underlay, so an
// endpoint that stops answering is one the VXLAN traffic does not reach
// either. `meridianctl clusters` and /metrics show the verdicts.
//
// One raw ICMP socket on the agent's io_context: every `interval` one echo
// request per target (work grows with the targets, not the services). A
// reply is matched by the echo id and a random token in its payload, so
// replies to other pingers on the node (or a second prober) are not
// counted; the payload also carries the send time, which gives the RTT
// without a table of requests in flight.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/icmp.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/ipv4.h"

namespace meridian::health {

enum class Reachability {
  kProbing,      // no reply yet, and not yet `misses` intervals since it was added
  kReachable,    // a reply within the last `misses` intervals
  kUnreachable,  // none for `misses` intervals
};
// "probing", "reachable", "unreachable" (status.json, meridianctl).
const char* ReachabilityName(Reachability r);

struct PeerProbe {
  model::Ipv4Address address;
  Reachability state = Reachability::kProbing;
  std::optional<std::chrono::microseconds> rtt;          // of the last reply
  std::optional<std::chrono::milliseconds> since_reply;  // age of the last reply
  std::uint64_t sent = 0;     // echo requests sent (including failed sends)
  std::uint64_t replies = 0;  // matching echo replies received
  std::string last_error;     // why the last send failed ("" when it did not)
};

class PeerProber {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    int misses = 3;  // intervals without a reply before a target is unreachable
  };
  // Called (on the io_context's thread) when a target's state changes.
  using OnChange = std::function<void()>;

  // Opens the raw ICMP socket (needs CAP_NET_RAW: the error says so).
  static Result<std::unique_ptr<PeerProber>> Start(boost::asio::io_context& io, Options options,
                                                   OnChange on_change = {});
  ~PeerProber();

  // Probes exactly these addresses from now on. A target that stays keeps
  // its state and counts; a new one starts probing at once.
  void SetTargets(const std::vector<model::Ipv4Address>& targets);
  // Every target, by address.
  std::vector<PeerProbe> Snapshot() const;
  std::optional<PeerProbe> Find(model::Ipv4Address address) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Target {
    Clock::time_point added;
    std::optional<Clock::time_point> last_reply;
    std::optional<std::chrono::microseconds> rtt;
    std::uint64_t sent = 0, replies = 0;
    std::string last_error;
    Reachability state = Reachability::kProbing;
  };

  PeerProber(boost::asio::io_context& io, Options options, OnChange on_change);
  void Tick();
  void SendAll();
  void SendTo(model::Ipv4Address address, Target& t);
  void Receive();
  void OnPacket(std::size_t length);
  // Recomputes every state; true if one changed.
  bool UpdateStates(Clock::time_point now);
  Reachability StateOf(const Target& t, Clock::time_point now) const;
  PeerProbe Describe(model::Ipv4Address address, const Target& t, Clock::time_point now) const;

  Options options_;
  OnChange on_change_;
  boost::asio::ip::icmp::socket socket_;
  boost::asio::steady_timer timer_;
  std::uint16_t echo_id_;
  std::uint64_t token_;
  std::uint16_t sequence_ = 0;
  std::map<model::Ipv4Address, Target> targets_;
  std::array<std::uint8_t, 1500> buffer_{};
  boost::asio::ip::icmp::endpoint from_;
  // Cleared by the destructor: handlers still queued must not touch *this.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The ICMP echo request the prober sends (exposed for its test): type 8,
// `id`, `sequence`, payload = token (8 bytes) + send time in steady ns (8
// bytes), checksum filled in.
std::vector<std::uint8_t> EchoRequest(std::uint16_t id, std::uint16_t sequence, std::uint64_t token,
                                      std::int64_t sent_ns);
// The send time of an IPv4 packet (header included, as a raw socket reads
// it) that is an echo reply to `id` carrying `token`; nullopt otherwise.
std::optional<std::int64_t> MatchEchoReply(const std::uint8_t* packet, std::size_t length,
                                           std::uint16_t id, std::uint64_t token);

}  // namespace meridian::health
