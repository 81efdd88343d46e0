// EtcdConnection: one gRPC channel to an etcd cluster with its stubs, the
// auth token, and the per-call plumbing (deadline, token metadata, one retry
// after re-authenticating, gRPC status -> Error naming the endpoint). Shared
// by EtcdRegistry and its watch streams. Internal to registry/.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "etcd/rpc.grpc.pb.h"
#include "registry/etcd_registry.h"

namespace meridian::registry {

class EtcdConnection {
 public:
  static Result<std::shared_ptr<EtcdConnection>> Connect(const EtcdRegistry::Options& options);

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
