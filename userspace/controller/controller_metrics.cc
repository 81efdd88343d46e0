#include "controller/controller_metrics.h"

#include <utility>

namespace meridian::controller {
namespace {

using metrics::Family;
using metrics::Type;

Family One(std::string name, std::string help, Type type, double value) {
  Family f{.name = std::move(name), .help = std::move(help), .type = type};
  f.samples.push_back({{}, value});
  return f;
}

void CollectWriteBack(const char* writer, const WriteBackView& w, Family& writes, Family& deletes,
                      Family& failures) {
  if (!w.present) return;
  const metrics::Labels labels{{"writer", writer}};
  writes.samples.push_back({labels, static_cast<double>(w.writes)});
  deletes.samples.push_back({labels, static_cast<double>(w.deletes)});
  failures.samples.push_back({labels, static_cast<double>(w.failures)});
}

void Collect(const ControllerMetricsView& v, std::vector<Family>& out) {
  Family state{.name = "meridian_controller_state",
               .help =
                   "1 for the controller's state (publishing; degraded: some input "
                   "rejected; unreachable: the registry is not reached; stopped)",
               .type = Type::kGauge};
  for (const char* s : {"publishing", "degraded", "unreachable", "stopped"}) {
    state.samples.push_back({{{"state", s}}, v.state == s ? 1.0 : 0.0});
  }
  out.push_back(std::move(state));
  out.push_back(One("meridian_controller_registry_up",
                    "1 while the ClusterSet registry is reachable", Type::kGauge,
                    v.registry_up ? 1 : 0));
  out.push_back(One("meridian_controller_syncs_total", "Syncs run (source read and published)",
                    Type::kCounter, static_cast<double>(v.syncs)));
  Family exports{.name = "meridian_controller_exports",
                 .help = "ServiceExports of this cluster, by validity (invalid: not published)",
                 .type = Type::kGauge};
  exports.samples = {{{{"valid", "true"}}, static_cast<double>(v.exports_valid)},
                     {{{"valid", "false"}}, static_cast<double>(v.exports_invalid)}};
  out.push_back(std::move(exports));
  out.push_back(One("meridian_controller_exports_in_conflict",
                    "Published ServiceExports whose merged import has a conflict", Type::kGauge,
                    static_cast<double>(v.exports_in_conflict)));
  out.push_back(One("meridian_controller_problems",
                    "Problems and errors in the controller's last report", Type::kGauge,
                    static_cast<double>(v.problems)));
  Family writes{.name = "meridian_controller_api_writes_total",
                .help =
                    "Writes to the API server, by writer (export_status: ServiceExport "
                    "conditions; imports: ServiceImports and EndpointSlices; shares: "
                    "Deployment replicas)",
                .type = Type::kCounter};
  Family deletes{.name = "meridian_controller_api_deletes_total",
                 .help = "Deletes on the API server, by writer",
                 .type = Type::kCounter};
  Family failures{.name = "meridian_controller_api_write_failures_total",
                  .help = "Failed writes to the API server, by writer",
                  .type = Type::kCounter};
  CollectWriteBack("export_status", v.export_status, writes, deletes, failures);
  CollectWriteBack("imports", v.imports, writes, deletes, failures);
  CollectWriteBack("shares", v.shares, writes, deletes, failures);
  if (!writes.samples.empty()) {
    out.push_back(std::move(writes));
    out.push_back(std::move(deletes));
    out.push_back(std::move(failures));
  }
  if (v.scheduler) {
    out.push_back(One("meridian_scheduler_leading",
                      "1 while this controller is the ClusterSet's propagation scheduler",
                      Type::kGauge, v.leading ? 1 : 0));
    out.push_back(One("meridian_scheduler_decisions", "Propagation decisions in the last round",
                      Type::kGauge, static_cast<double>(v.decisions)));
    out.push_back(One("meridian_scheduler_decision_errors",
                      "Workloads the last round could not schedule (the previous decision "
                      "stays in force)",
                      Type::kGauge, static_cast<double>(v.decision_errors)));
  }
}

}  // namespace

ControllerInstruments RegisterControllerMetrics(metrics::Registry& registry,
                                                std::function<ControllerMetricsView()> view) {
  ControllerInstruments in;
  in.record_writes = &registry.AddCounter(
      "meridian_controller_record_writes_total",
      "Registry operations by the publisher (put: a record written; keepalive: a lease "
      "renewed; delete: a record withdrawn)");
  in.sync_duration =
      &registry.AddHistogram("meridian_controller_sync_duration_seconds",
                             "Time of a sync: read the source, publish, write back, schedule",
                             {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  registry.AddCollector(
      [view = std::move(view)](std::vector<Family>& out) { Collect(view(), out); });
  return in;
}

}  // namespace meridian::controller
