#include "kube/kube_client.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace meridian::kube {

std::string StatusText(const HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    return fmt::format("{} {}", r.status, j["message"].get<std::string>());
  }
  std::string body = r.body.substr(0, 200);
  return body.empty() ? std::to_string(r.status) : fmt::format("{} {}", r.status, body);
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

std::string Describe(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

bool IsIpAddress(const std::string& host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

}  // namespace

Result<std::shared_ptr<KubeClient>> KubeClient::Create(KubeConfig config) {
  std::shared_ptr<KubeClient> c(new KubeClient(std::move(config)));
  const KubeConfig& k = c->config_;
  boost::system::error_code ec;
  if (!k.ca_pem.empty()) {
    c->ssl_.add_certificate_authority(asio::buffer(k.ca_pem), ec);
    if (ec) return Error{fmt::format("{}: the CA bundle is unusable: {}", k.origin, ec.message())};
  } else if (!k.insecure) {
    c->ssl_.set_default_verify_paths(ec);
    if (ec) return Error{fmt::format("{}: no CA and no system trust store", k.origin)};
  }
  c->ssl_.set_verify_mode(k.insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
  if (!k.client_cert_pem.empty()) {
    c->ssl_.use_certificate_chain(asio::buffer(k.client_cert_pem), ec);
    if (!ec) c->ssl_.use_private_key(asio::buffer(k.client_key_pem), asio::ssl::context::pem, ec);
    if (ec) {
      return Error{
          fmt::format("{}: the client certificate is unusable: {}", k.origin, ec.message())};
    }
  }
  return c;
}

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {}

std::string KubeClient::Authorization() {
  if (!config_.token_file.empty()) {
    struct stat st {};
    if (stat(config_.token_file.c_str(), &st) == 0) {
      const std::int64_t mtime = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
      if (mtime != token_mtime_ns_) {
        std::ifstream in(config_.token_file);
        std::ostringstream s;
        s << in.rdbuf();
        std::string t = s.str();
        while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
          t.pop_back();
        if (in) {
          file_token_ = std::move(t);
          token_mtime_ns_ = mtime;
        }
      }
    }
    if (!file_token_.empty()) return "Bearer " + file_token_;
  }
  return config_.token.empty() ? "" : "Bearer " + config_.token;
}

namespace {

// Resolves, connects and completes the TLS handshake with the server's
// name (or address) checked against its certificate.
asio::awaitable<Result<std::unique_ptr<TlsStream>>> Connect(const KubeConfig& k,
                                                            asio::ssl::context& ssl,
                                                            std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(k.host, k.port,
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{fmt::format("resolve {}: {}", k.host, Describe(ec))};
  auto stream = std::make_unique<TlsStream>(ex, ssl);
  SSL* native = stream->native_handle();
  if (!k.insecure) {
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    const int ok = IsIpAddress(k.host) ? X509_VERIFY_PARAM_set1_ip_asc(param, k.host.c_str())
                                       : X509_VERIFY_PARAM_set1_host(param, k.host.c_str(), 0);
    if (ok != 1) co_return Error{fmt::format("cannot verify server name {}", k.host)};
  }
  if (!IsIpAddress(k.host)) SSL_set_tlsext_host_name(native, k.host.c_str());
  beast::get_lowest_layer(*stream).expires_after(timeout);
  co_await beast::get_lowest_layer(*stream).async_connect(
      endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{fmt::format("connect {}:{}: {}", k.host, k.port, Describe(ec))};
  co_await stream->async_handshake(asio::ssl::stream_base::client,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec)
    co_return Error{fmt::format("TLS handshake with {}:{}: {}", k.host, k.port, Describe(ec))};
  co_return std::move(stream);
}

http::request<http::string_body> MakeRequest(http::verb verb, const KubeConfig& k,
                                             const std::string& target, const std::string& auth) {
  http::request<http::string_body> req{verb, k.base_path + target, 11};
  req.set(http::field::host, k.port == "443" ? k.host : k.host + ":" + k.port);
  req.set(http::field::user_agent, "meridian/0.2");
  req.set(http::field::accept, "application/json");
  if (!auth.empty()) req.set(http::field::authorization, auth);
  return req;
}

}  // namespace

asio::awaitable<Result<HttpResponse>> KubeClient::Get(std::string target,
                                                      std::chrono::milliseconds timeout) {
  co_return co_await Send("GET", std::move(target), "", "", timeout);
}

asio::awaitable<Result<HttpResponse>> KubeClient::Send(std::string method, std::string target,
                                                       std::string content_type, std::string body,
                                                       std::chrono::milliseconds timeout) {
  auto conn = co_await Connect(config_, ssl_, timeout);
  if (!conn) co_return conn.error();
  TlsStream& stream = **conn;
  boost::system::error_code ec;
  auto req = MakeRequest(http::string_to_verb(method), config_, target, Authorization());
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  req.prepare_payload();
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{fmt::format("{} {}: {}", method, target, Describe(ec))};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec)
    co_return Error{fmt::format("{} {}: reading the response: {}", method, target, Describe(ec))};
  auto& res = parser.get();
  HttpResponse out{.status = res.result_int(), .body = std::move(res.body())};
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    out.retry_after = std::string(it->value());
  }
  // The connection is not reused; a TLS close_notify is a courtesy.
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  co_return out;
}

asio::awaitable<Result<HttpResponse>> KubeClient::Stream(
    std::string target, std::function<bool(std::string_view line)> on_line,
    std::chrono::milliseconds idle_timeout, std::chrono::milliseconds connect_timeout) {
  auto conn = co_await Connect(config_, ssl_, connect_timeout);
  if (!conn) co_return conn.error();
  TlsStream& stream = **conn;
  boost::system::error_code ec;
  auto req = MakeRequest(http::verb::get, config_, target, Authorization());
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{fmt::format("GET {}: {}", target, Describe(ec))};
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  // No limit on a stream (kMaxLine bounds what is kept). Not boost::none:
  // Beast 1.74 compares a Content-Length against it and always fails.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{fmt::format("GET {}: reading the response: {}", target, Describe(ec))};
  HttpResponse out{.status = parser.get().result_int()};
  if (auto it = parser.get().find(http::field::retry_after); it != parser.get().end()) {
    out.retry_after = std::string(it->value());
  }
  const bool streaming = out.status == 200;
  std::string pending;
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    beast::get_lowest_layer(stream).expires_after(idle_timeout);
    co_await http::async_read_some(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::need_buffer) ec = {};
    if (ec && streaming) {
      out.broken = Describe(ec);
      co_return out;
    }
    if (ec) co_return Error{fmt::format("GET {}: reading the response: {}", target, Describe(ec))};
    const std::size_t n = sizeof chunk - parser.get().body().size;
    if (!streaming) {
      if (out.body.size() + n > kMaxBody)
        co_return Error{fmt::format("GET {}: body too large", target)};
      out.body.append(chunk, n);
      continue;
    }
    pending.append(chunk, n);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending.data() + start, nl - start);
      if (!line.empty() && !on_line(line)) co_return out;
    }
    pending.erase(0, start);
    if (pending.size() > kMaxLine) {
      co_return Error{fmt::format("GET {}: a watch event exceeds {} bytes", target, kMaxLine)};
    }
  }
  if (streaming && !pending.empty()) on_line(pending);
  co_return out;
}

}  // namespace meridian::kube
