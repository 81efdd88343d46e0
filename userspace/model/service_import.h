// ServiceImport: the ClusterSet-wide view of one exported Service, merged
// from every cluster's ExportedService by the MCS rules (KEP-1645).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/exported_service.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/propagation_decision.h"

namespace meridian::model {

// The KEP's Conflict condition on one constituent export.
struct ExportConflict {
  std::string cluster;  // the export that lost
  std::string reason;   // PortConflict, TypeConflict, SessionAffinityConflict
  std::string message;

  // "<cluster>: <Reason>: <message>": how agents and controllers report it.
  std::string ToString() const { return cluster + ": " + reason + ": " + message; }
  bool operator==(const ExportConflict&) const = default;
};

struct ServiceImport {
  ObjectKey key;
  ImportType type = ImportType::kClusterSetIP;
  std::vector<ExportedPort> ports;  // the union, sorted by name then protocol+port
  SessionAffinity session_affinity = SessionAffinity::kNone;
  // Allocated in the registry; nullopt for headless imports and until allocated.
  std::optional<Ipv4Address> clusterset_ip;
  // Every constituent export, oldest first (creation time, then cluster name).
  std::vector<ExportedService> exports;
  std::vector<ExportConflict> conflicts;
  // The elected scheduler's decision for this name, if any: weights its
  // traffic across clusters (propagation/traffic_weights.h).
  std::optional<PropagationDecision> decision;

  std::vector<std::string> Clusters() const {
    std::vector<std::string> out;
    for (const auto& e : exports) out.push_back(e.cluster);
    return out;
  }
  bool operator==(const ServiceImport&) const = default;
};

}  // namespace meridian::model
