#include "datapath/ct_migration.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "datapath/map_iter.h"
#include "datapath/pin_check.h"
#include "datapath/unique_fd.h"

namespace meridian::datapath {
namespace {

std::uint32_t Or(std::uint32_t configured, std::uint32_t dflt) {
  return configured ? configured : dflt;
}

}  // namespace

// Not "mer_ct.abi8": the BPF filesystem refuses names with a dot.
std::string OldCtPin(const std::string& pin_dir) { return pin_dir + "/" MER_MAP_NAME(ct) "_abi8"; }

Result<bool> SetAsideAbi8Ct(const std::string& pin_dir, const bpf_map* want) {
  const std::string path = pin_dir + "/" MER_MAP_NAME(ct);
  auto pinned = OpenPinnedMap(path);
  if (!pinned.ok()) return pinned.error();
  if (!*pinned) return false;
  const bpf_map_info& info = (*pinned)->info;
  if (info.value_size != kCtEntrySizeAbi8 || info.type != bpf_map__type(want) ||
      info.key_size != bpf_map__key_size(want) || info.max_entries != bpf_map__max_entries(want) ||
      info.map_flags != bpf_map__map_flags(want)) {
    return false;
  }
  const std::string old = OldCtPin(pin_dir);
  if (std::rename(path.c_str(), old.c_str()) != 0) {
    return Error{
        fmt::format("move the map ABI 8 conntrack {} to {}: {}", path, old, std::strerror(errno))};
  }
  return true;
}

mer_ct_entry ConvertAbi8CtEntry(const std::uint8_t* old, std::uint8_t proto,
                                const mer_ct_timeouts& t, std::uint32_t now_s) {
  static_assert(offsetof(mer_ct_entry, expires_s) == kCtEntrySizeAbi8);
  mer_ct_entry e{};
  std::memcpy(&e, old, kCtEntrySizeAbi8);
  if (proto == IPPROTO_TCP) {
    e.flags |= MER_CT_F_SEEN_NON_SYN;
    e.expires_s = now_s + Or(t.tcp_established_s, MER_CT_DEFAULT_TCP_ESTABLISHED_S);
  } else {
    e.expires_s = now_s + Or(t.udp_reply_s, MER_CT_DEFAULT_UDP_REPLY_S);
  }
  return e;
}

Result<std::size_t> CopyAbi8Ct(const std::string& pin_dir, int ct_fd,
                               const mer_ct_timeouts& timeouts, std::uint32_t now_s, bool finish) {
  const std::string path = OldCtPin(pin_dir);
  UniqueFd old(bpf_obj_get(path.c_str()));
  if (!old.valid()) {
    if (errno == ENOENT) return std::size_t{0};
    return Error{fmt::format("open the map ABI 8 conntrack {}: {}", path, std::strerror(errno))};
  }
  std::size_t copied = 0;
  std::vector<std::uint8_t> value(kCtEntrySizeAbi8);
  for (const mer_ct_key& key : MapKeys<mer_ct_key>(old.get())) {
    if (bpf_map_lookup_elem(old.get(), &key, value.data()) != 0) continue;  // gone meanwhile
    const mer_ct_entry entry = ConvertAbi8CtEntry(value.data(), key.proto, timeouts, now_s);
    if (bpf_map_update_elem(ct_fd, &key, &entry, BPF_NOEXIST) == 0) {
      ++copied;
    } else if (errno != EEXIST) {
      return Error{fmt::format("copy the map ABI 8 conntrack {} into {}: {}", path,
                               MER_MAP_NAME(ct), std::strerror(errno))};
    }
  }
  if (finish && unlink(path.c_str()) != 0) {
    return Error{fmt::format("remove {}: {}", path, std::strerror(errno))};
  }
  return copied;
}

}  // namespace meridian::datapath
