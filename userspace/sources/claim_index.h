// ClaimIndex: the identities that accepted manifest objects claim, so that
// two objects never define the same Service, VIP, slice, export or cluster.
// Internal to userspace/sources/ (used by ManifestDirectory).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "model/cidr.h"
#include "model/snapshot.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources::internal {

// Claims, one per kind of identity:
// - Service, EndpointSlice and ServiceExport: namespace/name;
// - Service frontends: clusterIP, port and protocol;
// - Cluster: name, id, and each pod CIDR (no two Clusters' may overlap);
// - ClusterProperty and Node: name.
// Objects are claimed one at a time, in the order the caller decides who
// wins; each claim has exactly one owner. The index keeps pointers to the
// claimed objects' keys and to the file names: both must outlive it (it
// lives for one conflict resolution; claiming 20k objects with a copy of
// each name, file and description cost ~40 ms per reload).
class ClaimIndex {
 public:
  // Claims everything `obj` (from `file`) needs, unless an object claimed
  // earlier holds any of it: then nothing is claimed, and the conflicts are
  // returned (empty: claimed).
  std::vector<DecodeError> Claim(const std::string& file, const model::Service& svc);
  std::vector<DecodeError> Claim(const std::string& file, const model::EndpointSlice& slice);
  std::vector<DecodeError> Claim(const std::string& file, const model::ServiceExport& exp);
  std::vector<DecodeError> Claim(const std::string& file, const model::Cluster& cluster);
  std::vector<DecodeError> Claim(const std::string& file, const model::ClusterProperty& prop);
  std::vector<DecodeError> Claim(const std::string& file, const model::Node& node);

 private:
  // Who holds a claim.
  struct Owner {
    const std::string* file;
    int document;
    std::string_view kind;  // "Service", "Cluster"
    const model::ObjectKey* key;
    std::string Object() const;  // "Service default/a", "Cluster east"
  };
  // Keys by the object's own key, compared by value.
  struct KeyLess {
    bool operator()(const model::ObjectKey* a, const model::ObjectKey* b) const { return *a < *b; }
  };
  using KeyMap = std::map<const model::ObjectKey*, Owner, KeyLess>;
  using Frontend = std::tuple<std::uint32_t, std::uint16_t, model::Protocol>;
  using CidrMap = std::map<model::Cidr, Owner>;

  static std::vector<Frontend> Frontends(const model::Service& svc);
  // Claims `key` of `kind` in `index`, or names its holder.
  std::vector<DecodeError> ClaimName(KeyMap& index, std::string_view kind, const std::string& file,
                                     const model::ObjectMeta& meta);
  // An entry of `index` whose CIDR overlaps `cidr`.
  static const CidrMap::value_type* Overlap(const CidrMap& index, const model::Cidr& cidr);

  KeyMap services_;
  KeyMap slices_;
  KeyMap exports_;
  KeyMap properties_;
  KeyMap nodes_;
  std::map<Frontend, Owner> frontends_;
  std::map<std::string_view, Owner> clusters_;  // by name (the object's own)
  std::map<std::uint32_t, Owner> cluster_ids_;
  CidrMap pod_cidrs_;
};

}  // namespace meridian::sources::internal
