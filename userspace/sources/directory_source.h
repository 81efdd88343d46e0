// DirectorySource: the objects of a directory of manifests
// (sources/manifest_directory.h), re-read when inotify says a file may have
// changed. The one inotify loop the agent and the controller share. Without
// inotify (the directory does not exist yet) changes are seen by the
// caller's periodic resync, which calls Read anyway.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
// clang-format on
#include <optional>
#include <string>

#include "sources/inotify_watch.h"
#include "sources/manifest_directory.h"
#include "sources/source.h"

namespace meridian::sources {

class DirectorySource : public Source {
 public:
  DirectorySource(std::string dir, std::string owners_file, std::chrono::milliseconds debounce);

  void Start(boost::asio::io_context& io, std::function<void()> on_change) override;
  SourceState Read() override;
  bool Synced() const override { return true; }
  std::string Describe() const override { return "dir:" + directory_.dir(); }

  const ManifestDirectory& directory() const { return directory_; }

 private:
  void Arm();

  ManifestDirectory directory_;
  std::chrono::milliseconds debounce_;
  std::function<void()> on_change_;
  std::optional<InotifyWatch> inotify_;
  std::optional<boost::asio::posix::stream_descriptor> desc_;
  std::optional<boost::asio::steady_timer> debounce_timer_;
};

}  // namespace meridian::sources
