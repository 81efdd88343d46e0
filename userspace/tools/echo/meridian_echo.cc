// meridian-echo: the workload that runs in every lab "pod" (lab/meridian-lab).
//
// Serves TCP and UDP on one port from a single-threaded Boost.Asio loop:
//   TCP, HTTP:  a connection whose first bytes are "GET ", "HEAD " or "POST "
//               gets one "200 OK" response whose body is "NAME\n", then the
//               server closes (so `curl http://ip:port/` prints the pod name).
//   TCP, lines: anything else is line mode: every line "X\n" is answered with
//               "NAME X\n" and the connection stays open until the peer
//               closes (long-lived connection tests).
//   UDP:        every datagram is answered with one datagram
//               "NAME <payload without trailing newline>\n" ("NAME\n" if the
//               payload is empty).
// SIGTERM/SIGINT stop the loop and exit 0. Peer resets and other per-socket
// errors only close that socket.

#include <CLI/CLI.hpp>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

// Upper bound for a request head or a single line; larger input closes the
// connection instead of growing the buffer without limit.
constexpr std::size_t kMaxBuffered = 64 * 1024;
constexpr auto kHttpHeadTimeout = std::chrono::seconds(10);
constexpr auto kHttpDrainTimeout = std::chrono::seconds(2);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

struct Config {
  std::string name;
  std::string bind = "0.0.0.0";
  std::uint16_t port = 8080;
  bool verbose = false;
};

template <typename Endpoint>
std::string endpoint_string(const Endpoint& ep) {
  const auto addr = ep.address();
  if (addr.is_v6()) {
    return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
  }
  return addr.to_string() + ":" + std::to_string(ep.port());
}

void log_line(const std::string& line) {
  std::cout << line << '\n';
  std::cout.flush();
}

