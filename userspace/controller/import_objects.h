// The Kubernetes objects that show one ServiceImport of the ClusterSet in
// one cluster (KEP-1645): the ServiceImport itself (spec.type, ports, ips =
// the ClusterSet IP, sessionAffinity; status.clusters) and the MCS
// EndpointSlices, one per exporting cluster and set of ports (at most
// kEndpointsPerSlice endpoints each), labelled with the import's name and
// the source cluster and owned by the ServiceImport, so that Kubernetes'
// garbage collector removes them with it. Pure: the writer
// (import_writer.h) applies them.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/service_import.h"

namespace meridian::controller {

// The labels that mark what the controller manages; it lists by them at
// start to find what a previous run wrote, and deletes nothing else.
inline constexpr char kManagedByLabel[] = "app.kubernetes.io/managed-by";
inline constexpr char kManagedByValue[] = "meridian-controller";
// EndpointSlices: the label the EndpointSlice controller and kube-proxy
// use to tell slice owners apart (ours are not the Service's slices).
inline constexpr char kSliceManagedByLabel[] = "endpointslice.kubernetes.io/managed-by";
inline constexpr char kSliceManagedByValue[] = "meridian-controller.meridian.io";
inline constexpr char kMcsServiceNameLabel[] = "multicluster.kubernetes.io/service-name";
inline constexpr char kMcsSourceClusterLabel[] = "multicluster.kubernetes.io/source-cluster";
// kube-controller-manager's default --max-endpoints-per-slice.
inline constexpr std::size_t kEndpointsPerSlice = 100;

// The ServiceImport's metadata and spec, for a server-side apply.
nlohmann::json ServiceImportObject(const model::ServiceImport& imp);
// Its status subresource: the exporting clusters, oldest export first.
nlohmann::json ServiceImportStatus(const model::ServiceImport& imp);

// The EndpointSlices of `imp`, sorted by name, each owned by the
// ServiceImport whose uid is `owner_uid`. Endpoints that are neither ready
// nor serving are still listed, with their conditions, as the
// EndpointSlice controller does.
std::vector<nlohmann::json> ImportEndpointSlices(const model::ServiceImport& imp,
                                                 const std::string& owner_uid);

// The slice name for (service, cluster, ports) and chunk `index`: stable
// while the ports stay, unique across services and clusters whose names
// share dashes ("a-b"+"c" and "a"+"b-c").
std::string ImportSliceName(const model::ObjectKey& service, const std::string& cluster,
                            const std::string& ports_key, std::size_t index);

}  // namespace meridian::controller
