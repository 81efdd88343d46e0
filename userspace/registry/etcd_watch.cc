#include "registry/etcd_watch.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "registry/etcd_registry.h"

namespace meridian::registry {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// etcd (3.4) catches a watcher that starts in the past up in a background
// pass every 100 ms, in batches of at most 1000 revisions, and sends nothing
// at all when there was nothing under the prefix. Its progress request does
// not wait for that catch-up in 3.4, so it cannot tell us "done". We stop
// when an event or a batch header has reached `until`, or after this long
// without any message once the watch exists, if two Ranges confirm that
// nothing under the prefix changed (a slow etcd gets more time instead).
constexpr milliseconds kQuietPeriod{300};
constexpr int kEtcdBatchRevisions = 1000;

etcdserverpb::WatchRequest CreateRequest(const std::string& prefix, std::int64_t start) {
  etcdserverpb::WatchRequest req;
  auto* create = req.mutable_create_request();
  create->set_key(prefix);
  create->set_range_end(EtcdRegistry::PrefixEnd(prefix));
  create->set_start_revision(start);
  return req;
}

Error CompactedError(const EtcdConnection& conn, const std::string& prefix, std::int64_t since,
                     std::int64_t compact_revision) {
  return Error{fmt::format(
      "etcd {}: changes under '{}' after revision {}: history compacted (etcd keeps revisions "
      "from {} on); list again",
      conn.endpoint_name(), prefix, since, compact_revision)};
}

Result<etcdserverpb::RangeResponse> KeysAt(EtcdConnection& conn, const std::string& prefix,
                                           std::int64_t revision) {
  etcdserverpb::RangeRequest req;
  req.set_key(prefix);
  req.set_range_end(EtcdRegistry::PrefixEnd(prefix));
  req.set_keys_only(true);
  req.set_revision(revision);
  etcdserverpb::RangeResponse resp;
  Status s = conn.Call(fmt::format("keys under {} at {}", prefix, revision),
                       [&](grpc::ClientContext& ctx) { return conn.kv().Range(&ctx, req, &resp); });
  if (!s) return s.error();
  return resp;
}

// True if no key under prefix was written after `since` and none that
// existed at `since` is gone (a key both created and deleted after `since`
// escapes this check). False when unsure.
bool NothingChangedSince(EtcdConnection& conn, const std::string& prefix, std::int64_t since) {
  auto now = KeysAt(conn, prefix, 0);
  if (!now) return false;
  std::set<std::string> live;
  for (const mvccpb::KeyValue& kv : now->kvs()) {
    if (kv.mod_revision() > since) return false;
    live.insert(kv.key());
  }
  if (since == 0) return true;  // nothing existed before revision 1
  auto then = KeysAt(conn, prefix, since);
  if (!then) return false;
  for (const mvccpb::KeyValue& kv : then->kvs()) {
    if (live.count(kv.key()) == 0) return false;
  }
  return true;
}

}  // namespace

WatchEvent ToWatchEvent(const mvccpb::Event& event) {
  WatchEvent out;
  out.type =
      event.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
  out.kv.key = event.kv().key();
  out.kv.revision = event.kv().mod_revision();
  if (out.type == WatchEvent::Type::kPut) out.kv.value = event.kv().value();
  return out;
}

Result<std::vector<WatchEvent>> ReadEtcdHistory(EtcdConnection& conn, const std::string& prefix,
                                                std::int64_t since, std::int64_t until) {
  grpc::ClientContext ctx;
  conn.Prepare(ctx, conn.call_timeout());
  auto stream = conn.watch().Watch(&ctx);

  // A watchdog cancels the stream once it has been quiet for kQuietPeriod.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false, created = false, quiet = false, any_events = false;
  Clock::time_point last_message = Clock::now();
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!finished) {
      if (created && Clock::now() - last_message >= kQuietPeriod) {
        bool events = any_events;
        lock.unlock();
        bool confirmed = !events && NothingChangedSince(conn, prefix, since);
        lock.lock();
        if (confirmed && !finished && !any_events) {
          quiet = true;
          ctx.TryCancel();
          return;
        }
        last_message = Clock::now();  // not confirmed: give etcd another period
      }
      cv.wait_for(lock, milliseconds(20));
    }
  });
  auto stop = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      finished = true;
    }
    cv.notify_all();
    watchdog.join();
  };

  std::vector<WatchEvent> events;
  std::optional<Error> failure;
  bool done = false;
  etcdserverpb::WatchResponse resp;
  if (stream->Write(CreateRequest(prefix, since + 1))) {
    while (!done && stream->Read(&resp)) {
      {
        std::lock_guard<std::mutex> lock(mu);
        last_message = Clock::now();
        created = created || resp.created();
        any_events = any_events || resp.events_size() > 0;
      }
      if (resp.compact_revision() != 0) {
        failure = CompactedError(conn, prefix, since, resp.compact_revision());
        break;
      }
      if (resp.canceled()) {
        failure = Error{fmt::format("etcd {}: watch '{}' cancelled by etcd: {}",
                                    conn.endpoint_name(), prefix, resp.cancel_reason())};
        break;
      }
      std::int64_t first = 0, last = 0;
      for (const mvccpb::Event& e : resp.events()) {
        events.push_back(ToWatchEvent(e));
        if (first == 0) first = e.kv().mod_revision();
        last = e.kv().mod_revision();
      }
      if (last >= until) done = true;
      // A full batch may be followed by more; a smaller one that etcd sent
      // at a revision >= until was the whole catch-up.
      if (!resp.created() && resp.header().revision() >= until &&
          (resp.events_size() == 0 || last - first + 1 < kEtcdBatchRevisions)) {
        done = true;
      }
    }
  }
  stop();
  ctx.TryCancel();
  while (stream->Read(&resp)) {
  }
  grpc::Status status = stream->Finish();
  if (failure) return *failure;
  if (!done && !quiet) {
    return conn.MakeError(
        fmt::format("changes under '{}' after revision {}", prefix, since),
        status.ok() ? grpc::Status(grpc::StatusCode::UNKNOWN, "watch ended early") : status);
  }
  return events;
}

