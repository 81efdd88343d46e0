// The scheduler's manifest directory (meridian-controller
// --scheduler-manifests): the ClusterSet's PropagationPolicies, workloads
// and Karmada Cluster objects, as a Karmada control plane holds them.
#pragma once

#include <string>
#include <vector>

#include "sources/scheduling_decoder.h"

namespace meridian::sources {

struct SchedulingDirectory {
  SchedulingManifests manifests;    // every document that decoded
  std::vector<std::string> errors;  // one per file or document that did not
};

// Every *.yaml, *.yml and *.json file of `dir` (not recursive), in name
// order. A missing directory is one error; a bad document is one error
// and the rest are kept.
SchedulingDirectory ReadSchedulingDirectory(const std::string& dir);

}  // namespace meridian::sources
