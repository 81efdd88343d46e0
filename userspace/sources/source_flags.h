// The command-line flags the agent and the controller share: where objects
// are read (--source, --manifests, --kubeconfig), the probes
// (--health-listen) and --check-flags. Header-only: only the binaries'
// main.cc include it, and they link CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "common/listen_address.h"
#include "sources/source.h"

namespace meridian::sources {

// A CLI11 check for "off" or ADDRESS:PORT, naming `flag` in its error.
inline auto ListenAddressCheck(std::string flag) {
  return [flag = std::move(flag)](const std::string& v) -> std::string {
    if (v == "off") return "";
    auto parsed = ParseListenAddress(flag, v);
    return parsed ? "" : parsed.error().message;
  };
}

class SourceFlags {
 public:
  // Adds the flags; the values land in the caller's options.
  SourceFlags(CLI::App& app, std::string& source, std::string& kubeconfig,
              std::string& health_listen)
      : source_(source) {
    auto* source_opt =
        app.add_option("--source", source,
                       "Where Service, EndpointSlice, ServiceExport and Cluster objects are "
                       "read: kubernetes (LIST+WATCH the API server) or dir:PATH (a directory "
                       "of manifests)")
            ->check([](const std::string& v) {
              auto s = CheckSourceSpec(v);
              return s ? std::string() : s.error().message;
            });
    app.add_option("--manifests", manifests_,
                   "Directory of manifests (*.yaml, *.yml, *.json): the same as --source "
                   "dir:PATH")
        ->excludes(source_opt);
    app.add_option("--kubeconfig", kubeconfig,
                   "kubeconfig for --source kubernetes (default: $KUBECONFIG, then the "
                   "in-cluster service account, then ~/.kube/config)");
    app.add_option("--health-listen", health_listen,
                   "TCP address of /healthz and /readyz (ADDRESS:PORT; kube-proxy's is "
                   "0.0.0.0:10256); off disables them")
        ->check(ListenAddressCheck("--health-listen"))
        ->capture_default_str();
    app.add_flag("--check-flags", check_flags_,
                 "Parse and check every flag, print 'flags ok' and exit (for deployment tests)");
  }

  // From the app's final_callback: --manifests DIR becomes dir:DIR, and one
  // of the two is required.
  void Resolve() {
    if (!manifests_.empty()) source_ = "dir:" + manifests_;
    if (source_.empty()) {
      throw CLI::RequiredError("--source kubernetes|dir:PATH (or --manifests DIR)");
    }
  }

  bool check_flags() const { return check_flags_; }

 private:
  std::string& source_;
  std::string manifests_;
  bool check_flags_ = false;
};

}  // namespace meridian::sources
