// ClaimIndex: the identities that accepted manifest files claim, so that a
// changed file can be checked against all other files without rescanning
// them. Internal to userspace/sources/ (used by ManifestDirectory).
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
// Accepted objects never conflict with each other, so each claim has
// exactly one owner.
class ClaimIndex {
 public:
  void Add(const std::string& file, const model::ResourceSnapshot& objects);
  // Drops the claims of `objects`, which must have been added.
  void Remove(const model::ResourceSnapshot& objects);

  // Conflicts of `objects` (the new content of `file`) with the claims of
  // other files and among themselves. Claims of `file` itself are those of
  // its previous version, which the new content would replace.
  std::vector<DecodeError> Check(const std::string& file,
                                 const model::ResourceSnapshot& objects) const;

 private:
  // Who holds a claim.
  struct Owner {
    std::string file;
    int document;
    std::string object;  // "Service default/a", "Cluster east"
  };
  using Frontend = std::tuple<std::uint32_t, std::uint16_t, model::Protocol>;
  using CidrMap = std::map<model::Cidr, Owner>;

  void AddService(const std::string& file, const model::Service& svc);
  void AddSlice(const std::string& file, const model::EndpointSlice& slice);
  void AddExport(const std::string& file, const model::ServiceExport& exp);
  void AddCluster(const std::string& file, const model::Cluster& cluster);
  static std::vector<Frontend> Frontends(const model::Service& svc);
  // An entry of `index` whose CIDR overlaps `cidr`, skipping those owned by
  // `skip_file` unless that is null.
  static const CidrMap::value_type* Overlap(const CidrMap& index, const model::Cidr& cidr,
                                            const std::string* skip_file);
  void CheckCluster(const std::string& file, const model::Cluster& cluster, const ClaimIndex& own,
                    std::vector<DecodeError>& errors) const;

  std::map<model::ObjectKey, Owner> services_;
  std::map<model::ObjectKey, Owner> slices_;
  std::map<model::ObjectKey, Owner> exports_;
  std::map<Frontend, Owner> frontends_;
  std::map<std::string, Owner> clusters_;  // by name
  std::map<std::uint32_t, Owner> cluster_ids_;
  CidrMap pod_cidrs_;
};

}  // namespace meridian::sources::internal
