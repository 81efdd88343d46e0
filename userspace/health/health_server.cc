#include "health/health_server.h"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <system_error>

#include "common/listen_address.h"

namespace meridian::health {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

struct HealthServer::State {
  Handler handler;  // reset when the server is destroyed
  Paths paths = Paths::kProbes;
  std::function<void()> close;  // closes the acceptor
};

namespace {

// One connection, TCP or Unix: the same HTTP/1.1 exchange.
template <class Protocol>
asio::awaitable<void> Serve(std::shared_ptr<HealthServer::State> state,
                            typename Protocol::socket socket) {
  beast::basic_stream<Protocol> stream(std::move(socket));
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  for (;;) {
    // A probe that stalls must not hold a connection for ever.
    stream.expires_after(std::chrono::seconds(10));
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string path(req.target());
    path = path.substr(0, path.find('?'));
    HealthReply reply;
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      reply = {405, "text/plain; charset=utf-8", "only GET\n"};
    } else if (!state->handler || (state->paths == HealthServer::Paths::kProbes &&
                                   path != "/healthz" && path != "/readyz")) {
      reply = {404, "text/plain; charset=utf-8", "not found: /healthz and /readyz are served\n"};
    } else {
      reply = state->handler(path);
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::cache_control, "no-cache");
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.keep_alive(req.keep_alive());
    res.body() = req.method() == http::verb::head ? "" : std::move(reply.body);
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(Protocol::socket::shutdown_send, ec);
}

template <class Protocol>
asio::awaitable<void> Accept(std::shared_ptr<HealthServer::State> state,
                             std::shared_ptr<typename Protocol::acceptor> acceptor) {
  for (;;) {
    boost::system::error_code ec;
    typename Protocol::socket socket =
        co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) continue;  // e.g. EMFILE: the next accept may succeed
    asio::co_spawn(acceptor->get_executor(), Serve<Protocol>(state, std::move(socket)),
                   asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<HealthServer>> HealthServer::Start(asio::io_context& io,
                                                          const std::string& address,
                                                          std::uint16_t port, Handler handler,
                                                          Paths paths) {
  auto state = std::make_shared<State>();
  state->handler = std::move(handler);
  state->paths = paths;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) return Error{fmt::format("{}: not an IP address", address)};
  tcp::endpoint endpoint(ip, port);
  auto acceptor = std::make_shared<tcp::acceptor>(io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{fmt::format("{}:{}: {}", address, port, ec.message())};
  const std::uint16_t bound = acceptor->local_endpoint().port();
  state->close = [acceptor] {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  };
  asio::co_spawn(io, Accept<tcp>(state, acceptor), asio::detached);
  return std::unique_ptr<HealthServer>(new HealthServer(state, bound));
}

Result<std::unique_ptr<HealthServer>> HealthServer::StartUnix(asio::io_context& io,
                                                              const std::string& path,
                                                              Handler handler, Paths paths) {
  auto state = std::make_shared<State>();
  state->handler = std::move(handler);
  state->paths = paths;
  // A socket file left by a process that died would fail the bind; the
  // caller owns the path (the agent's state directory holds its lock).
  std::error_code fs_ec;
  std::filesystem::remove(path, fs_ec);
  boost::system::error_code ec;
  auto acceptor = std::make_shared<local::acceptor>(io);
  const local::endpoint endpoint(path);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (ec) return Error{fmt::format("{}: {}", path, ec.message())};
  // Only the node's administrator (root) talks to the agent.
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, fs_ec);
  if (!fs_ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (fs_ec || ec) {
    std::filesystem::remove(path, fs_ec);
    return Error{fmt::format("{}: {}", path, ec ? ec.message() : fs_ec.message())};
  }
  state->close = [acceptor, path] {
    boost::system::error_code ignored;
    acceptor->close(ignored);
    std::error_code fs_ignored;
    std::filesystem::remove(path, fs_ignored);
  };
  asio::co_spawn(io, Accept<local>(state, acceptor), asio::detached);
  return std::unique_ptr<HealthServer>(new HealthServer(state, 0));
}

Result<std::unique_ptr<HealthServer>> HealthServer::StartListening(asio::io_context& io,
                                                                   const std::string& listen,
                                                                   Handler handler,
                                                                   const std::string& flag,
                                                                   Paths paths) {
  if (listen == "off") return std::unique_ptr<HealthServer>();
  auto parsed = ParseListenAddress(flag, listen);
  if (!parsed) return parsed.error();
  auto server = Start(io, parsed->address, parsed->port, std::move(handler), paths);
  if (!server.ok()) return Error{fmt::format("{} {}: {}", flag, listen, server.error().message)};
  return server;
}

HealthServer::~HealthServer() {
  // Connections in flight keep the state; they answer 404 from now on.
  state_->handler = nullptr;
  if (state_->close) state_->close();
}

}  // namespace meridian::health
