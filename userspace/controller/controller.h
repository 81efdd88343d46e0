// Controller: one per cluster. Reads the cluster's manifests (Service,
// EndpointSlice, ServiceExport and its own Cluster), publishes ClusterInfo
// and exports to the registry under a lease, renews it every TTL/3, and
// withdraws everything on SIGINT/SIGTERM. An unreachable registry at start
// is retried every second (status "unreachable"). One Boost.Asio thread.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "controller/export_publisher.h"
#include "mcs/export_builder.h"
#include "registry/registry.h"
#include "sources/inotify_watch.h"
#include "sources/manifest_directory.h"

namespace meridian::controller {

struct ControllerOptions {
  std::string cluster;
  std::string manifests_dir;
  std::string registry_url;
  std::chrono::milliseconds lease_ttl{10000};
  std::string clusterset_cidr = "10.255.0.0/16";
  std::string status_file;  // empty: none
  std::string state_dir;    // manifest owners; default: the status file's directory
  bool once = false;        // publish once and exit, leaving the records (for tests)
};

class Controller {
 public:
  explicit Controller(ControllerOptions options) : options_(std::move(options)) {}
  int Run();

 private:
  static constexpr std::chrono::milliseconds kConnectRetry{1000};

  // Opens the registry and starts publishing, or retries in kConnectRetry.
  void Connect();
  std::string OwnersFile() const;
  void Sync();
  void ArmInotify();
  void ScheduleRenew();
  void AdoptCreationTimes();
  void LogConflictChanges(const SyncReport& report);
  void WriteStatus(const SyncReport& report, const std::vector<std::string>& problems,
                   const std::vector<mcs::ExportProblem>& invalid = {});

  ControllerOptions options_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_{io_, SIGINT, SIGTERM};
  boost::asio::steady_timer renew_timer_{io_};
  boost::asio::steady_timer debounce_timer_{io_};
  std::optional<boost::asio::posix::stream_descriptor> inotify_desc_;
  std::unique_ptr<registry::Registry> registry_;
  std::optional<sources::ManifestDirectory> manifests_;
  std::optional<sources::InotifyWatch> inotify_;
  std::optional<ExportPublisher> publisher_;
  // Creation time of each ServiceExport without a metadata.creationTimestamp.
  std::map<model::ObjectKey, std::int64_t> first_seen_ms_;
  // The conflicts last logged, per exported service.
  std::map<model::ObjectKey, std::vector<std::string>> conflicts_;
  int syncs_ = 0;
  model::Cidr clusterset_cidr_;
  std::string registry_error_;  // why the registry could not be opened; empty once it was
  int exit_code_ = 0;
  // What the last status write said, rewritten as "stopped" on exit.
  bool stopping_ = false;
  SyncReport last_report_;
  std::vector<std::string> last_problems_;
  std::vector<mcs::ExportProblem> last_invalid_;
};

}  // namespace meridian::controller