// One accepted TCP connection. Reads and writes strictly alternate, so at most
// one operation of each kind is outstanding.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(tcp::socket socket, const Config& config)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), config_(config) {}

  void start() {
    error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    if (ec) {
      close();
      return;
    }
    peer_ = endpoint_string(remote);
    if (config_.verbose) {
      log_line("tcp connection from " + peer_);
    }
    read();
  }

 private:
  enum class Mode { kDetect, kHttpHead, kHttpDrain, kLine, kClosing };

  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(chunk_), [this, self](error_code ec, std::size_t n) {
      if (ec) {
        on_eof_or_error(ec);
        return;
      }
      on_data(std::string_view(chunk_.data(), n));
    });
  }

  void on_data(std::string_view data) {
    if (mode_ == Mode::kHttpDrain) {
      read();  // discard whatever follows the request (e.g. a POST body)
      return;
    }
    if (mode_ == Mode::kClosing) {
      return;
    }
    buffer_.append(data);
    if (mode_ == Mode::kDetect) {
      detect_mode();
    }
    switch (mode_) {
      case Mode::kDetect:
        read();  // still a prefix of an HTTP method: need more bytes
        return;
      case Mode::kHttpHead:
        handle_http_head();
        return;
      case Mode::kLine:
        handle_lines(/*at_eof=*/false);
        return;
      default:
        return;
    }
  }

  void detect_mode() {
    static constexpr std::array<std::string_view, 3> kMethods = {"GET ", "HEAD ", "POST "};
    bool maybe_http = false;
    for (const auto method : kMethods) {
      if (buffer_.size() >= method.size()) {
        if (std::string_view(buffer_).substr(0, method.size()) == method) {
          mode_ = Mode::kHttpHead;
          head_request_ = method == "HEAD ";
          arm_timer(kHttpHeadTimeout);
          return;
        }
      } else if (method.substr(0, buffer_.size()) == buffer_) {
        maybe_http = true;
      }
    }
    if (!maybe_http) {
      mode_ = Mode::kLine;
    }
  }

  void handle_http_head() {
    const bool complete =
        buffer_.find("\r\n\r\n") != std::string::npos || buffer_.find("\n\n") != std::string::npos;
    if (!complete) {
      if (buffer_.size() > kMaxBuffered) {
        close();
        return;
      }
      read();
      return;
    }
    const std::string body = config_.name + "\n";
    std::string response;
    response.reserve(256 + body.size());
    response += "HTTP/1.1 200 OK\r\n";
    response += "Content-Type: text/plain\r\n";
    response += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    response += "Connection: close\r\n";
    response += "X-Echo-Pod: " + config_.name + "\r\n";
    response += "X-Echo-Peer: " + peer_ + "\r\n";
    response += "\r\n";
    if (!head_request_) {
      response += body;
    }
    buffer_.clear();
    out_ = std::move(response);
    mode_ = Mode::kHttpDrain;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_), [this, self](error_code ec, std::size_t) {
      if (ec) {
        close();
        return;
      }
      // Half-close and read until the peer closes: closing with unread data
      // would send a RST that can destroy the response in flight.
      error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      arm_timer(kHttpDrainTimeout);
      read();
    });
  }

  void handle_lines(bool at_eof) {
    std::string reply;
    std::size_t start = 0;
    for (;;) {
      const auto nl = buffer_.find('\n', start);
      if (nl == std::string::npos) {
        break;
      }
      append_reply(reply, std::string_view(buffer_).substr(start, nl - start));
      start = nl + 1;
    }
    buffer_.erase(0, start);
    if (at_eof && !buffer_.empty()) {
      append_reply(reply, buffer_);  // last line without a newline
      buffer_.clear();
    }
    if (!at_eof && buffer_.size() > kMaxBuffered) {
      close();
      return;
    }
    if (reply.empty()) {
      if (at_eof) {
        close();
      } else {
        read();
      }
      return;
    }
    out_ = std::move(reply);
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_),
                      [this, self, at_eof](error_code ec, std::size_t) {
                        if (ec || at_eof) {
                          close();
                          return;
                        }
                        read();
                      });
  }

  void append_reply(std::string& reply, std::string_view line) const {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    reply += config_.name;
    if (!line.empty()) {
      reply += ' ';
      reply += line;
    }
    reply += '\n';
  }

  void on_eof_or_error(error_code ec) {
    if (ec == asio::error::eof && (mode_ == Mode::kDetect || mode_ == Mode::kLine)) {
      // Peer finished sending: answer a trailing partial line, then close.
      mode_ = Mode::kLine;
      handle_lines(/*at_eof=*/true);
      return;
    }
    close();  // reset, timeout (operation_aborted), EOF after HTTP, ...
  }

  void arm_timer(asio::steady_timer::duration timeout) {
    timer_.expires_after(timeout);
    auto self = shared_from_this();
    timer_.async_wait([this, self](error_code ec) {
      if (!ec) {
        close();
      }
    });
  }

  void close() {
    if (mode_ == Mode::kClosing) {
      return;
    }
    mode_ = Mode::kClosing;
    error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  const Config& config_;
  std::string peer_;
  std::array<char, 4096> chunk_{};
  std::string buffer_;
  std::string out_;
  Mode mode_ = Mode::kDetect;
  bool head_request_ = false;
};

class TcpServer {
 public:
  TcpServer(asio::io_context& io, const tcp::endpoint& endpoint, const Config& config)
      : acceptor_(io), retry_timer_(io), config_(config) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  void start() { accept(); }

 private:
  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) {
        return;
      }
      if (ec) {
        // EMFILE/ENFILE/ENOBUFS would fail again immediately: back off.
        if (config_.verbose) {
          log_line("accept failed: " + ec.message());
        }
        retry_timer_.expires_after(kAcceptRetryDelay);
        retry_timer_.async_wait([this](error_code tec) {
          if (!tec) {
            accept();
          }
        });
        return;
      }
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<TcpSession>(std::move(socket), config_)->start();
      accept();
    });
  }

  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  const Config& config_;
};

class UdpServer {
 public:
  UdpServer(asio::io_context& io, const udp::endpoint& endpoint, const Config& config)
      : socket_(io), config_(config) {
    socket_.open(endpoint.protocol());
    socket_.set_option(asio::socket_base::reuse_address(true));
    socket_.bind(endpoint);
  }

