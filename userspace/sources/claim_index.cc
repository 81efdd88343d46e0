#include "sources/claim_index.h"

#include <fmt/format.h>

#include <utility>

#include "sources/error_text.h"

namespace meridian::sources::internal {
namespace {

// The owner of `key` in `index`, unless that is `file` itself (its previous
// version), else in `own` (earlier objects of the same content).
template <typename Map, typename Key>
const typename Map::mapped_type* Holder(const Map& index, const Map& own, const Key& key,
                                        const std::string& file) {
  if (auto it = index.find(key); it != index.end() && it->second.file != file) return &it->second;
  if (auto it = own.find(key); it != own.end()) return &it->second;
  return nullptr;
}

template <typename Owner>
std::string AlreadyDefined(const Owner& o) {
  return fmt::format("already defined in {} (document {})", o.file, o.document + 1);
}

}  // namespace

void ClaimIndex::Add(const std::string& file, const model::ResourceSnapshot& objects) {
  for (const auto& svc : objects.services) AddService(file, svc);
  for (const auto& slice : objects.endpoint_slices) AddSlice(file, slice);
  for (const auto& exp : objects.service_exports) AddExport(file, exp);
  for (const auto& cluster : objects.clusters) AddCluster(file, cluster);
}

void ClaimIndex::Remove(const model::ResourceSnapshot& objects) {
  for (const auto& svc : objects.services) {
    services_.erase(svc.meta.key);
    for (const Frontend& f : Frontends(svc)) frontends_.erase(f);
  }
  for (const auto& slice : objects.endpoint_slices) slices_.erase(slice.meta.key);
  for (const auto& exp : objects.service_exports) exports_.erase(exp.meta.key);
  for (const auto& cluster : objects.clusters) {
    clusters_.erase(cluster.meta.key.name);
    cluster_ids_.erase(cluster.id);
    for (const model::Cidr& c : cluster.pod_cidrs) pod_cidrs_.erase(c);
  }
}

std::vector<DecodeError> ClaimIndex::Check(const std::string& file,
                                           const model::ResourceSnapshot& objects) const {
  std::vector<DecodeError> errors;
  ClaimIndex own;  // earlier objects of the same content
  for (const auto& svc : objects.services) {
    const int doc = svc.meta.source.document;
    const std::string name = ObjectName("Service", svc.meta.key);
    if (const Owner* o = Holder(services_, own.services_, svc.meta.key, file)) {
      errors.push_back({file, doc, name, "", AlreadyDefined(*o)});
    }
    if (svc.cluster_ip) {
      for (std::size_t i = 0; i < svc.ports.size(); ++i) {
        const auto& p = svc.ports[i];
        const Frontend f{svc.cluster_ip->host_order(), p.port, p.protocol};
        if (const Owner* o = Holder(frontends_, own.frontends_, f, file)) {
          errors.push_back(
              {file, doc, name, fmt::format("spec.ports[{}]", i),
               fmt::format("{}:{}/{} is already used by {} ({})", svc.cluster_ip->ToString(),
                           p.port, model::ToString(p.protocol), o->object, o->file)});
        }
      }
    }
    own.AddService(file, svc);
  }
  for (const auto& slice : objects.endpoint_slices) {
    if (const Owner* o = Holder(slices_, own.slices_, slice.meta.key, file)) {
      errors.push_back({file, slice.meta.source.document,
                        ObjectName("EndpointSlice", slice.meta.key), "", AlreadyDefined(*o)});
    }
    own.AddSlice(file, slice);
  }
  // A ServiceExport whose Service does not exist is no conflict: Kubernetes
  // accepts it, and the MCS controller reports it in the export's status.
  for (const auto& exp : objects.service_exports) {
    if (const Owner* o = Holder(exports_, own.exports_, exp.meta.key, file)) {
      errors.push_back({file, exp.meta.source.document, ObjectName("ServiceExport", exp.meta.key),
                        "", AlreadyDefined(*o)});
    }
    own.AddExport(file, exp);
  }
  for (const auto& cluster : objects.clusters) {
    CheckCluster(file, cluster, own, errors);
    own.AddCluster(file, cluster);
  }
  return errors;
}

// A Cluster whose name is taken reports only that: its id and pod CIDRs
// then usually collide with the other definition too, which says nothing new.
void ClaimIndex::CheckCluster(const std::string& file, const model::Cluster& cluster,
                              const ClaimIndex& own, std::vector<DecodeError>& errors) const {
  const int doc = cluster.meta.source.document;
  const std::string name = ObjectName("Cluster", cluster.meta.key);
  if (const Owner* o = Holder(clusters_, own.clusters_, cluster.meta.key.name, file)) {
    errors.push_back({file, doc, name, "", AlreadyDefined(*o)});
    return;
  }
  if (const Owner* o = Holder(cluster_ids_, own.cluster_ids_, cluster.id, file)) {
    errors.push_back(
        {file, doc, name, "spec.id",
         fmt::format("{} is already used by {} ({})", cluster.id, o->object, o->file)});
  }
  for (std::size_t i = 0; i < cluster.pod_cidrs.size(); ++i) {
    const model::Cidr& c = cluster.pod_cidrs[i];
    const CidrMap::value_type* hit = Overlap(pod_cidrs_, c, &file);
    if (hit == nullptr) hit = Overlap(own.pod_cidrs_, c, nullptr);
    if (hit != nullptr) {
      errors.push_back({file, doc, name, fmt::format("spec.podCIDRs[{}]", i),
                        fmt::format("{} overlaps {} of {} ({})", c.ToString(),
                                    hit->first.ToString(), hit->second.object, hit->second.file)});
    }
  }
}

void ClaimIndex::AddService(const std::string& file, const model::Service& svc) {
  Owner owner{file, svc.meta.source.document, ObjectName("Service", svc.meta.key)};
  for (const Frontend& f : Frontends(svc)) frontends_.emplace(f, owner);
  services_.emplace(svc.meta.key, std::move(owner));
}

void ClaimIndex::AddSlice(const std::string& file, const model::EndpointSlice& slice) {
  slices_.emplace(slice.meta.key, Owner{file, slice.meta.source.document,
                                        ObjectName("EndpointSlice", slice.meta.key)});
}

void ClaimIndex::AddExport(const std::string& file, const model::ServiceExport& exp) {
  exports_.emplace(exp.meta.key, Owner{file, exp.meta.source.document,
                                       ObjectName("ServiceExport", exp.meta.key)});
}

void ClaimIndex::AddCluster(const std::string& file, const model::Cluster& cluster) {
  Owner owner{file, cluster.meta.source.document, ObjectName("Cluster", cluster.meta.key)};
  cluster_ids_.emplace(cluster.id, owner);
  for (const model::Cidr& c : cluster.pod_cidrs) pod_cidrs_.emplace(c, owner);
  clusters_.emplace(cluster.meta.key.name, std::move(owner));
}

std::vector<ClaimIndex::Frontend> ClaimIndex::Frontends(const model::Service& svc) {
  std::vector<Frontend> out;
  if (!svc.cluster_ip) return out;  // headless: no VIP to collide on
  for (const auto& p : svc.ports)
    out.emplace_back(svc.cluster_ip->host_order(), p.port, p.protocol);
  return out;
}

// Two CIDRs overlap when one contains the other. The index is ordered by
// network, then prefix length, so both kinds are found by lookups: the ones
// containing `cidr` have its network at a prefix length up to its own, the
// ones inside it have their network in its range.
const ClaimIndex::CidrMap::value_type* ClaimIndex::Overlap(const CidrMap& index,
                                                           const model::Cidr& cidr,
                                                           const std::string* skip_file) {
  auto usable = [&](const CidrMap::value_type& entry) {
    return skip_file == nullptr || entry.second.file != *skip_file;
  };
  for (unsigned len = 0; len <= cidr.prefix_len(); ++len) {
    auto it = index.find(model::Cidr(cidr.network(), static_cast<std::uint8_t>(len)));
    if (it != index.end() && usable(*it)) return &*it;
  }
  const std::uint32_t host_bits =
      cidr.prefix_len() >= 32 ? 0 : ~std::uint32_t{0} >> cidr.prefix_len();
  const std::uint32_t last = cidr.network().host_order() | host_bits;
  for (auto it = index.lower_bound(cidr);
       it != index.end() && it->first.network().host_order() <= last; ++it) {
    if (usable(*it)) return &*it;
  }
  return nullptr;
}

}  // namespace meridian::sources::internal
