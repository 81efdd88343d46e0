// EtcdConnection: one gRPC channel to an etcd cluster with its stubs, the
// auth token, and the per-call plumbing (deadline, token metadata, one retry
// after re-authenticating, gRPC status -> Error naming the endpoint). Shared
// by EtcdRegistry and its watch streams. Internal to registry/.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "etcd/rpc.grpc.pb.h"
#include "registry/etcd_registry.h"

namespace meridian::registry {

class EtcdConnection {
 public:
  static Result<std::shared_ptr<EtcdConnection>> Connect(const EtcdRegistry::Options& options);
  ~EtcdConnection();
  EtcdConnection(const EtcdConnection&) = delete;
  EtcdConnection& operator=(const EtcdConnection&) = delete;

  etcdserverpb::KV::Stub& kv() { return *kv_; }
  etcdserverpb::Watch::Stub& watch() { return *watch_; }
  etcdserverpb::Lease::Stub& lease() { return *lease_; }
  const std::string& endpoint_name() const { return endpoint_name_; }
  std::chrono::milliseconds call_timeout() const { return options_.call_timeout; }

  // Adds the auth token (if any) and, for a non-zero timeout, a deadline.
  void Prepare(grpc::ClientContext& ctx, std::chrono::milliseconds timeout);

  // Runs one unary call `rpc(ctx)` with the call deadline; if etcd says the
  // token is invalid or expired, authenticates again and retries once.
  // `what` (e.g. "Put /meridian/v1/x") goes into the error.
  template <class Rpc>
  Status Call(const std::string& what, Rpc&& rpc) {
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext ctx;
      Prepare(ctx, options_.call_timeout);
      grpc::Status s = rpc(ctx);
      if (s.ok()) return Status::Ok();
      if (attempt == 0 && IsTokenError(s) && Authenticate().ok()) continue;
      return MakeError(what, s);
    }
  }

  // "etcd <endpoints>: <what>: <grpc message> (<code>)".
  Error MakeError(const std::string& what, const grpc::Status& status) const;
  static bool IsTokenError(const grpc::Status& status);
  // Fetches a fresh token (no-op without credentials).
  Status Authenticate();

 private:
  explicit EtcdConnection(EtcdRegistry::Options options) : options_(std::move(options)) {}

  // Runs on driver_ for the connection's life: keeps a connectivity watch
  // on the channel, which is what makes gRPC poll its connection attempts.
  //
  // Why: with the synchronous API, a channel's sockets are polled only by a
  // thread inside a call on it, or by gRPC's backup poller every 5 s. After
  // an outage the channel is in TRANSIENT_FAILURE and calls fail at once,
  // so nobody is polling when the background reconnect's TCP connect and
  // HTTP/2 SETTINGS arrive; the attempt then hits its connect deadline,
  // and the next one too. A controller that made only short calls never
  // reconnected after an etcd restart (issue 12), while the agents, blocked
  // in a watch, did.
  void DriveChannel();

  std::thread driver_;
  std::atomic<bool> stopping_{false};

  EtcdRegistry::Options options_;
  std::string endpoint_name_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth_;
  std::mutex token_mu_;
  std::string token_;
};

}  // namespace meridian::registry
