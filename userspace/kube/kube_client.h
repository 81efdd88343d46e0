// KubeClient: HTTPS requests to the API server with Boost.Beast and
// OpenSSL, as Asio coroutines on the caller's io_context. The server's
// certificate is verified against the configured CA and its name (or IP
// address); the bearer token is re-read from its file when the file
// changes, as client-go does for rotating service-account tokens.
//
// One TLS connection per request: a watch holds its own for its whole
// life, and lists are rare (start, relist after 410).
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
// clang-format on
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "kube/kube_config.h"

namespace meridian::kube {

struct HttpResponse {
  unsigned status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, if any
  // Stream only: why a 200 stream ended before the server ended it (the
  // connection broke or went idle); empty when the server ended it.
  std::string broken;
};

// "403 services is forbidden: ..." from a Status body's message, else the
// status and the start of the raw body: why the server refused.
std::string StatusText(const HttpResponse& r);

class KubeClient {
 public:
  // Fails when the CA bundle or the client certificate is unusable.
  static Result<std::shared_ptr<KubeClient>> Create(KubeConfig config);

  // GET `target` ("/api/v1/services?limit=500"); the whole body is read
  // (at most kMaxBody). `timeout` covers connect, request and response.
  boost::asio::awaitable<Result<HttpResponse>> Get(std::string target,
                                                   std::chrono::milliseconds timeout);

  // A request with a body (PATCH/PUT/POST), for writing objects back.
  boost::asio::awaitable<Result<HttpResponse>> Send(std::string method, std::string target,
                                                    std::string content_type, std::string body,
                                                    std::chrono::milliseconds timeout);

  // GET `target` and hand every line of a 200 response's body to
  // `on_line` as it arrives (a watch: one JSON event a line), until the
  // server ends the body, nothing arrives for `idle_timeout`, or on_line
  // returns false; `connect_timeout` bounds the connection and the TLS
  // handshake. Returns the HTTP status; a non-200 response's body is
  // returned whole in `HttpResponse::body`, a 200's is empty.
  boost::asio::awaitable<Result<HttpResponse>> Stream(
      std::string target, std::function<bool(std::string_view line)> on_line,
      std::chrono::milliseconds idle_timeout, std::chrono::milliseconds connect_timeout);

  const KubeConfig& config() const { return config_; }

  static constexpr std::size_t kMaxBody = 64u << 20;
  static constexpr std::size_t kMaxLine = 16u << 20;

 private:
  explicit KubeClient(KubeConfig config);
  // "Bearer <token>", re-reading the token file when its mtime changed;
  // empty without a token.
  std::string Authorization();

  KubeConfig config_;
  boost::asio::ssl::context ssl_{boost::asio::ssl::context::tls_client};
  std::string file_token_;
  std::int64_t token_mtime_ns_ = -1;
};

}  // namespace meridian::kube
