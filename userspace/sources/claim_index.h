// ClaimIndex: the identities that accepted manifest objects claim, so that
// two objects never define the same Service, VIP, slice, export or cluster.
// Internal to userspace/sources/ (used by ManifestDirectory).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "model/cidr.h"
#include "model/snapshot.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources::internal {

// Claims, one per kind of identity:
// - Service, EndpointSlice and ServiceExport: namespace/name;
// - Service frontends: clusterIP, port and protocol;
// - Cluster: name, id, and each pod CIDR (no two Clusters' may overlap).
// Objects are claimed one at a time, in the order the caller decides who
// wins; each claim has exactly one owner.
class ClaimIndex {
 public:
  // Claims everything `obj` (from `file`) needs, unless an object claimed
  // earlier holds any of it: then nothing is claimed, and the conflicts are
  // returned (empty: claimed).
  std::vector<DecodeError> Claim(const std::string& file, const model::Service& svc);
  std::vector<DecodeError> Claim(const std::string& file, const model::EndpointSlice& slice);
  std::vector<DecodeError> Claim(const std::string& file, const model::ServiceExport& exp);
  std::vector<DecodeError> Claim(const std::string& file, const model::Cluster& cluster);

 private:
  // Who holds a claim.
  struct Owner {
    std::string file;
    int document;
    std::string object;  // "Service default/a", "Cluster east"
  };
  using Frontend = std::tuple<std::uint32_t, std::uint16_t, model::Protocol>;
  using CidrMap = std::map<model::Cidr, Owner>;

  static std::vector<Frontend> Frontends(const model::Service& svc);
  // An entry of `index` whose CIDR overlaps `cidr`.
  static const CidrMap::value_type* Overlap(const CidrMap& index, const model::Cidr& cidr);

  std::map<model::ObjectKey, Owner> services_;
  std::map<model::ObjectKey, Owner> slices_;
  std::map<model::ObjectKey, Owner> exports_;
  std::map<Frontend, Owner> frontends_;
  std::map<std::string, Owner> clusters_;  // by name
  std::map<std::uint32_t, Owner> cluster_ids_;
  CidrMap pod_cidrs_;
};

}  // namespace meridian::sources::internal
