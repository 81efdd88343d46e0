#include "sources/directory_source.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace meridian::sources {

namespace asio = boost::asio;

DirectorySource::DirectorySource(std::string dir, std::string owners_file,
                                 std::chrono::milliseconds debounce)
    : directory_(std::move(dir), std::move(owners_file)), debounce_(debounce) {}

void DirectorySource::Start(asio::io_context& io, std::function<void()> on_change) {
  on_change_ = std::move(on_change);
  debounce_timer_.emplace(io);
  auto watch = InotifyWatch::Create(directory_.dir());
  if (!watch.ok()) {
    // Still read by the caller's resync; the directory may appear later.
    spdlog::warn("{}; changes are seen only by the periodic resync", watch.error().message);
    return;
  }
  inotify_.emplace(std::move(watch).value());
  desc_.emplace(io, dup(inotify_->fd()));
  Arm();
}

void DirectorySource::Arm() {
  desc_->async_wait(asio::posix::stream_descriptor::wait_read,
                    [this](const boost::system::error_code& ec) {
                      if (ec) return;
                      if (inotify_->Drain()) {
                        // Editors write in several steps: settle first.
                        debounce_timer_->expires_after(debounce_);
                        debounce_timer_->async_wait([this](const boost::system::error_code& e) {
                          if (!e) on_change_();
                        });
                      }
                      Arm();
                    });
}

SourceState DirectorySource::Read() {
  auto state = directory_.Reload();
  SourceState out{.snapshot = std::move(state.snapshot), .changed = state.changed};
  out.errors.reserve(state.errors.size());
  for (auto& e : state.errors) out.errors.push_back(std::move(e.message));
  return out;
}

}  // namespace meridian::sources
