#include "datapath/stats_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace meridian::datapath {

const std::vector<std::string>& StatNames() {
#define MER_STAT_NAME_(name, str) str,
  static const std::vector<std::string> names = {MER_STATS(MER_STAT_NAME_)};
#undef MER_STAT_NAME_
  return names;
}

Result<std::vector<Counter>> ReadStats(int stats_map_fd) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error{fmt::format("count possible CPUs: {}", std::strerror(-cpus))};
  std::vector<mer_stat_value> per_cpu(cpus);
  std::vector<Counter> out;
  const auto& names = StatNames();
  for (std::uint32_t i = 0; i < MER_STAT_MAX; ++i) {
    if (bpf_map_lookup_elem(stats_map_fd, &i, per_cpu.data()) != 0) {
      return Error{fmt::format("read counter {}: {}", names[i], std::strerror(errno))};
    }
    Counter c{names[i], 0, 0};
    for (const auto& v : per_cpu) {
      c.packets += v.packets;
      c.bytes += v.bytes;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace meridian::datapath
