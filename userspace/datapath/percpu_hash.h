// Reading a per-CPU hash map (mer_flows, mer_tunnel_stats): each entry's
// values on every possible CPU, added up by the caller's `add`.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "common/result.h"
#include "datapath/map_iter.h"

namespace meridian::datapath {

// Every (key, sum over CPUs) of the map named `name` (for errors);
// entries deleted during the read are skipped.
template <class K, class V, class Add>
Result<std::vector<std::pair<K, V>>> ReadPerCpuHash(int fd, const char* name, Add add) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error{fmt::format("count possible CPUs: {}", std::strerror(-cpus))};
  std::vector<K> keys;
  if (int err = CollectMapKeys(fd, keys); err != 0) {
    return Error{fmt::format("walk {}: {}", name, std::strerror(err))};
  }
  std::vector<V> per_cpu(static_cast<std::size_t>(cpus));
  std::vector<std::pair<K, V>> out;
  out.reserve(keys.size());
  for (const K& k : keys) {
    if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) {
      if (errno == ENOENT) continue;  // deleted since the walk
      return Error{fmt::format("read {}: {}", name, std::strerror(errno))};
    }
    V sum{};
    for (const V& v : per_cpu) add(sum, v);
    out.emplace_back(k, sum);
  }
  return out;
}

}  // namespace meridian::datapath
