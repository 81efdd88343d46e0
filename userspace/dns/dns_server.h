// DnsServer: serves the clusterset.local zone over UDP and TCP on an
// io_context the caller owns and runs (the agent's single Asio thread).
// Asio stays out of this header so the agent's other modules need not see
// it through here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "dns/client_rate_limiter.h"
#include "dns/dns_catalog.h"
#include "dns/dns_counters.h"
#include "dns/dns_handler.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace meridian::dns {

struct DnsServerOptions {
  std::string listen_address = "127.0.0.1";
  // 0: an ephemeral port, the same for UDP and TCP when it can be had
  // (tests point one `dig -p` at both).
  std::uint16_t port = 53535;
  DnsHandlerOptions handler;
  // A TCP connection beyond this bound is closed as soon as it is accepted,
  // so a flood of idle connections cannot exhaust the agent's descriptors.
  std::size_t max_tcp_connections = 64;
  // Idle connections are closed after this (RFC 7766 recommends seconds).
  std::chrono::milliseconds tcp_idle_timeout = std::chrono::seconds(10);
  // UDP queries answered per second per client address; more are dropped
  // unanswered (counted as rate_limited). dns/client_rate_limiter.h.
  RateLimit udp_rate_limit{.per_second = 1000, .burst = 2000};
};

class DnsServer {
 public:
  // Binds both sockets and starts serving an empty catalog (every service
  // NXDOMAIN) until SetCatalog. Errors name the address that failed.
  static Result<std::unique_ptr<DnsServer>> Start(boost::asio::io_context& io,
                                                  DnsServerOptions options);
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;
  ~DnsServer();  // Stop()

  // Closes the sockets and every TCP connection; pending handlers finish
  // with operation_aborted and touch nothing the caller owns. Like the
  // destructor, call it on the io_context thread or once the io_context
  // has stopped running.
  void Stop();

  // Replaces the catalog; the next query sees the new one. Call on the
  // io_context thread: queries are answered there too, so a swap can never
  // land in the middle of an answer.
  void SetCatalog(DnsCatalog catalog);

  std::uint16_t udp_port() const;
  std::uint16_t tcp_port() const;
  // Read on the io_context thread.
  const DnsCounters& counters() const;

  struct Core;  // shared with in-flight handlers; defined in dns_server.cc

 private:
  explicit DnsServer(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::shared_ptr<Core> core_;
};

}  // namespace meridian::dns
