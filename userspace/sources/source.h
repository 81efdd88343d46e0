// Source: where an agent or a controller reads the cluster's objects from
// (Services, EndpointSlices, ServiceExports, Clusters). Two exist: a
// directory of manifests (sources/directory_source.h, the embedded default
// for the demo and tests) and the Kubernetes API server
// (sources/kubernetes_source.h). Both decode through the one manifest
// decoder, so an object gives the same model whichever source read it, and
// both feed the same pipeline: model -> desired state -> map writer.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
// clang-format on
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "model/snapshot.h"

namespace meridian::kube {
class KubeClient;
}

namespace meridian::sources {

struct SourceState {
  model::ResourceSnapshot snapshot;
  // Why objects are not in the snapshot (each names its file or object),
  // and why the source cannot be read, if so; the snapshot then holds the
  // last good objects.
  std::vector<std::string> errors;
  // The snapshot differs from the one the previous Read returned; true on
  // the first Read, so the first state is always applied.
  bool changed = false;
};

class Source {
 public:
  virtual ~Source() = default;

  // Starts watching on `io`'s thread. `on_change` runs there, after a
  // burst of changes settles; it then calls Read. Call once.
  virtual void Start(boost::asio::io_context& io, std::function<void()> on_change) = 0;

  // The objects now. Never blocks on the network: a Kubernetes source
  // answers from what its watches have delivered.
  virtual SourceState Read() = 0;

  // True once the source holds a complete first state (a directory: at
  // once; Kubernetes: every LIST done). Before that, Read's snapshot may
  // lack objects that exist, and a consumer that withdraws what is missing
  // must wait.
  virtual bool Synced() const = 0;

  // "dir:/etc/meridian/manifests" or "kubernetes https://10.0.0.1:443"; for
  // logs and status.
  virtual std::string Describe() const = 0;
};

struct SourceOptions {
  // "dir:PATH" or "kubernetes".
  std::string spec;
  // With "kubernetes": the kubeconfig (empty: $KUBECONFIG, then in-cluster,
  // then ~/.kube/config, as client-go chooses).
  std::string kubeconfig;
  // With "dir:": where the owner of every object is remembered across
  // restarts (sources/manifest_directory.h); empty: nowhere.
  std::string owners_file;
  // With "kubernetes": a client already opened (OpenKubeClient) for the
  // caller's own requests; null: OpenSource opens one from `kubeconfig`.
  std::shared_ptr<kube::KubeClient> client;
  // With "kubernetes": this node's name (the agent), whose Node object is
  // watched -- only that one, as kube-proxy does; empty: no Node is read.
  std::string node;
  // How long a burst of changes must be quiet before on_change runs.
  std::chrono::milliseconds debounce{50};
};

// Checks a --source value without opening anything: "dir:PATH" with a
// non-empty path, or "kubernetes".
Status CheckSourceSpec(const std::string& spec);

// The API server's client from `kubeconfig` (empty: client-go's order, see
// kube/kube_config.h); logs which configuration was chosen.
Result<std::shared_ptr<kube::KubeClient>> OpenKubeClient(const std::string& kubeconfig);

// Opens the source `options.spec` names; errors name the flag's value.
Result<std::unique_ptr<Source>> OpenSource(const SourceOptions& options);

}  // namespace meridian::sources
