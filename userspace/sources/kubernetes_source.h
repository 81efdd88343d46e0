// KubernetesSource: the objects of the API server, kept by one reflector
// per resource (kube/reflector.h) and decoded once per change through the
// shared decoder (sources/object_decoder.h). Read assembles the snapshot
// from the decoded objects; an object whose new version does not decode
// keeps its last good version, as a bad edit of a manifest file does.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/steady_timer.hpp>
// clang-format on
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kube/reflector.h"
#include "sources/source.h"

namespace meridian::sources {

class KubernetesSource : public Source {
 public:
  // The resources watched: Services, the Services' own EndpointSlices
  // (those labelled kubernetes.io/service-name: not the MCS slices the
  // controller writes, nor other controllers' custom ones), ServiceExports
  // (multicluster.x-k8s.io/v1alpha1), Clusters (meridian.io/v1alpha1), the
  // cluster id ClusterProperty (about.k8s.io/v1alpha1) and, given `node`,
  // that one Node.
  static std::vector<kube::ResourceType> Resources(const std::string& node = "");

  KubernetesSource(std::shared_ptr<kube::KubeClient> client,
                   std::vector<kube::ResourceType> resources, kube::ReflectorOptions options,
                   std::chrono::milliseconds debounce);
  ~KubernetesSource() override;

  void Start(boost::asio::io_context& io, std::function<void()> on_change) override;
  SourceState Read() override;
  bool Synced() const override;
  std::string Describe() const override;

  // Per resource plural: the reflectors, for status and tests.
  const std::vector<std::shared_ptr<kube::Reflector>>& reflectors() const { return reflectors_; }

 private:
  struct Decoded {
    std::optional<model::ResourceSnapshot> good;  // the last version that decoded
    std::vector<std::string> errors;              // why the current one does not
  };
  // Shared with the reflectors' callbacks, which may outlive the source in
  // the io_context's queue.
  struct Shared {
    // Per resource (index in Resources()), per "namespace/name".
    std::vector<std::map<std::string, Decoded>> objects;
    std::vector<std::string> errors;  // per resource: why it cannot be read now
    bool changed = true;
    std::function<void()> notify;
  };
  static void OnEvent(Shared& shared, std::size_t resource, const kube::ReflectorEvent& event);
  void Changed();

  std::shared_ptr<kube::KubeClient> client_;
  kube::ReflectorOptions options_;
  std::chrono::milliseconds debounce_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::vector<std::shared_ptr<kube::Reflector>> reflectors_;
  std::optional<boost::asio::steady_timer> debounce_timer_;
  bool timer_armed_ = false;
};

}  // namespace meridian::sources
