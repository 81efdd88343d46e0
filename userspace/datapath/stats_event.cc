#include "datapath/stats_event.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace meridian::datapath {

Status AddStatEvents(int stats_fd, mer_stat stat, std::uint64_t packets) {
  if (packets == 0) return Status::Ok();
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error{"mer_stats: cannot count the possible CPUs"};
  std::vector<mer_stat_value> values(static_cast<std::size_t>(cpus));
  const std::uint32_t key = stat;
  if (bpf_map_lookup_elem(stats_fd, &key, values.data()) != 0) {
    return Error{fmt::format("mer_stats: read counter {}: {}", key, std::strerror(errno))};
  }
  // Only the agent writes these slots (the datapath never counts them),
  // so read-modify-write loses nothing.
  values[0].packets += packets;
  if (bpf_map_update_elem(stats_fd, &key, values.data(), BPF_EXIST) != 0) {
    return Error{fmt::format("mer_stats: write counter {}: {}", key, std::strerror(errno))};
  }
  return Status::Ok();
}

}  // namespace meridian::datapath
