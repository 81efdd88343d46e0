// DirRegistry::Watch. Every record write is an atomic rename into keys/,
// so inotify (IN_MOVED_TO) names exactly the records that changed and a
// change costs one file read instead of a scan of every record. Two things
// inotify cannot see are covered by a full ChangesSince scan: leases that
// expire without anyone writing (every kExpiryScan), and a queue overflow or
// a tombstone pruned before we read it (at once; ChangesSince then reports
// "compacted" if deletes were lost).
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <system_error>

#include "registry/dir_registry.h"

namespace meridian::registry {
namespace {

constexpr std::chrono::milliseconds kExpiryScan{1000};

class DirWatch final : public WatchStream {
 public:
  DirWatch(DirRegistry& reg, std::string prefix, std::int64_t since, int inotify_fd)
      : reg_(reg), prefix_(std::move(prefix)), base_(since), safe_(since), fd_(inotify_fd) {}
  ~DirWatch() override { close(fd_); }

  Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout) override {
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto now = Clock::now();
      if (need_scan_ || now >= next_scan_) {
        auto events = Scan();
        if (!events) return events.error();
        if (!events->empty()) return events;
      }
      now = Clock::now();
      if (now >= deadline) return std::vector<WatchEvent>{};
      auto wait = std::min(deadline, next_scan_) - now;
      pollfd p{fd_, POLLIN, 0};
      int rc = poll(
          &p, 1,
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) +
              1);
      if (rc < 0 && errno != EINTR) {
        return Error{fmt::format("registry watch: poll: {}",
                                 std::error_code(errno, std::generic_category()).message())};
      }
      if (rc <= 0) continue;
      auto events = ReadChanged();
      if (!events) return events.error();
      if (!events->empty()) return events;
    }
  }

 private:
  struct Seen {
    std::int64_t revision = 0;
    bool live = false;
  };

  // Reports `kv` unless this watch already reported that revision of it
  // (or an older state: revisions never go back).
  void Offer(WatchEvent ev, std::vector<WatchEvent>& out) {
    auto it = seen_.find(ev.kv.key);
    std::int64_t known = it == seen_.end() ? base_ : it->second.revision;
    if (ev.kv.revision <= known) return;
    seen_[ev.kv.key] = {ev.kv.revision, ev.type == WatchEvent::Type::kPut};
    out.push_back(std::move(ev));
  }

  Result<std::vector<WatchEvent>> Scan() {
    std::int64_t before = reg_.CurrentRevision();
    auto changes = reg_.ChangesSince(prefix_, safe_);
    if (!changes) return changes.error();
    std::vector<WatchEvent> out;
    for (auto& ev : *changes) Offer(std::move(ev), out);
    safe_ = std::max(safe_, before);
    need_scan_ = false;
    next_scan_ = std::chrono::steady_clock::now() + kExpiryScan;
    return out;
  }

  Result<std::vector<WatchEvent>> ReadChanged() {
    alignas(inotify_event) char buf[64 * 1024];
    std::vector<std::string> names;
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        if (ev->mask & IN_Q_OVERFLOW) need_scan_ = true;
        if (ev->len > 0) names.emplace_back(ev->name);
        p += sizeof(inotify_event) + ev->len;
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::vector<WatchEvent> out;
    for (const auto& name : names) {
      auto key = DirRegistry::KeyForFileName(name);
      if (!key || key->rfind(prefix_, 0) != 0) continue;
      auto record = reg_.ReadForWatch(*key);
      if (!record) {
        spdlog::debug("registry watch: {}", record.error().message);  // List skips it too
        continue;
      }
      if (!record->has_value()) {
        // The tombstone was pruned before we read it: only a scan can tell
        // whether deletes were lost.
        auto it = seen_.find(*key);
        if (it != seen_.end() && it->second.live) need_scan_ = true;
        continue;
      }
      auto& r = **record;
      WatchEvent ev{r.tombstone ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut,
                    KeyValue{r.key, r.tombstone ? "" : std::move(r.value), r.revision}};
      Offer(std::move(ev), out);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.kv.revision < b.kv.revision; });
    return out;
  }

  DirRegistry& reg_;
  std::string prefix_;
  std::int64_t base_;  // the watch reports revisions above this
  std::int64_t safe_;  // every change up to here has been scanned
  int fd_;
  bool need_scan_ = true;
  std::chrono::steady_clock::time_point next_scan_{};
  std::map<std::string, Seen> seen_;
};

}  // namespace

Result<std::unique_ptr<WatchStream>> DirRegistry::Watch(const std::string& prefix,
                                                        std::int64_t since) {
  if (auto s = ValidatePrefix(prefix); !s) return s.error();
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return Error{fmt::format("registry watch {}: inotify_init1: {}", dir_,
                             std::error_code(errno, std::generic_category()).message())};
  }
  // Watch before the first scan, so that nothing falls in between.
  if (inotify_add_watch(fd, KeysDir().c_str(), IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE) < 0) {
    int err = errno;
    close(fd);
    return Error{fmt::format("registry watch {}: inotify_add_watch: {}", KeysDir(),
                             std::error_code(err, std::generic_category()).message())};
  }
  return std::unique_ptr<WatchStream>(std::make_unique<DirWatch>(*this, prefix, since, fd));
}

}  // namespace meridian::registry
