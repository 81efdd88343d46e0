#include "sources/inotify_watch.h"

#include <fmt/format.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <utility>

namespace meridian::sources {
namespace {

constexpr std::uint32_t kChangeEvents =
    IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE;
// The directory went away (the agent reports it and keeps its last state),
// or events were lost: either way only a rescan knows what is there now.
constexpr std::uint32_t kRescanEvents = IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace

Result<InotifyWatch> InotifyWatch::Create(const std::string& dir) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Error{fmt::format("inotify_init1: {}", ErrnoText(errno))};
  if (inotify_add_watch(fd, dir.c_str(),
                        kChangeEvents | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR) < 0) {
    const int err = errno;
    close(fd);
    return Error{fmt::format("{}: cannot watch directory: {}", dir, ErrnoText(err))};
  }
  return InotifyWatch(fd);
}

InotifyWatch::InotifyWatch(InotifyWatch&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

InotifyWatch& InotifyWatch::operator=(InotifyWatch&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

InotifyWatch::~InotifyWatch() {
  if (fd_ >= 0) close(fd_);
}

bool InotifyWatch::Drain() {
  bool changed = false;
  alignas(inotify_event) char buf[16 * 1024];
  while (true) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN: queue empty. Any other error: the events are unknowable, so
    // answer "changed" and let the caller rescan rather than miss an edit.
    if (n < 0) return changed || errno != EAGAIN;
    if (n == 0) return changed;
    for (ssize_t off = 0; off < n;) {
      inotify_event event;
      std::memcpy(&event, buf + off, sizeof event);
      if (event.mask & (kChangeEvents | kRescanEvents)) changed = true;
      off += static_cast<ssize_t>(sizeof event + event.len);
    }
  }
}

}  // namespace meridian::sources
