// The conntrack collector: deletes the entries of flows that have been
// idle longer than their lifetime (meridian/ct_lifetime.h sets each
// entry's expiry; the datapath never deletes for age).
//
// A flow has two entries on a node (forward and reply), kept warm by the
// packets of their own direction. An entry is deleted only when it is
// idle and so is its partner (or the partner is gone): a flow whose
// server streams while the client is silent is alive, and the client's
// next packet must still find its translation. Entries with no partner on
// this node (a tunnelled pod flow's, DSR's) stand alone.
//
// The agent runs it on a timer (--ct-gc-interval-ms). It walks the map in
// batches, so its memory is one batch, and it costs one delete per idle
// entry. A packet that arrives between the check and the delete of a flow
// idle for its whole lifetime starts the flow over (Maglev chooses the
// same backend while the backends are the same), as Cilium's collector
// allows too; the entry is checked again right before its delete to make
// the window a few microseconds wide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/result.h"
#include "meridian/abi.h"

namespace meridian::datapath {

struct CtGcResult {
  std::size_t scanned = 0;          // entries seen
  std::size_t deleted = 0;          // idle entries deleted
  std::size_t kept_by_partner = 0;  // idle, but the flow's other direction is not
};

// Seconds of CLOCK_MONOTONIC: the clock of mer_ct_entry.expires_s.
std::uint32_t MonotonicSeconds();

// Has the entry outlived its expiry at `now_s`?
bool CtEntryIdle(const mer_ct_entry& entry, std::uint32_t now_s);

// The key of the flow's other entry on this node, if it has one.
std::optional<mer_ct_key> CtPartnerKey(const mer_ct_key& key, const mer_ct_entry& entry);

// One collection over mer_ct (`ct_fd`) at `now_s`, reading `batch`
// entries per system call.
Result<CtGcResult> CollectIdleFlows(int ct_fd, std::uint32_t now_s, std::uint32_t batch = 4096);

}  // namespace meridian::datapath
