// What the controller exposes on /metrics (--metrics-listen): its state,
// the registry, the exports and their conflicts, the write-backs to the API
// server and the scheduler, read at scrape time from a view the controller
// builds (the same figures its status file shows); record writes and the
// sync duration are counted as they happen. docs/metrics.md lists them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/metrics.h"

namespace meridian::controller {

// One write-back's counters (ServiceExport conditions, ServiceImports,
// Deployment replicas); present only with --source kubernetes.
struct WriteBackView {
  bool present = false;
  std::uint64_t writes = 0;  // patches or applies
  std::uint64_t deletes = 0;
  std::uint64_t failures = 0;
};

struct ControllerMetricsView {
  std::string state;  // publishing, degraded, unreachable, stopped
  bool registry_up = false;
  std::uint64_t syncs = 0;
  std::uint64_t exports_valid = 0, exports_invalid = 0;
  std::uint64_t exports_in_conflict = 0;  // valid exports with at least one conflict
  std::uint64_t problems = 0;             // status file "problems" + "errors"
  WriteBackView export_status, imports, shares;
  bool scheduler = false;  // --scheduler given
  bool leading = false;
  std::uint64_t decisions = 0, decision_errors = 0;
};

struct ControllerInstruments {
  // meridian_controller_record_writes_total{op = put, keepalive, delete}
  metrics::Counter* record_writes = nullptr;
  // meridian_controller_sync_duration_seconds
  metrics::Histogram* sync_duration = nullptr;
};

ControllerInstruments RegisterControllerMetrics(metrics::Registry& registry,
                                                std::function<ControllerMetricsView()> view);

}  // namespace meridian::controller
