#include "registry/etcd_connection.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace meridian::registry {
namespace {

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("etcd {} file '{}': cannot read it", what, path)};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool IsIpv4Endpoint(const std::string& endpoint) {
  std::size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) return false;
  in_addr addr{};
  return inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr) == 1;
}

// gRPC's "ipv4:" scheme takes an address list: with the default pick_first
// policy the channel connects to the first reachable one and moves on when it
// fails, which is the failover we want from several etcd members. A host name
// goes through the DNS resolver instead, which takes one name.
Result<std::string> ChannelTarget(const std::vector<std::string>& endpoints) {
  bool all_ipv4 = true;
  for (const std::string& e : endpoints) all_ipv4 = all_ipv4 && IsIpv4Endpoint(e);
  if (all_ipv4) {
    std::string target = "ipv4:";
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      target += (i ? "," : "") + endpoints[i];
    }
    return target;
  }
  if (endpoints.size() == 1) return "dns:///" + endpoints[0];
  return Error{
      "several etcd endpoints must all be IPv4 address:port (a host name must be the only "
      "endpoint)"};
}

}  // namespace

Result<std::shared_ptr<EtcdConnection>> EtcdConnection::Connect(
    const EtcdRegistry::Options& options) {
  if (options.endpoints.empty()) return Error{"etcd registry: no endpoints"};
  std::shared_ptr<EtcdConnection> conn(new EtcdConnection(options));
  for (std::size_t i = 0; i < options.endpoints.size(); ++i) {
    conn->endpoint_name_ += (i ? "," : "") + options.endpoints[i];
  }
  auto target = ChannelTarget(options.endpoints);
  if (!target)
    return Error{fmt::format("etcd {}: {}", conn->endpoint_name_, target.error().message)};

  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!options.ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    auto ca = ReadFile(options.ca_file, "CA");
    if (!ca) return ca.error();
    ssl.pem_root_certs = *ca;
    if (options.cert_file.empty() != options.key_file.empty()) {
      return Error{fmt::format("etcd {}: a client certificate needs both cert= and key=",
                               conn->endpoint_name_)};
    }
    if (!options.cert_file.empty()) {
      auto cert = ReadFile(options.cert_file, "client certificate");
      if (!cert) return cert.error();
      auto key = ReadFile(options.key_file, "client key");
      if (!key) return key.error();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }

  grpc::ChannelArguments args;
  // gRPC's default reconnect backoff grows to 2 minutes; a registry that comes
  // back should be used within about a second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Despite its name, gRPC uses this as the connect timeout (the least time
  // an attempt may take), not as a bound of the backoff: it may exceed the
  // maximum backoff above. An etcd that is starting accepts TCP before it
  // serves gRPC and may leave a connection hanging in the handshake; gRPC's
  // default (20 s) would keep us on that connection long after etcd is up.
  // The attempt only progresses while the channel is polled: DriveChannel.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(options.call_timeout.count()));
  // Pings find a half-open connection (a member that vanished without a FIN)
  // under a long-lived watch.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  conn->channel_ = grpc::CreateCustomChannel(*target, creds, args);
  conn->kv_ = etcdserverpb::KV::NewStub(conn->channel_);
  conn->watch_ = etcdserverpb::Watch::NewStub(conn->channel_);
  conn->lease_ = etcdserverpb::Lease::NewStub(conn->channel_);
  conn->auth_ = etcdserverpb::Auth::NewStub(conn->channel_);
  conn->driver_ = std::thread([c = conn.get()] { c->DriveChannel(); });

  if (Status s = conn->Authenticate(); !s) return s.error();
  // Probe, so that a wrong address or a dead registry is reported at Open.
  etcdserverpb::RangeRequest probe;
  probe.set_key(kKeyPrefix);
  probe.set_count_only(true);
  etcdserverpb::RangeResponse resp;
  Status s = conn->Call(
      "connect", [&](grpc::ClientContext& ctx) { return conn->kv().Range(&ctx, probe, &resp); });
  if (!s) return s.error();
  return conn;
}

EtcdConnection::~EtcdConnection() {
  stopping_ = true;
  if (driver_.joinable()) driver_.join();
}

void EtcdConnection::DriveChannel() {
  // Each wait polls the channel until its state changes or the slice ends
  // (the slice bounds how long the destructor waits). GetState(true) starts
  // a connection attempt from IDLE.
  constexpr std::chrono::milliseconds kSlice{200};
  while (!stopping_) {
    grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
    channel_->WaitForStateChange(state, std::chrono::system_clock::now() + kSlice);
  }
}

void EtcdConnection::Prepare(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  std::lock_guard<std::mutex> lock(token_mu_);
  if (!token_.empty()) ctx.AddMetadata("token", token_);
}

Status EtcdConnection::Authenticate() {
  if (options_.username.empty() && options_.password.empty()) return Status::Ok();
  etcdserverpb::AuthenticateRequest req;
  req.set_name(options_.username);
  req.set_password(options_.password);
  etcdserverpb::AuthenticateResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
  grpc::Status s = auth_->Authenticate(&ctx, req, &resp);
  if (!s.ok()) return MakeError(fmt::format("authenticate as '{}'", options_.username), s);
  std::lock_guard<std::mutex> lock(token_mu_);
  token_ = resp.token();
  return Status::Ok();
}

bool EtcdConnection::IsTokenError(const grpc::Status& status) {
  // etcd answers an expired or unknown simple token with Unauthenticated
  // "etcdserver: invalid auth token".
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
         status.error_message().find("token") != std::string::npos;
}

Error EtcdConnection::MakeError(const std::string& what, const grpc::Status& status) const {
  static constexpr const char* kCodes[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  int code = static_cast<int>(status.error_code());
  const char* name = code >= 0 && code <= 16 ? kCodes[code] : "?";
  return Error{
      fmt::format("etcd {}: {}: {} ({})", endpoint_name_, what, status.error_message(), name)};
}

}  // namespace meridian::registry
