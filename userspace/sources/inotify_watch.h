// InotifyWatch: tells the agent when a manifest directory may have changed,
// so it reloads promptly instead of only on a timer.
#pragma once

#include <string>

#include "common/result.h"

namespace meridian::sources {

class InotifyWatch {
 public:
  // Watches `dir` (not recursively) with a non-blocking, close-on-exec fd.
  static Result<InotifyWatch> Create(const std::string& dir);

  InotifyWatch(InotifyWatch&& other) noexcept;
  InotifyWatch& operator=(InotifyWatch&& other) noexcept;
  InotifyWatch(const InotifyWatch&) = delete;
  InotifyWatch& operator=(const InotifyWatch&) = delete;
  ~InotifyWatch();

  // For poll/epoll: readable when events are queued.
  int fd() const { return fd_; }

  // Reads every queued event without blocking. True if any says the
  // directory may have changed: a file created, written and closed, moved in
  // or out, or deleted (for any name: a ConfigMap volume swaps its hidden
  // ..data link), the directory itself deleted or moved, or the event queue
  // overflowed. The caller then rescans; events carry no data it needs.
  bool Drain();

 private:
  explicit InotifyWatch(int fd) : fd_(fd) {}

  int fd_ = -1;
};

}  // namespace meridian::sources
