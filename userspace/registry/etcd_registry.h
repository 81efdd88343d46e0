// EtcdRegistry: the production registry backend, etcd v3 spoken through its
// native gRPC API (KV, Watch, Lease, Auth). Revisions are etcd's mod_revision
// and header revision; leased keys carry one etcd lease each; Watch is a
// native etcd watch stream that resumes after disconnects. See
// docs/registry.md, "The etcd: backend".
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/registry.h"

namespace meridian::registry {

class EtcdConnection;

class EtcdRegistry final : public Registry {
 public:
  struct Options {
    // host:port, at least one. IP literals may be several (the client fails
    // over between them); a host name must be the only endpoint.
    std::vector<std::string> endpoints;
    // Both empty: no authentication. Else Authenticate once at Open and
    // again whenever etcd rejects the token.
    std::string username;
    std::string password;
    // Non-empty ca_file: TLS, verifying the server against this CA. cert_file
    // and key_file (both or neither): a client certificate.
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    // Every unary call gives up after this long, so an unreachable registry
    // is an error, not a hang.
    std::chrono::milliseconds call_timeout{2000};
  };

  // Connects (authenticating if asked). Fails if etcd is unreachable within
  // call_timeout, or rejects the credentials.
  static Result<std::unique_ptr<EtcdRegistry>> Open(Options options);
  // Parses "etcd://host:port[,host:port]?user=U&password=P&ca=F&cert=F&key=F"
  // (password_file=F instead of password=P reads the first line of F)
  // (or "etcd:host:port..."). The error names the url.
  static Result<Options> ParseUrl(const std::string& url);

  EtcdRegistry(const EtcdRegistry&) = delete;
  EtcdRegistry& operator=(const EtcdRegistry&) = delete;
  ~EtcdRegistry() override;

  Result<std::int64_t> Put(const std::string& key, const std::string& value,
                           std::chrono::milliseconds ttl = {}) override;
  Status KeepAlive(const std::string& key) override;
  Result<std::optional<LeaseInfo>> Lease(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<std::optional<KeyValue>> Get(const std::string& key) override;
  Result<std::vector<KeyValue>> List(const std::string& prefix) override;
  Result<bool> CompareAndSwap(const std::string& key, std::int64_t expected_revision,
                              const std::string& value,
                              std::chrono::milliseconds ttl = {}) override;
  Result<std::vector<WatchEvent>> ChangesSince(const std::string& prefix,
                                               std::int64_t since) override;
  // etcd's header revision; on error, the last one seen (logged).
  std::int64_t CurrentRevision() override;
  Result<std::unique_ptr<WatchStream>> Watch(const std::string& prefix,
                                             std::int64_t since) override;

  // The endpoints as given, comma-separated: what error messages name.
  const std::string& EndpointName() const;

  // The end of etcd's range for "every key starting with prefix".
  static std::string PrefixEnd(const std::string& prefix);

 private:
  explicit EtcdRegistry(std::shared_ptr<EtcdConnection> conn);
  // A new lease of `ttl` for `key` (Put, CompareAndSwap); 0 when ttl is 0.
  Result<std::int64_t> GrantLease(const std::string& key, std::chrono::milliseconds ttl);
  // Revokes a lease a write left holding nothing (0: none); a failure is
  // only logged: the lease expires by itself.
  void RevokeOrphanLease(const std::string& key, std::int64_t lease);
  // The id of the lease `key` is under (KeepAlive, Lease): nullopt when the
  // key is missing, 0 when it has no lease. `what` names the call in errors.
  Result<std::optional<std::int64_t>> LeaseIdOf(const std::string& key, const std::string& what);
  // Shared with open watch streams, so a stream outliving its registry stays valid.
  std::shared_ptr<EtcdConnection> conn_;
  std::atomic<std::int64_t> last_revision_{0};  // CurrentRevision() when etcd is unreachable
};

}  // namespace meridian::registry
