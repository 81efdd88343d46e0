#include "datapath/affinity_purge.h"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "datapath/map_iter.h"
#include "meridian/abi.h"

namespace meridian::datapath {

std::set<ServiceBackend> RemovedAffinityEndpoints(const desired::DesiredState& before,
                                                  const desired::DesiredState& after,
                                                  const MapWriter& writer) {
  return RemovedEndpoints(before, after, writer,
                          [](const desired::Frontend& fe) { return fe.affinity_timeout_s > 0; });
}

Result<std::size_t> PurgeAffinity(int affinity_fd, const std::set<ServiceBackend>& pairs) {
  std::size_t deleted = 0;
  if (pairs.empty() || affinity_fd < 0) return deleted;
  for (const mer_affinity_key& key : MapKeys<mer_affinity_key>(affinity_fd)) {
    mer_affinity value{};
    if (bpf_map_lookup_elem(affinity_fd, &key, &value) != 0) continue;  // gone meanwhile
    if (!pairs.count({key.service_id, value.backend_id})) continue;
    if (bpf_map_delete_elem(affinity_fd, &key) == 0) {
      ++deleted;
    } else if (errno != ENOENT) {
      return Error{fmt::format("mer_affinity: delete the affinity of a removed endpoint: {}",
                               std::strerror(errno))};
    }
  }
  return deleted;
}

}  // namespace meridian::datapath
