// Registry: the ClusterSet key-value store every cluster publishes to and
// every agent watches. Keys live under /meridian/v1/ (see docs/registry.md);
// values are opaque bytes (Protobuf messages from proto/). Backends: "dir:"
// (one machine, embedded default) and "etcd:" (etcd v3 over gRPC).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace meridian::registry {

// Every key starts with this prefix.
inline constexpr char kKeyPrefix[] = "/meridian/v1/";

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t revision = 0;  // the registry revision at which it was last modified

  bool operator==(const KeyValue&) const = default;
};

// A key's lease as the registry holds it now.
struct LeaseInfo {
  std::chrono::milliseconds ttl{0};        // as granted (etcd: whole seconds)
  std::chrono::milliseconds remaining{0};  // until it expires unless renewed (etcd: whole seconds)

  bool operator==(const LeaseInfo&) const = default;
};

struct WatchEvent {
  enum class Type { kPut, kDelete } type;
  KeyValue kv;  // for kDelete: the key and the revision of the delete, empty value
};

// A resumable watch on one prefix. Not thread-safe: one reader.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // Blocks up to `timeout` for changes under the prefix and returns them in
  // revision order (each revision > every one returned before); empty on
  // timeout. An error containing "compacted" means changes were lost: List
  // again and open a new watch from the revision read before that List.
  // Other errors (registry unreachable) may be transient: call again.
  virtual Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout) = 0;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Writes key=value; returns the new revision. ttl 0 means no lease, else
  // the key disappears ttl after the last Put/KeepAlive of it.
  virtual Result<std::int64_t> Put(const std::string& key, const std::string& value,
                                   std::chrono::milliseconds ttl = {}) = 0;
  // Renews the key's lease (its revision is unchanged); error if missing or expired.
  virtual Status KeepAlive(const std::string& key) = 0;
  // Removes the key; a missing key is not an error.
  virtual Status Delete(const std::string& key) = 0;
  virtual Result<std::optional<KeyValue>> Get(const std::string& key) = 0;
  // The key's lease: nullopt when the key is missing or has none. How long
  // ago its owner last renewed it is ttl - remaining.
  virtual Result<std::optional<LeaseInfo>> Lease(const std::string& key) = 0;
  // Live keys starting with prefix, sorted by key; expired keys excluded.
  virtual Result<std::vector<KeyValue>> List(const std::string& prefix) = 0;
  // Compare-and-swap: writes only if the key's current revision ==
  // expected_revision (0 = the key must not exist). Returns false (not an
  // error) when it lost. `ttl` as for Put (a lease for the new value).
  virtual Result<bool> CompareAndSwap(const std::string& key, std::int64_t expected_revision,
                                      const std::string& value,
                                      std::chrono::milliseconds ttl = {}) = 0;
  // Changes under prefix with revision > since, in revision order: a
  // poll-style watch (a blocking watch comes later). Each key is reported
  // once, in its latest state. Error if deletes after `since` may have been
  // forgotten (compacted): the caller then re-lists.
  virtual Result<std::vector<WatchEvent>> ChangesSince(const std::string& prefix,
                                                       std::int64_t since) = 0;
  // The revision of the latest change (0 for an empty registry).
  virtual std::int64_t CurrentRevision() = 0;
  // A blocking watch of changes under prefix with revision > since. The
  // default polls ChangesSince every 50 ms; backends override it with their
  // native notification (inotify, etcd Watch).
  virtual Result<std::unique_ptr<WatchStream>> Watch(const std::string& prefix, std::int64_t since);
};

// "dir:/path" -> DirRegistry (the directory is created if missing);
// "etcd://host:port[,host:port]?user=&password=&ca=&cert=&key=" (or
// "etcd:host:port") -> EtcdRegistry; any other scheme -> an error naming it.
Result<std::unique_ptr<Registry>> OpenRegistry(const std::string& url);
// What OpenRegistry would reject without touching the backend: an unknown
// scheme, a dir: without a path, an etcd: URL that does not parse, an
// etcd: password_file= that cannot be read.
Status CheckRegistryUrl(const std::string& url);
// The URL as logs, errors and status files may show it: the value of a
// password= parameter replaced by "***" (a password_file= names a file,
// not a secret, and stays).
std::string RedactRegistryUrl(const std::string& url);

// Checks a key: starts with /meridian/v1/, no empty segment, no "." or ".."
// segment, only [A-Za-z0-9._/-], at most 200 bytes. The error names the key.
Status ValidateKey(const std::string& key);
// Checks a List/ChangesSince prefix: starts with /meridian/v1/, only
// [A-Za-z0-9._/-], no "..".
Status ValidatePrefix(const std::string& prefix);

}  // namespace meridian::registry
