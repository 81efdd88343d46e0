// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include "dns/dns_server.h"

#include <array>
#include <map>
#include <vector>

namespace meridian::dns {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

namespace {
class TcpConnection;
}  // namespace

struct DnsServer::Core : std::enable_shared_from_this<DnsServer::Core> {
  Core(asio::io_context& io, DnsServerOptions opts)
      : options(std::move(opts)), limiter(options.udp_rate_limit), udp_socket(io), acceptor(io) {}

  void ArmUdp();
  void ArmAccept();
  // May the UDP query just received from udp_peer be answered?
  bool Admit() {
    const auto addr = udp_peer.address();
    const std::string key =
        addr.is_v4()
            ? std::string(reinterpret_cast<const char*>(addr.to_v4().to_bytes().data()), 4)
            : std::string(reinterpret_cast<const char*>(addr.to_v6().to_bytes().data()), 16);
    return limiter.Allow(key, ClientRateLimiter::Clock::now());
  }
  void Stop();

  DnsServerOptions options;
  std::shared_ptr<const DnsCatalog> catalog = std::make_shared<const DnsCatalog>();
  DnsCounters counters;
  ClientRateLimiter limiter;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  // 64 KiB: the largest datagram, so an oversized query is read whole and
  // judged by the codec rather than cut by the kernel.
  std::array<std::uint8_t, 65536> udp_buffer{};
  udp::endpoint udp_peer;
  std::map<TcpConnection*, std::weak_ptr<TcpConnection>> connections;
  bool stopped = false;
};

namespace {

// One TCP client: 2-byte length, message, answer, repeat (RFC 1035 4.2.2,
// RFC 7766), until EOF, an error or the idle timeout.
class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(std::shared_ptr<DnsServer::Core> core, tcp::socket socket)
      : core_(std::move(core)), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  void Start() {
    ArmTimer();
    ReadLength();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.close(ec);
    timer_.cancel();
    --core_->counters.tcp_connections_active;
    core_->connections.erase(this);
  }

 private:
  void ArmTimer() {
    timer_.expires_after(core_->options.tcp_idle_timeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->closed_) return;  // re-armed or closed meanwhile
      ++self->core_->counters.tcp_idle_timeouts;
      self->Close();
    });
  }

  void ReadLength() {
    asio::async_read(socket_, asio::buffer(length_),
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       if (ec || self->closed_) return self->Close();
                       const std::size_t n =
                           (std::size_t{self->length_[0]} << 8) | self->length_[1];
                       self->ReadMessage(n);
                     });
  }

  void ReadMessage(std::size_t n) {
    message_.resize(n);
    asio::async_read(socket_, asio::buffer(message_),
                     [self = shared_from_this()](const error_code& ec, std::size_t) {
                       if (ec || self->closed_) return self->Close();
                       self->Answer();
                     });
  }

  void Answer() {
    auto response = HandleDnsQuery(*core_->catalog, message_, DnsTransport::kTcp,
                                   core_->options.handler, core_->counters);
    if (!response) {  // nothing to answer; keep the connection for the next
      ReadLength();
      return;
    }
    out_.clear();
    out_.push_back(static_cast<std::uint8_t>(response->size() >> 8));
    out_.push_back(static_cast<std::uint8_t>(response->size()));
    out_.insert(out_.end(), response->begin(), response->end());
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec || self->closed_) return self->Close();
                        self->ArmTimer();  // idle time counts from the last answer
                        self->ReadLength();
                      });
  }

  std::shared_ptr<DnsServer::Core> core_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<std::uint8_t, 2> length_{};
  std::vector<std::uint8_t> message_;
  std::vector<std::uint8_t> out_;
  bool closed_ = false;
};

}  // namespace

void DnsServer::Core::ArmUdp() {
  udp_socket.async_receive_from(
      asio::buffer(udp_buffer), udp_peer,
      [self = shared_from_this()](const error_code& ec, std::size_t n) {
        if (self->stopped || ec == asio::error::operation_aborted) return;
        // Other receive errors (an ICMP error queued from an earlier send)
        // concern one peer; keep serving the rest.
        if (!ec && !self->Admit()) {
          ++self->counters.udp_queries;
          ++self->counters.rate_limited;
        } else if (!ec) {
          auto response = HandleDnsQuery(*self->catalog, std::span(self->udp_buffer.data(), n),
                                         DnsTransport::kUdp, self->options.handler, self->counters);
          if (response) {
            // Non-blocking socket: a full send buffer drops this answer (the
            // client retries) instead of stalling the agent's only thread.
            error_code send_ec;
            self->udp_socket.send_to(asio::buffer(*response), self->udp_peer, 0, send_ec);
            if (send_ec) ++self->counters.udp_send_errors;
          }
        }
        self->ArmUdp();
      });
}

