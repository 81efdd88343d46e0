// Conntrack across the upgrade that gave mer_ct_entry its expiry (map ABI
// 8 to 9): established flows keep their translation.
//
// ABI 8's entry is ABI 9's first 40 bytes. Before the new programs load,
// a pinned ABI 8 mer_ct (otherwise of the shape this agent wants) is
// renamed to mer_ct_abi8 in the pin directory, so that the load creates
// the new map; its entries are then copied over, converted, twice: once
// right after the load, and once more after the new programs replaced the
// old ones on every interface (the old programs kept writing the old map
// until then), after which the old pin is removed. An agent killed in
// between finds mer_ct_abi8 at its next start and finishes the copy.
#pragma once

#include <bpf/libbpf.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "meridian/abi.h"

namespace meridian::datapath {

// The size of ABI 8's mer_ct_entry.
constexpr std::uint32_t kCtEntrySizeAbi8 = 40;

// Where a pinned ABI 8 mer_ct waits while its entries are copied.
std::string OldCtPin(const std::string& pin_dir);

// Before load: renames <pin_dir>/mer_ct to OldCtPin when it is ABI 8's and
// has the type, key size, size and flags of `want` (the map about to be
// loaded). Returns true when it did. Any other shape is left for the pin
// check to refuse.
Result<bool> SetAsideAbi8Ct(const std::string& pin_dir, const bpf_map* want);

// The ABI 9 entry of an ABI 8 entry (its 40 bytes at `old`) of protocol
// `proto`: nothing tells how long ago the flow was used, so it is taken
// as just used and established (TCP), or answered (UDP): the longest
// lifetimes, so that the collector never removes a live flow for it.
mer_ct_entry ConvertAbi8CtEntry(const std::uint8_t* old, std::uint8_t proto,
                                const mer_ct_timeouts& timeouts, std::uint32_t now_s);

// Copies OldCtPin's entries into `ct_fd`, converted; an entry the new map
// already has is kept (BPF_NOEXIST). With `finish`, the old pin is then
// removed. Returns how many entries were copied (0 when there is no old
// map).
Result<std::size_t> CopyAbi8Ct(const std::string& pin_dir, int ct_fd,
                               const mer_ct_timeouts& timeouts, std::uint32_t now_s, bool finish);

}  // namespace meridian::datapath
