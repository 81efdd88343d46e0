// Reflector: keeps a local copy of one resource of the API server, the
// way client-go's reflector does: a paginated LIST (limit/continue), then a
// WATCH from the list's resourceVersion with bookmarks, resumed from the
// last resourceVersion seen when the server ends it (timeoutSeconds) or the
// connection breaks; "410 Gone" (as an HTTP status or an in-stream ERROR
// event) means the history is compacted: LIST again. Failures back off
// exponentially with jitter. A relist replaces the copy by difference: an
// object that is still there is never reported deleted in between.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
// clang-format on
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "kube/kube_client.h"

namespace meridian::kube {

// A resource and where it is served: "/api/v1" + "services".
struct ResourceType {
  std::string group_version_path;  // "/api/v1", "/apis/discovery.k8s.io/v1"
  std::string plural;              // "services"
  std::string kind;                // "Service": list items carry no kind
  std::string api_version;         // "v1", "discovery.k8s.io/v1"
  // Narrow the list and the watch, as the API server's query parameters
  // (empty: everything). Plain text; percent-encoded when sent.
  std::string label_selector;
  std::string field_selector;

  std::string CollectionPath() const { return group_version_path + "/" + plural; }
};

struct ReflectorOptions {
  std::size_t page_size = 500;
  // Each watch asks the server to end it after a random time in [min, 2*min)
  // (client-go: 5 minutes), so watches do not all restart together.
  std::chrono::seconds min_watch_timeout{300};
  // No byte (not even a bookmark) for this long: the connection is dead.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(11)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds backoff_initial{800};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
};

// What the reflector reports: an object added or changed (object set) or
// deleted (object null), keyed "namespace/name" ("/name" when cluster
// scoped); "synced" after every complete LIST; "error" when a request
// fails, and "recovered" when a watch delivers again after an error.
struct ReflectorEvent {
  enum class Type { kUpsert, kDelete, kSynced, kError, kRecovered } type;
  std::string key;
  const nlohmann::json* object = nullptr;  // valid during the callback
  std::string error;                       // kError: why the last request failed
};

struct ReflectorCounters {
  std::uint64_t lists = 0;         // complete LISTs
  std::uint64_t list_pages = 0;    // pages fetched
  std::uint64_t relists_gone = 0;  // LISTs caused by 410 Gone
  std::uint64_t watches = 0;       // watch requests made
  std::uint64_t watch_events = 0;  // ADDED/MODIFIED/DELETED applied
  std::uint64_t bookmarks = 0;
  std::uint64_t failures = 0;   // failed requests and broken streams
  std::uint64_t malformed = 0;  // lines or bodies that were not the API's JSON
};

class Reflector : public std::enable_shared_from_this<Reflector> {
 public:
  using Callback = std::function<void(const ReflectorEvent&)>;

  Reflector(std::shared_ptr<KubeClient> client, ResourceType type, ReflectorOptions options,
            Callback callback);

  // Runs until the io_context stops. The callback runs on its thread.
  void Start(boost::asio::io_context& io);

  const ResourceType& type() const { return type_; }
  bool synced() const { return synced_; }
  const std::string& resource_version() const { return resource_version_; }
  const std::map<std::string, nlohmann::json>& objects() const { return objects_; }
  const ReflectorCounters& counters() const { return counters_; }
  const std::string& last_error() const { return last_error_; }

  // "namespace/name" of an object ("/name" without a namespace).
  static std::string KeyOf(const nlohmann::json& object);

 private:
  enum class WatchEnd { kResume, kRelist, kFailed };

  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<bool> List();
  boost::asio::awaitable<WatchEnd> Watch();
  // Applies one watch line; returns false to end the stream.
  bool OnWatchLine(std::string_view line, WatchEnd& end);
  void Upsert(nlohmann::json object);
  void Delete(const std::string& key);
  void Fail(std::string error);
  std::chrono::milliseconds NextBackoff();
  // A 429 or 503 with Retry-After: N seconds makes the next backoff at
  // least N s (at most kMaxRetryAfter), as client-go honours it.
  void NoteRetryAfter(const HttpResponse& r);

  std::shared_ptr<KubeClient> client_;
  ResourceType type_;
  ReflectorOptions options_;
  Callback callback_;
  std::map<std::string, nlohmann::json> objects_;
  std::string resource_version_;
  bool synced_ = false;
  std::string last_error_;
  ReflectorCounters counters_;
  std::chrono::milliseconds backoff_{0};
  std::chrono::milliseconds retry_after_{0};  // from the last refusal; used once
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace meridian::kube
