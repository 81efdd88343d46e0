// HealthServer: the probe endpoints of the agent and the controller over
// plain HTTP/1.1 (Boost.Beast), kube-proxy's convention: GET /healthz
// (the control loop is alive, with its last sync time) and GET /readyz
// (the component does its job: maps programmed, registry reached). The
// kubelet probes them; the answers come from a callback on the io_context's
// thread, so they read the component's state without locks.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
// clang-format on
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace meridian::health {

struct HealthReply {
  unsigned status = 200;  // 200 or 503
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

class HealthServer {
 public:
  // Answers one path; with Paths::kProbes only "/healthz" and "/readyz"
  // reach it (others get 404), with Paths::kAny every path does (kube-proxy's
  // service health checks answer whatever a load balancer asks for).
  using Handler = std::function<HealthReply(const std::string& path)>;
  enum class Paths { kProbes, kAny };

  // Listens on `address`:`port` (port 0: any free port).
  static Result<std::unique_ptr<HealthServer>> Start(boost::asio::io_context& io,
                                                     const std::string& address, std::uint16_t port,
                                                     Handler handler, Paths paths = Paths::kProbes);
  // `listen` is the value of `flag` (--health-listen, --metrics-listen):
  // ADDRESS:PORT, or "off" for no server (nullptr). Errors name the flag
  // and its value.
  static Result<std::unique_ptr<HealthServer>> StartListening(
      boost::asio::io_context& io, const std::string& listen, Handler handler,
      const std::string& flag = "--health-listen", Paths paths = Paths::kProbes);
  // Listens on a Unix socket at `path` (mode 0600; a stale file there is
  // replaced, and the file is removed when the server goes): the agent's
  // control socket (meridianctl). port() is 0.
  static Result<std::unique_ptr<HealthServer>> StartUnix(boost::asio::io_context& io,
                                                         const std::string& path, Handler handler,
                                                         Paths paths = Paths::kAny);
  ~HealthServer();

  std::uint16_t port() const { return port_; }

  // The acceptor and handler, shared with the connections in flight.
  struct State;

 private:
  explicit HealthServer(std::shared_ptr<State> state, std::uint16_t port)
      : state_(std::move(state)), port_(port) {}

  std::shared_ptr<State> state_;
  std::uint16_t port_;
};

}  // namespace meridian::health