void DnsServer::Core::ArmAccept() {
  acceptor.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    if (self->stopped || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (self->connections.size() >= self->options.max_tcp_connections) {
        ++self->counters.tcp_connections_rejected;
        error_code close_ec;
        socket.close(close_ec);
      } else {
        ++self->counters.tcp_connections;
        ++self->counters.tcp_connections_active;
        auto conn = std::make_shared<TcpConnection>(self, std::move(socket));
        self->connections.emplace(conn.get(), conn);
        conn->Start();
      }
    }
    self->ArmAccept();
  });
}

void DnsServer::Core::Stop() {
  if (stopped) return;
  stopped = true;
  error_code ec;
  udp_socket.close(ec);
  acceptor.close(ec);
  // Close() erases from the map, so walk a copy.
  auto conns = connections;
  for (auto& [ptr, weak] : conns) {
    if (auto conn = weak.lock()) conn->Close();
  }
}

namespace {

Status BindUdp(udp::socket& s, const asio::ip::address& addr, std::uint16_t port) {
  error_code ec;
  udp::endpoint ep(addr, port);
  s.open(ep.protocol(), ec);
  if (!ec) s.bind(ep, ec);
  if (!ec) s.non_blocking(true, ec);
  if (ec) {
    error_code ignored;
    s.close(ignored);
    return Error{"dns: bind udp " + addr.to_string() + ":" + std::to_string(port) + ": " +
                 ec.message()};
  }
  return Status::Ok();
}

Status BindTcp(tcp::acceptor& a, const asio::ip::address& addr, std::uint16_t port) {
  error_code ec;
  tcp::endpoint ep(addr, port);
  a.open(ep.protocol(), ec);
  // SO_REUSEADDR: an agent restart must not wait out TIME_WAIT to rebind.
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    a.close(ignored);
    return Error{"dns: listen tcp " + addr.to_string() + ":" + std::to_string(port) + ": " +
                 ec.message()};
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<DnsServer>> DnsServer::Start(asio::io_context& io,
                                                    DnsServerOptions options) {
  error_code ec;
  const asio::ip::address addr = asio::ip::make_address(options.listen_address, ec);
  if (ec) return Error{"dns: bad listen address '" + options.listen_address + "'"};
  auto core = std::make_shared<Core>(io, options);

  if (options.port != 0) {
    if (Status s = BindUdp(core->udp_socket, addr, options.port); !s) return s.error();
    if (Status s = BindTcp(core->acceptor, addr, options.port); !s) return s.error();
  } else {
    // Ask for an ephemeral UDP port, then try the same number for TCP; a
    // few attempts make a collision with another TCP listener unlikely.
    Status last = Status::Ok();
    for (int attempt = 0; attempt < 8; ++attempt) {
      if (Status s = BindUdp(core->udp_socket, addr, 0); !s) return s.error();
      const std::uint16_t port = core->udp_socket.local_endpoint(ec).port();
      last = BindTcp(core->acceptor, addr, port);
      if (last) break;
      error_code ignored;
      core->udp_socket.close(ignored);
    }
    if (!last) {
      // Fall back to unrelated ephemeral ports; both are exposed anyway.
      if (Status s = BindUdp(core->udp_socket, addr, 0); !s) return s.error();
      if (Status s = BindTcp(core->acceptor, addr, 0); !s) return s.error();
    }
  }
  core->ArmUdp();
  core->ArmAccept();
  return std::unique_ptr<DnsServer>(new DnsServer(std::move(core)));
}

DnsServer::~DnsServer() { Stop(); }

void DnsServer::Stop() { core_->Stop(); }

void DnsServer::SetCatalog(DnsCatalog catalog) {
  core_->catalog = std::make_shared<const DnsCatalog>(std::move(catalog));
}

std::uint16_t DnsServer::udp_port() const {
  error_code ec;
  return core_->udp_socket.local_endpoint(ec).port();
}

std::uint16_t DnsServer::tcp_port() const {
  error_code ec;
  return core_->acceptor.local_endpoint(ec).port();
}

const DnsCounters& DnsServer::counters() const { return core_->counters; }

}  // namespace meridian::dns