  void start() { receive(); }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(datagram_), sender_,
                               [this](error_code ec, std::size_t n) {
                                 if (ec == asio::error::operation_aborted) {
                                   return;
                                 }
                                 if (!ec) {
                                   reply(std::string_view(datagram_.data(), n));
                                 }
                                 receive();  // ICMP-induced errors etc. only affect one datagram
                               });
  }

  void reply(std::string_view payload) {
    if (!payload.empty() && payload.back() == '\n') {
      payload.remove_suffix(1);
      if (!payload.empty() && payload.back() == '\r') {
        payload.remove_suffix(1);
      }
    }
    auto out = std::make_shared<std::string>(config_.name);
    if (!payload.empty()) {
      *out += ' ';
      *out += payload;
    }
    *out += '\n';
    auto to = std::make_shared<udp::endpoint>(sender_);
    if (config_.verbose) {
      log_line("udp datagram from " + endpoint_string(*to));
    }
    socket_.async_send_to(asio::buffer(*out), *to, [out, to](error_code, std::size_t) {});
  }

  udp::socket socket_;
  udp::endpoint sender_;
  std::array<char, 65536> datagram_{};
  const Config& config_;
};

}  // namespace

int main(int argc, char** argv) {
  Config config;
  CLI::App app{
      "meridian-echo: lab pod workload. Serves TCP and UDP on one port.\n"
      "  TCP starting with 'GET ', 'HEAD ' or 'POST ': HTTP/1.1 200, body 'NAME\\n', then close.\n"
      "  Other TCP: line mode, each line 'X\\n' is answered 'NAME X\\n'; stays open until the peer "
      "closes.\n"
      "  UDP: each datagram is answered 'NAME <payload without trailing newline>\\n'.\n"
      "SIGTERM/SIGINT exit 0.",
      "meridian-echo"};
  app.add_option("--name", config.name, "Pod name returned in every answer (e.g. c1n2p1)")
      ->required();
  app.add_option("--port", config.port, "TCP and UDP port to listen on")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_option("--bind", config.bind, "Local address to bind (IPv4 or IPv6)")
      ->capture_default_str();
  app.add_flag("-v,--verbose", config.verbose,
               "Log every TCP connection and UDP datagram to stdout");
  CLI11_PARSE(app, argc, argv);

  if (config.name.empty() || config.name.find_first_of("\r\n") != std::string::npos) {
    std::cerr << "meridian-echo: --name must be non-empty and must not contain newlines\n";
    return 2;
  }

  error_code ec;
  const auto address = asio::ip::make_address(config.bind, ec);
  if (ec) {
    std::cerr << "meridian-echo: invalid --bind address '" << config.bind << "': " << ec.message()
              << "\n";
    return 2;
  }

  std::signal(SIGPIPE, SIG_IGN);

  asio::io_context io(1);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int exit_signal = 0;
  signals.async_wait([&](error_code wait_ec, int signo) {
    if (!wait_ec) {
      exit_signal = signo;
      io.stop();
    }
  });

  std::unique_ptr<TcpServer> tcp_server;
  std::unique_ptr<UdpServer> udp_server;
  try {
    tcp_server = std::make_unique<TcpServer>(io, tcp::endpoint(address, config.port), config);
    udp_server = std::make_unique<UdpServer>(io, udp::endpoint(address, config.port), config);
  } catch (const boost::system::system_error& e) {
    std::cerr << "meridian-echo: cannot listen on " << config.bind << ":" << config.port << ": "
              << e.code().message() << "\n";
    return 1;
  }
  tcp_server->start();
  udp_server->start();

  log_line("meridian-echo " + config.name + " listening on tcp+udp " +
           endpoint_string(tcp::endpoint(address, config.port)));

  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      // Handlers do not throw by design; keep serving if one ever does.
      std::cerr << "meridian-echo: unexpected error: " << e.what() << "\n";
    }
  }
  if (exit_signal != 0) {
    log_line("meridian-echo " + config.name + " exiting on signal " + std::to_string(exit_signal));
  }
  return 0;
}
