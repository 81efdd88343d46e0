// meridian-controller: publishes one cluster's exports to the ClusterSet registry.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/log_flags.h"
#include "controller/controller.h"
#include "model/cidr.h"
#include "sources/source_flags.h"

int main(int argc, char** argv) {
  meridian::controller::ControllerOptions o;
  CLI::App app{
      "meridian-controller: one per cluster. Reads the cluster's Service, EndpointSlice, "
      "ServiceExport and Cluster objects (from the API server or a manifest directory) and "
      "publishes ClusterInfo and every exported Service "
      "to the ClusterSet registry under a lease (renewed every TTL/3), allocating ClusterSet IPs. "
      "SIGINT/SIGTERM withdraws everything it published. With --scheduler it may also be "
      "elected the ClusterSet's propagation scheduler."};
  std::uint32_t ttl_ms = 10000;
  app.add_option("--cluster", o.cluster,
                 "This cluster's name (a Cluster object of that name). With --source kubernetes "
                 "the ClusterProperty cluster.clusterset.k8s.io (About API), when it exists, "
                 "names the cluster instead, and --cluster may be left out");
  meridian::sources::SourceFlags source_flags(app, o.source, o.kubeconfig, o.health_listen);
  app.final_callback([&] {
    source_flags.Resolve();
    if (o.cluster.empty() && o.source != "kubernetes") {
      throw CLI::ValidationError("--cluster",
                                 "required unless --source kubernetes (which may take the name "
                                 "from the ClusterProperty cluster.clusterset.k8s.io)");
    }
    if (!meridian::model::Cidr::Parse(o.clusterset_cidr)) {
      throw CLI::ValidationError(
          "--clusterset-cidr",
          "'" + o.clusterset_cidr + "' is not an IPv4 CIDR with zero host bits");
    }
  });
  app.add_option("--registry", o.registry_url, "Registry URL: dir:/path or etcd://host:port")
      ->required();
  app.add_option("--lease-ttl-ms", ttl_ms,
                 "Lease of every published record: a cluster that stops renewing disappears "
                 "from the ClusterSet this long after its last renewal")
      ->capture_default_str()
      ->check(CLI::Range(300u, 3600000u));
  app.add_option("--clusterset-cidr", o.clusterset_cidr,
                 "Where ClusterSet IPs are allocated from (the same in every cluster)")
      ->capture_default_str();
  app.add_option("--status-file", o.status_file, "Where status JSON is written after each sync");
  app.add_option("--metrics-listen", o.metrics_listen,
                 "TCP address of the Prometheus /metrics endpoint (ADDRESS:PORT); \"off\" "
                 "disables it (docs/metrics.md)")
      ->capture_default_str()
      ->check(meridian::sources::ListenAddressCheck("--metrics-listen"));
  app.add_option("--state-dir", o.state_dir,
                 "Where the owner of every manifest object is remembered, so the winner of a "
                 "conflict survives a restart (default: the --status-file's directory)");
  app.add_flag("--once", o.once, "Publish once and exit without withdrawing (tests)");
  app.add_option("--scheduler", o.scheduler_manifests,
                 "Be a candidate for the ClusterSet's propagation scheduler (one is elected "
                 "through a registry lease of --lease-ttl-ms): read PropagationPolicies, workloads "
                 "and Karmada Clusters from this directory every TTL/3 and publish each "
                 "workload's decision under /meridian/v1/decisions/<ns>/<name>")
      ->check(CLI::ExistingDirectory);
  meridian::logging::LogFlags log_flags(app, "cluster");
  CLI11_PARSE(app, argc, argv);
  if (source_flags.check_flags()) {
    std::puts("flags ok");
    return 0;
  }
  o.lease_ttl = std::chrono::milliseconds(ttl_ms);
  o.log_format = log_flags.format();
  log_flags.Apply(meridian::controller::ControllerLogContext(o.cluster));
  meridian::controller::Controller controller(std::move(o));
  return controller.Run();
}