namespace {

// One reader thread per stream owns the gRPC watch; Next() waits on a
// condition variable for what it queued. The reader reconnects (backing off
// up to 1 s) and resumes from the revision after the last one it queued.
class EtcdWatchStream final : public WatchStream {
 public:
  EtcdWatchStream(std::shared_ptr<EtcdConnection> conn, std::string prefix, std::int64_t since)
      : conn_(std::move(conn)), prefix_(std::move(prefix)), next_revision_(since + 1) {
    reader_ = std::thread([this] { ReadLoop(); });
  }

  ~EtcdWatchStream() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (ctx_ != nullptr) ctx_->TryCancel();
    }
    cv_.notify_all();
    reader_.join();
  }

  Result<std::vector<WatchEvent>> Next(milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || fatal_.has_value(); });
    if (!queue_.empty()) {
      std::vector<WatchEvent> out(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.end()));
      queue_.clear();
      return out;
    }
    if (fatal_) return *fatal_;
    if (transient_) return *transient_;
    return std::vector<WatchEvent>{};
  }

 private:
  void ReadLoop() {
    milliseconds backoff{100};
    for (;;) {
      grpc::ClientContext ctx;
      conn_->Prepare(ctx, milliseconds(0));
      std::int64_t start;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
        ctx_ = &ctx;
        start = next_revision_;
      }
      auto stream = conn_->watch().Watch(&ctx);
      bool fatal = false;
      etcdserverpb::WatchResponse resp;
      if (stream->Write(CreateRequest(prefix_, start))) {
        while (stream->Read(&resp)) {
          std::lock_guard<std::mutex> lock(mu_);
          if (resp.compact_revision() != 0) {
            fatal_ = CompactedError(*conn_, prefix_, next_revision_ - 1, resp.compact_revision());
          } else if (resp.canceled()) {
            fatal_ = Error{fmt::format("etcd {}: watch '{}' cancelled by etcd: {}",
                                       conn_->endpoint_name(), prefix_, resp.cancel_reason())};
          }
          if (fatal_) {
            fatal = true;
            ctx.TryCancel();
            cv_.notify_all();
            break;
          }
          if (resp.created()) {
            transient_.reset();
            backoff = milliseconds(100);
          }
          for (const mvccpb::Event& e : resp.events()) {
            queue_.push_back(ToWatchEvent(e));
            next_revision_ = e.kv().mod_revision() + 1;
          }
          if (resp.events_size() > 0) cv_.notify_all();
        }
      }
      while (stream->Read(&resp)) {
      }
      grpc::Status status = stream->Finish();
      std::unique_lock<std::mutex> lock(mu_);
      ctx_ = nullptr;
      if (stop_ || fatal) return;
      // Warn once per outage, not on every reconnect attempt.
      if (!transient_) {
        spdlog::warn("{}",
                     conn_->MakeError(fmt::format("watch '{}' lost, reconnecting", prefix_), status)
                         .message);
      }
      transient_ = conn_->MakeError(fmt::format("watch '{}' (reconnecting)", prefix_), status);
      bool token = EtcdConnection::IsTokenError(status);
      cv_.wait_for(lock, backoff, [&] { return stop_; });
      if (stop_) return;
      backoff = std::min(backoff * 2, milliseconds(1000));
      if (token) {
        lock.unlock();
        (void)conn_->Authenticate();
      }
    }
  }

  std::shared_ptr<EtcdConnection> conn_;
  const std::string prefix_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEvent> queue_;
  std::int64_t next_revision_;
  std::optional<Error> fatal_;      // compacted or refused: Next returns it forever
  std::optional<Error> transient_;  // disconnected, reconnecting
  grpc::ClientContext* ctx_ = nullptr;
  bool stop_ = false;
  std::thread reader_;
};

}  // namespace

std::unique_ptr<WatchStream> OpenEtcdWatch(std::shared_ptr<EtcdConnection> conn, std::string prefix,
                                           std::int64_t since) {
  return std::make_unique<EtcdWatchStream>(std::move(conn), std::move(prefix), since);
}

}  // namespace meridian::registry
