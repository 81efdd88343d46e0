// RunUntil: runs an io_context's handlers until a condition holds or a
// timeout passes. For the waits at start (the registry's first answer, a
// source's first complete read): the caller needs the outcome before it
// goes on, and the handlers that produce it run meanwhile.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
// clang-format on
#include <chrono>
#include <functional>

namespace meridian {

// True if `done` held before `timeout`. Leaves `io` ready to run again.
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto guard = boost::asio::make_work_guard(io);  // so run_one_for waits instead of returning
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  guard.reset();
  io.restart();
  return done();
}

}  // namespace meridian
