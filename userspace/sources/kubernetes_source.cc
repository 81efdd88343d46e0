#include "sources/kubernetes_source.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "model/cluster_property.h"
#include "model/endpoint_slice.h"
#include "sources/object_decoder.h"

namespace meridian::sources {

namespace asio = boost::asio;

std::vector<kube::ResourceType> KubernetesSource::Resources(const std::string& node) {
  std::vector<kube::ResourceType> out = {
      {"/api/v1", "services", "Service", "v1"},
      {"/apis/discovery.k8s.io/v1", "endpointslices", "EndpointSlice", "discovery.k8s.io/v1",
       model::kServiceNameLabel},
      {"/apis/multicluster.x-k8s.io/v1alpha1", "serviceexports", "ServiceExport",
       "multicluster.x-k8s.io/v1alpha1"},
      {"/apis/meridian.io/v1alpha1", "clusters", "Cluster", "meridian.io/v1alpha1"},
      {"/apis/about.k8s.io/v1alpha1", "clusterproperties", "ClusterProperty",
       "about.k8s.io/v1alpha1", "", fmt::format("metadata.name={}", model::kClusterIdProperty)},
  };
  if (!node.empty()) {
    out.push_back({"/api/v1", "nodes", "Node", "v1", "", "metadata.name=" + node});
  }
  return out;
}

KubernetesSource::KubernetesSource(std::shared_ptr<kube::KubeClient> client,
                                   std::vector<kube::ResourceType> resources,
                                   kube::ReflectorOptions options,
                                   std::chrono::milliseconds debounce)
    : client_(std::move(client)), options_(options), debounce_(debounce) {
  shared_->objects.resize(resources.size());
  shared_->errors.resize(resources.size());
  for (std::size_t i = 0; i < resources.size(); ++i) {
    reflectors_.push_back(std::make_shared<kube::Reflector>(
        client_, resources[i], options_,
        [shared = shared_, i](const kube::ReflectorEvent& e) { OnEvent(*shared, i, e); }));
  }
}

KubernetesSource::~KubernetesSource() {
  // The reflectors live on in the io_context's queue until it is destroyed;
  // they must not call back into this object.
  shared_->notify = nullptr;
}

void KubernetesSource::Start(asio::io_context& io, std::function<void()> on_change) {
  debounce_timer_.emplace(io);
  shared_->notify = [this, on_change = std::move(on_change)] {
    if (timer_armed_) return;
    timer_armed_ = true;
    // A relist or a burst of watch events is one change.
    debounce_timer_->expires_after(debounce_);
    debounce_timer_->async_wait([this, on_change](const boost::system::error_code& ec) {
      timer_armed_ = false;
      if (!ec) on_change();
    });
  };
  for (auto& r : reflectors_) r->Start(io);
}

void KubernetesSource::OnEvent(Shared& shared, std::size_t resource,
                               const kube::ReflectorEvent& event) {
  using Type = kube::ReflectorEvent::Type;
  auto& objects = shared.objects[resource];
  switch (event.type) {
    case Type::kUpsert: {
      // A dual-stack cluster's IPv6 slices (and FQDN ones) are not for
      // this IPv4 datapath: left out, as kube-proxy's IPv4 proxier does.
      if (const auto& o = *event.object;
          o.is_object() && o.contains("addressType") && o["addressType"] != "IPv4") {
        objects.erase(event.key);
        break;
      }
      DecodeResult r = DecodeObjectJson(*event.object, "kubernetes");
      Decoded& d = objects[event.key];
      d.errors.clear();
      for (const auto& e : r.errors) d.errors.push_back(e.ToString());
      // A version with errors keeps the last good one in force.
      if (d.errors.empty()) d.good = std::move(r.objects);
      break;
    }
    case Type::kDelete:
      objects.erase(event.key);
      break;
    case Type::kSynced:
    case Type::kRecovered:
      shared.errors[resource].clear();
      break;
    case Type::kError:
      shared.errors[resource] = event.error;
      break;
  }
  shared.changed = true;
  if (shared.notify) shared.notify();
}

SourceState KubernetesSource::Read() {
  SourceState out;
  for (std::size_t i = 0; i < reflectors_.size(); ++i) {
    const std::string& plural = reflectors_[i]->type().plural;
    if (!shared_->errors[i].empty()) {
      out.errors.push_back(fmt::format("kubernetes {}: {}", plural, shared_->errors[i]));
    }
    for (const auto& [key, d] : shared_->objects[i]) {
      for (const auto& e : d.errors) out.errors.push_back(e);
      if (!d.good) continue;
      auto& s = out.snapshot;
      const auto& g = *d.good;
      s.services.insert(s.services.end(), g.services.begin(), g.services.end());
      s.endpoint_slices.insert(s.endpoint_slices.end(), g.endpoint_slices.begin(),
                               g.endpoint_slices.end());
      s.service_exports.insert(s.service_exports.end(), g.service_exports.begin(),
                               g.service_exports.end());
      s.clusters.insert(s.clusters.end(), g.clusters.begin(), g.clusters.end());
      s.cluster_properties.insert(s.cluster_properties.end(), g.cluster_properties.begin(),
                                  g.cluster_properties.end());
      s.nodes.insert(s.nodes.end(), g.nodes.begin(), g.nodes.end());
    }
  }
  out.changed = shared_->changed;
  shared_->changed = false;
  return out;
}

bool KubernetesSource::Synced() const {
  for (const auto& r : reflectors_) {
    if (!r->synced()) return false;
  }
  return true;
}

std::string KubernetesSource::Describe() const {
  return "kubernetes " + client_->config().ServerUrl();
}

}  // namespace meridian::sources
