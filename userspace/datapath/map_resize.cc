#include "datapath/map_resize.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "datapath/map_iter.h"
#include "datapath/pin_check.h"
#include "datapath/unique_fd.h"
#include "meridian/abi.h"

namespace meridian::datapath {
namespace {

constexpr std::string_view kSuffix = "_resized";

std::string Errno() { return std::strerror(errno); }

// The agent flag that sizes a map, for the refusal's way out.
std::string FlagOf(const std::string& name) {
  if (name == MER_MAP_NAME(services)) return "--max-services";
  if (name == MER_MAP_NAME(backends) || name == MER_MAP_NAME(flows) ||
      name == MER_MAP_NAME(traffic)) {
    return "--max-backends";
  }
  if (name == MER_MAP_NAME(ct)) return "--max-conntrack";
  if (name == MER_MAP_NAME(maglev)) return "--maglev-slots";
  if (name == MER_MAP_NAME(affinity)) return "--max-affinity";
  return "the build's capacity";
}

bool IsArray(std::uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}
bool IsLru(std::uint32_t type) {
  return type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}
bool IsPerCpu(std::uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// Bytes of one value as lookup and update take it: per-CPU maps hold one
// 8-byte aligned copy per possible CPU.
std::size_t ValueBytes(const bpf_map_info& info) {
  if (!IsPerCpu(info.type)) return info.value_size;
  const int cpus = libbpf_num_possible_cpus();
  return ((info.value_size + 7u) & ~7u) * static_cast<std::size_t>(cpus > 0 ? cpus : 1);
}

// Copies an array's first min(old, new) elements: through both maps'
// memory when both are mappable (a Maglev array holds millions of
// elements), one element at a time otherwise.
Result<std::size_t> CopyArray(int from, const bpf_map_info& f, int to, const bpf_map_info& t,
                              const std::string& name) {
  const std::uint32_t n = std::min(f.max_entries, t.max_entries);
  if ((f.map_flags & BPF_F_MMAPABLE) && (t.map_flags & BPF_F_MMAPABLE) && !IsPerCpu(f.type)) {
    const std::size_t stride = (f.value_size + 7u) & ~7u;
    const std::size_t from_len = stride * f.max_entries, to_len = stride * t.max_entries;
    void* src = mmap(nullptr, from_len, PROT_READ, MAP_SHARED, from, 0);
    if (src == MAP_FAILED) return Error{fmt::format("map {} to copy it: {}", name, Errno())};
    void* dst = mmap(nullptr, to_len, PROT_READ | PROT_WRITE, MAP_SHARED, to, 0);
    if (dst == MAP_FAILED) {
      const std::string err = Errno();
      munmap(src, from_len);
      return Error{fmt::format("map the new {} to copy into it: {}", name, err)};
    }
    std::memcpy(dst, src, stride * n);
    munmap(dst, to_len);
    munmap(src, from_len);
    return std::size_t{n};
  }
  std::vector<std::uint8_t> value(ValueBytes(f));
  for (std::uint32_t i = 0; i < n; ++i) {
    if (bpf_map_lookup_elem(from, &i, value.data()) != 0 ||
        bpf_map_update_elem(to, &i, value.data(), BPF_ANY) != 0) {
      return Error{fmt::format("copy element {} of {}: {}", i, name, Errno())};
    }
  }
  return std::size_t{n};
}

// Copies every entry of a hash map (or trie) the new map lacks. A full LRU
// map evicts its coldest entries to take more; a map the agent writes that
// would not fit was refused before the set-aside; the counters the
// programs write (per (frontend, backend) pair) keep what fits.
Result<std::size_t> CopyHash(int from, const bpf_map_info& f, int to, const std::string& name) {
  std::vector<std::uint8_t> keys;
  if (int err = CollectMapKeyBytes(from, f.key_size, keys); err != 0) {
    return Error{fmt::format("walk the old {}: {}", name, std::strerror(err))};
  }
  std::vector<std::uint8_t> value(ValueBytes(f));
  std::size_t copied = 0;
  for (std::size_t off = 0; off + f.key_size <= keys.size(); off += f.key_size) {
    const std::uint8_t* key = keys.data() + off;
    if (bpf_map_lookup_elem(from, key, value.data()) != 0) continue;  // gone meanwhile
    if (bpf_map_update_elem(to, key, value.data(), BPF_NOEXIST) == 0) {
      ++copied;
    } else if (errno == E2BIG && WrittenByPrograms(name)) {
      break;  // full: the pairs not copied start again from zero
    } else if (errno != EEXIST) {
      return Error{fmt::format("copy an entry of the old {} into the new one: {}", name, Errno())};
    }
  }
  return copied;
}

// The <name>_resized pins under `pin_dir`, by map name.
std::vector<std::string> WaitingMaps(const std::string& pin_dir) {
  std::vector<std::string> names;
  DIR* d = opendir(pin_dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* e = readdir(d)) {
    const std::string_view n = e->d_name;
    if (n.size() > kSuffix.size() && n.rfind("mer_", 0) == 0 &&
        n.substr(n.size() - kSuffix.size()) == kSuffix) {
      names.emplace_back(n.substr(0, n.size() - kSuffix.size()));
    }
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::string MapResize::Describe() const {
  return fmt::format("{}: {} -> {} entries, flags {:#x} -> {:#x}", name, from_entries, to_entries,
                     from_flags, to_flags);
}

std::string ResizedPin(const std::string& pin_dir, const std::string& name) {
  return pin_dir + "/" + name + std::string(kSuffix);
}

bool WrittenByPrograms(const std::string& name) {
  static const std::set<std::string> kWritten = {
      MER_MAP_NAME(ct),    MER_MAP_NAME(affinity), MER_MAP_NAME(sock_rev),    MER_MAP_NAME(flows),
      MER_MAP_NAME(stats), MER_MAP_NAME(traffic),  MER_MAP_NAME(tunnel_stats)};
  return kWritten.count(name) != 0;
}

Result<std::vector<MapResize>> SetAsideResizedMaps(bpf_object* obj, const std::string& pin_dir) {
  std::vector<MapResize> resizes;
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    const std::string name = bpf_map__name(map);
    if (name.rfind("mer_", 0) != 0) continue;
    const std::string path = pin_dir + "/" + name;
    auto pinned = OpenPinnedMap(path);
    if (!pinned.ok()) return pinned.error();
    if (!*pinned) continue;  // not pinned yet: created at load
    const UniqueFd& fd = (*pinned)->fd;
    const bpf_map_info* info = &(*pinned)->info;
    const MapResize r{name, info->max_entries, bpf_map__max_entries(map), info->map_flags,
                      bpf_map__map_flags(map)};
    if (info->type != bpf_map__type(map) || info->key_size != bpf_map__key_size(map) ||
        info->value_size != bpf_map__value_size(map) ||
        (r.from_entries == r.to_entries && r.from_flags == r.to_flags)) {
      continue;  // the same map, or one the pin check names
    }
    const std::string refused_tail = fmt::format(
        "; start with {} of at least {}, or remove {} (established flows lose their conntrack "
        "entries)",
        FlagOf(name), name == MER_MAP_NAME(maglev) ? 2ull * r.from_entries : r.from_entries,
        pin_dir);
    if (IsArray(info->type) && r.to_entries < r.from_entries) {
      return Error{fmt::format(
          "{} is pinned with {} elements and this agent would make it {}: the elements past the "
          "new end may be in use{}",
          name, r.from_entries, r.to_entries, refused_tail)};
    }
    if (!IsArray(info->type) && !IsLru(info->type) && !WrittenByPrograms(name) &&
        r.to_entries < r.from_entries) {
      const std::size_t held = MapKeyBytes(fd.get(), info->key_size).size() / info->key_size;
      if (held > r.to_entries) {
        return Error{fmt::format(
            "{} is pinned holding {} entries and this agent would make it {} entries: they would "
            "not fit{}",
            name, held, r.to_entries, refused_tail)};
      }
    }
    if (access(ResizedPin(pin_dir, name).c_str(), F_OK) == 0) {
      return Error{fmt::format(
          "{} must be recreated ({}), but {} from an earlier resize still waits to be copied: "
          "start once with the sizes that made {}, or remove {} (established flows lose their "
          "conntrack entries)",
          name, r.Describe(), ResizedPin(pin_dir, name), path, pin_dir)};
    }
    resizes.push_back(r);
  }
  std::vector<MapResize> done;
  for (const MapResize& r : resizes) {
    const std::string path = pin_dir + "/" + r.name, aside = ResizedPin(pin_dir, r.name);
    if (std::rename(path.c_str(), aside.c_str()) != 0) {
      const std::string err = Errno();
      RestoreResizedMaps(pin_dir, done);
      return Error{fmt::format("move {} to {} to recreate it: {}", path, aside, err)};
    }
    done.push_back(r);
  }
  return done;
}

void RestoreResizedMaps(const std::string& pin_dir, const std::vector<MapResize>& set_aside) {
  for (const MapResize& r : set_aside) {
    std::rename(ResizedPin(pin_dir, r.name).c_str(), (pin_dir + "/" + r.name).c_str());
  }
}

Result<std::size_t> CopyResizedMaps(const bpf_object* obj, const std::string& pin_dir,
                                    CopyPass pass) {
  std::size_t copied = 0;
  for (const std::string& name : WaitingMaps(pin_dir)) {
    const bool programs = WrittenByPrograms(name);
    if (pass == CopyPass::kAfterAttach && !programs) continue;
    const std::string aside = ResizedPin(pin_dir, name);
    const bpf_map* map = bpf_object__find_map_by_name(obj, name.c_str());
    if (map == nullptr) {
      return Error{
          fmt::format("{} waits to be copied into {}, which this agent lacks", aside, name)};
    }
    UniqueFd from(bpf_obj_get(aside.c_str()));
    if (!from.valid()) return Error{fmt::format("open {}: {}", aside, Errno())};
    auto f = ReadMapInfo(from.get(), aside);
    if (!f.ok()) return f.error();
    const int to = bpf_map__fd(map);
    auto t = ReadMapInfo(to, name);
    if (!t.ok()) return t.error();
    if (f->type != t->type || f->key_size != t->key_size || f->value_size != t->value_size) {
      return Error{fmt::format("{} is not of the shape of {}: not copied", aside, name)};
    }
    // A ring buffer (the monitor's events) holds nothing worth keeping.
    auto n = f->type == BPF_MAP_TYPE_RINGBUF ? Result<std::size_t>(std::size_t{0})
             : IsArray(f->type)              ? CopyArray(from.get(), *f, to, *t, name)
                                             : CopyHash(from.get(), *f, to, name);
    if (!n.ok()) return n.error();
    copied += *n;
    const bool finished = pass == CopyPass::kAfterAttach || !programs;
    if (finished && unlink(aside.c_str()) != 0) {
      return Error{fmt::format("remove {}: {}", aside, Errno())};
    }
  }
  return copied;
}

bool ResizedMapsPending(const std::string& pin_dir) {
  for (const std::string& name : WaitingMaps(pin_dir)) {
    if (WrittenByPrograms(name)) return true;
  }
  return false;
}

}  // namespace meridian::datapath
