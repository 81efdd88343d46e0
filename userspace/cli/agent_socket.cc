#include "cli/agent_socket.h"

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

namespace meridian::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

Result<std::string> AgentGet(const std::string& socket_path, const std::string& target,
                             std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::basic_stream<local> stream(io);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "localhost");
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  boost::system::error_code failed;
  const char* step = "connect";
  // One deadline for the whole exchange (basic_stream's timer).
  stream.expires_after(timeout);
  stream.async_connect(local::endpoint(socket_path), [&](boost::system::error_code ec) {
    if (ec) {
      failed = ec;
      return;
    }
    step = "send";
    http::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) {
      if (ec) {
        failed = ec;
        return;
      }
      step = "read";
      http::async_read(stream, buffer, res,
                       [&](boost::system::error_code ec, std::size_t) { failed = ec; });
    });
  });
  io.run();
  if (failed) {
    return Error{fmt::format("{}: {} failed: {}", socket_path, step,
                             failed == beast::error::timeout
                                 ? fmt::format("no answer within {} ms", timeout.count())
                                 : failed.message())};
  }
  if (res.result() != http::status::ok) {
    return Error{
        fmt::format("{}: GET {}: {} {}", socket_path, target, res.result_int(), res.body())};
  }
  return std::move(res.body());
}

Result<StatusDocument> ReadAgentStatus(const std::string& state_dir) {
  const std::string socket_path = state_dir + "/agent.sock";
  const std::string file = state_dir + "/status.json";
  std::error_code ec;
  if (std::filesystem::exists(socket_path, ec)) {
    auto live = AgentGet(socket_path, "/status");
    if (live.ok()) return StatusDocument{std::move(*live), socket_path};
    std::cerr << "meridianctl: the agent does not answer on " << live.error().message
              << "; showing " << file << " as it was last written\n";
  }
  std::ifstream in(file);
  if (!in) return Error{fmt::format("cannot read {} (is the agent running?)", file)};
  std::ostringstream text;
  text << in.rdbuf();
  return StatusDocument{text.str(), file};
}

}  // namespace meridian::cli
