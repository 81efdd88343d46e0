#include "datapath/pin_check.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "datapath/unique_fd.h"
#include "meridian/abi.h"

namespace meridian::datapath {
namespace {

std::string TypeName(std::uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_HASH:
      return "hash";
    case BPF_MAP_TYPE_ARRAY:
      return "array";
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      return "per-CPU array";
    case BPF_MAP_TYPE_PERCPU_HASH:
      return "per-CPU hash";
    case BPF_MAP_TYPE_LRU_HASH:
      return "LRU hash";
    case BPF_MAP_TYPE_LPM_TRIE:
      return "LPM trie";
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      return "hash of maps";
    default:
      return fmt::format("type {}", type);
  }
}

struct Shape {
  std::uint32_t type, key_size, value_size, max_entries, flags;
  std::string Describe() const {
    return fmt::format("{}, key {} B, value {} B, {} entries, flags {:#x}", TypeName(type),
                       key_size, value_size, max_entries, flags);
  }
  bool operator==(const Shape&) const = default;
};

}  // namespace

Result<bpf_map_info> ReadMapInfo(int fd, const std::string& path) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    return Error{fmt::format("read pinned map {}: {}", path, std::strerror(errno))};
  }
  return info;
}

Result<std::optional<PinnedMap>> OpenPinnedMap(const std::string& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<PinnedMap>();
    return Error{fmt::format("open pinned map {}: {}", path, std::strerror(errno))};
  }
  auto info = ReadMapInfo(fd.get(), path);
  if (!info.ok()) return info.error();
  return std::optional<PinnedMap>(PinnedMap{std::move(fd), *info});
}

Status CheckPinnedMaps(bpf_object* obj, const std::string& pin_dir) {
  std::vector<std::string> mismatches;
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    const std::string name = bpf_map__name(map);
    if (name.rfind("mer_", 0) != 0) continue;
    auto pinned_map = OpenPinnedMap(pin_dir + "/" + name);
    if (!pinned_map.ok()) return pinned_map.error();
    if (!*pinned_map) continue;  // not pinned yet: created at load
    const bpf_map_info& info = (*pinned_map)->info;
    const Shape pinned{info.type, info.key_size, info.value_size, info.max_entries, info.map_flags};
    const Shape wanted{bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
                       bpf_map__max_entries(map), bpf_map__map_flags(map)};
    if (!(pinned == wanted)) {
      mismatches.push_back(fmt::format("{} is pinned as ({}), this agent needs ({})", name,
                                       pinned.Describe(), wanted.Describe()));
    }
  }
  if (mismatches.empty()) return Status::Ok();
  std::string list;
  for (const auto& m : mismatches) list += (list.empty() ? "" : "; ") + m;
  return Error{fmt::format(
      "the maps pinned in {} do not match this agent (map ABI {}): {}. They were made by another "
      "Meridian version: remove {} (established flows lose their conntrack entries)",
      pin_dir, MER_ABI_VERSION, list, pin_dir)};
}

}  // namespace meridian::datapath
