#include "sources/claim_index.h"

#include <fmt/format.h>

#include <utility>

#include "sources/error_text.h"

namespace meridian::sources::internal {
namespace {

template <typename Owner>
std::string AlreadyDefined(const Owner& o) {
  return fmt::format("already defined in {} (document {})", *o.file, o.document + 1);
}

}  // namespace

std::string ClaimIndex::Owner::Object() const { return ObjectName(kind, *key); }

std::vector<DecodeError> ClaimIndex::Claim(const std::string& file, const model::Service& svc) {
  std::vector<DecodeError> errors;
  const int doc = svc.meta.source.document;
  auto name = [&] { return ObjectName("Service", svc.meta.key); };
  if (auto it = services_.find(&svc.meta.key); it != services_.end()) {
    errors.push_back({file, doc, name(), "", AlreadyDefined(it->second)});
  }
  const std::vector<Frontend> frontends = Frontends(svc);
  for (std::size_t i = 0; i < frontends.size(); ++i) {
    auto it = frontends_.find(frontends[i]);
    if (it == frontends_.end()) continue;
    const auto& p = svc.ports[i];
    errors.push_back(
        {file, doc, name(), fmt::format("spec.ports[{}]", i),
         fmt::format("{}:{}/{} is already used by {} ({})", svc.cluster_ip->ToString(), p.port,
                     model::ToString(p.protocol), it->second.Object(), *it->second.file)});
  }
  if (!errors.empty()) return errors;
  const Owner owner{&file, doc, "Service", &svc.meta.key};
  for (const Frontend& f : frontends) frontends_.emplace(f, owner);
  services_.emplace(&svc.meta.key, owner);
  return errors;
}

std::vector<DecodeError> ClaimIndex::Claim(const std::string& file,
                                           const model::EndpointSlice& slice) {
  return ClaimName(slices_, "EndpointSlice", file, slice.meta);
}

// A ServiceExport whose Service does not exist is no conflict: Kubernetes
// accepts it, and the MCS controller reports it in the export's status.
std::vector<DecodeError> ClaimIndex::Claim(const std::string& file,
                                           const model::ServiceExport& exp) {
  return ClaimName(exports_, "ServiceExport", file, exp.meta);
}

std::vector<DecodeError> ClaimIndex::ClaimName(KeyMap& index, std::string_view kind,
                                               const std::string& file,
                                               const model::ObjectMeta& meta) {
  const int doc = meta.source.document;
  if (auto it = index.find(&meta.key); it != index.end()) {
    return {{file, doc, ObjectName(kind, meta.key), "", AlreadyDefined(it->second)}};
  }
  index.emplace(&meta.key, Owner{&file, doc, kind, &meta.key});
  return {};
}

std::vector<DecodeError> ClaimIndex::Claim(const std::string& file,
                                           const model::ClusterProperty& prop) {
  return ClaimName(properties_, "ClusterProperty", file, prop.meta);
}

std::vector<DecodeError> ClaimIndex::Claim(const std::string& file, const model::Node& node) {
  return ClaimName(nodes_, "Node", file, node.meta);
}

// A Cluster whose name is taken reports only that: its id and pod CIDRs
// then usually collide with the other definition too, which says nothing new.
std::vector<DecodeError> ClaimIndex::Claim(const std::string& file, const model::Cluster& cluster) {
  const int doc = cluster.meta.source.document;
  std::string name = ObjectName("Cluster", cluster.meta.key);
  if (auto it = clusters_.find(cluster.meta.key.name); it != clusters_.end()) {
    return {{file, doc, std::move(name), "", AlreadyDefined(it->second)}};
  }
  std::vector<DecodeError> errors;
  if (auto it = cluster_ids_.find(cluster.id); it != cluster_ids_.end()) {
    errors.push_back({file, doc, name, "spec.id",
                      fmt::format("{} is already used by {} ({})", cluster.id, it->second.Object(),
                                  *it->second.file)});
  }
  for (std::size_t i = 0; i < cluster.pod_cidrs.size(); ++i) {
    const model::Cidr& c = cluster.pod_cidrs[i];
    const CidrMap::value_type* hit = Overlap(pod_cidrs_, c);
    if (hit != nullptr) {
      errors.push_back(
          {file, doc, name, fmt::format("spec.podCIDRs[{}]", i),
           fmt::format("{} overlaps {} of {} ({})", c.ToString(), hit->first.ToString(),
                       hit->second.Object(), *hit->second.file)});
    }
  }
  if (!errors.empty()) return errors;
  const Owner owner{&file, doc, "Cluster", &cluster.meta.key};
  cluster_ids_.emplace(cluster.id, owner);
  for (const model::Cidr& c : cluster.pod_cidrs) pod_cidrs_.emplace(c, owner);
  clusters_.emplace(cluster.meta.key.name, owner);
  return errors;
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
                                                           const model::Cidr& cidr) {
  for (unsigned len = 0; len <= cidr.prefix_len(); ++len) {
    auto it = index.find(model::Cidr(cidr.network(), static_cast<std::uint8_t>(len)));
    if (it != index.end()) return &*it;
  }
  const std::uint32_t host_bits =
      cidr.prefix_len() >= 32 ? 0 : ~std::uint32_t{0} >> cidr.prefix_len();
  const std::uint32_t last = cidr.network().host_order() | host_bits;
  auto it = index.lower_bound(cidr);
  if (it != index.end() && it->first.network().host_order() <= last) return &*it;
  return nullptr;
}

}  // namespace meridian::sources::internal
