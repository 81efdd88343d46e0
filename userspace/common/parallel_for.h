// Runs fn(0) .. fn(n - 1) on every core. For independent, CPU-bound work
// whose results are written to per-index slots (decoding manifest files,
// building Maglev tables): the result never depends on the thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

namespace meridian {

// `min_per_thread`: below this many items per extra thread, a thread costs
// more than it saves. fn must not throw.
template <typename Fn>
void ParallelFor(std::size_t n, std::size_t min_per_thread, Fn&& fn) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
  };
  const std::size_t per = std::max<std::size_t>(1, min_per_thread);
  const std::size_t wanted = std::min<std::size_t>(
      {std::max(1U, std::thread::hardware_concurrency()), 8, (n + per - 1) / per});
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < wanted; ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no thread to spare: this one does the rest
    }
  }
  work();
  for (auto& h : helpers) h.join();
}

}  // namespace meridian
