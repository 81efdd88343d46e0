// meridian-controller: publishes one cluster's exports to the ClusterSet registry.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/listen_address.h"
#include "controller/controller.h"
#include "model/cidr.h"
#include "sources/source.h"

int main(int argc, char** argv) {
  meridian::controller::ControllerOptions o;
  CLI::App app{
      "meridian-controller: one per cluster. Reads the cluster's Service, EndpointSlice, "
      "ServiceExport and Cluster objects (from the API server or a manifest directory) and "
      "publishes ClusterInfo and every exported Service "
      "to the ClusterSet registry under a lease (renewed every TTL/3), allocating ClusterSet IPs. "
      "SIGINT/SIGTERM withdraws everything it published."};
  std::string log_level = "info";
  std::uint32_t ttl_ms = 10000;
  app.add_option("--cluster", o.cluster, "This cluster's name (a Cluster manifest of that name)")
      ->required();
  std::string manifests;
  auto* source_opt =
      app.add_option("--source", o.source,
                     "Where the cluster's objects are read: kubernetes (LIST+WATCH the API "
                     "server) or dir:PATH (a directory of manifests)")
          ->check([](const std::string& v) {
            auto s = meridian::sources::CheckSourceSpec(v);
            return s ? std::string() : s.error().message;
          });
  app.add_option("--manifests", manifests,
                 "Directory of the cluster's manifests: the same as --source dir:PATH")
      ->excludes(source_opt);
  app.add_option("--kubeconfig", o.kubeconfig,
                 "kubeconfig for --source kubernetes (default: $KUBECONFIG, then the in-cluster "
                 "service account, then ~/.kube/config)");
  app.add_option("--health-listen", o.health_listen,
                 "TCP address of /healthz and /readyz (ADDRESS:PORT); off disables them")
      ->check([](const std::string& v) -> std::string {
        if (v == "off") return "";
        auto parsed = meridian::ParseListenAddress("--health-listen", v);
        return parsed ? "" : parsed.error().message;
      })
      ->capture_default_str();
  bool check_flags = false;
  app.add_flag("--check-flags", check_flags,
               "Parse and check every flag, print 'flags ok' and exit (for deployment tests)");
  app.final_callback([&] {
    if (!manifests.empty()) o.source = "dir:" + manifests;
    if (o.source.empty()) {
      throw CLI::RequiredError("--source kubernetes|dir:PATH (or --manifests DIR)");
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
  app.add_option("--state-dir", o.state_dir,
                 "Where the owner of every manifest object is remembered, so the winner of a "
                 "conflict survives a restart (default: the --status-file's directory)");
  app.add_flag("--once", o.once, "Publish once and exit without withdrawing (tests)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (check_flags) {
    std::puts("flags ok");
    return 0;
  }
  o.lease_ttl = std::chrono::milliseconds(ttl_ms);
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [controller " + o.cluster + "] %v");
  meridian::controller::Controller controller(std::move(o));
  return controller.Run();
}
