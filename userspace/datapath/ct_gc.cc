#include "datapath/ct_gc.h"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace meridian::datapath {
namespace {

bool Idle(int ct_fd, const mer_ct_key& key, std::uint32_t now_s) {
  mer_ct_entry entry{};
  if (bpf_map_lookup_elem(ct_fd, &key, &entry) != 0) return true;  // gone
  return CtEntryIdle(entry, now_s);
}

}  // namespace

std::uint32_t MonotonicSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint32_t>(ts.tv_sec);
}

bool CtEntryIdle(const mer_ct_entry& entry, std::uint32_t now_s) {
  // Serial-number order: the clock's seconds wrap after 136 years of
  // uptime, and an expiry is never more than days ahead.
  return static_cast<std::int32_t>(now_s - entry.expires_s) > 0;
}

std::optional<mer_ct_key> CtPartnerKey(const mer_ct_key& key, const mer_ct_entry& entry) {
  if (entry.flags & (MER_CT_F_TUNNEL_FLOW | MER_CT_F_DSR)) return std::nullopt;
  mer_ct_key partner{};
  partner.proto = key.proto;
  if (key.dir == MER_CT_FORWARD) {
    // As mer_ct_nat_reply_key: backend -> the translated source.
    partner.saddr_be = entry.backend_addr_be;
    partner.daddr_be = entry.nat_addr_be;
    partner.sport_be = entry.backend_port_be;
    partner.dport_be = entry.nat_port_be;
    partner.dir = MER_CT_REPLY;
  } else {
    // The client's own tuple to the frontend.
    partner.saddr_be = entry.nat_addr_be;
    partner.daddr_be = entry.vip_be;
    partner.sport_be = entry.nat_port_be;
    partner.dport_be = entry.vport_be;
    partner.dir = MER_CT_FORWARD;
  }
  return partner;
}

Result<CtGcResult> CollectIdleFlows(int ct_fd, std::uint32_t now_s, std::uint32_t batch) {
  CtGcResult result;
  std::vector<mer_ct_key> keys(batch);
  std::vector<mer_ct_entry> values(batch);
  std::vector<mer_ct_key> idle;
  // The batch cursor: an opaque bucket position (a hash map's is 4 bytes).
  std::uint64_t in = 0, out = 0;
  bool first = true;
  for (bool done = false; !done;) {
    std::uint32_t count = batch;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int rc = bpf_map_lookup_batch(ct_fd, first ? nullptr : &in, &out, keys.data(), values.data(),
                                  &count, &opts);
    first = false;
    in = out;
    if (rc != 0 && errno != ENOENT) {
      return Error{fmt::format("mer_ct: read a batch of entries: {}", std::strerror(errno))};
    }
    done = rc != 0;  // ENOENT: this was the last batch
    result.scanned += count;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (!CtEntryIdle(values[i], now_s)) continue;
      auto partner = CtPartnerKey(keys[i], values[i]);
      if (partner && !Idle(ct_fd, *partner, now_s)) {
        ++result.kept_by_partner;
        continue;
      }
      idle.push_back(keys[i]);
    }
    // Deleted after the batch is read: the cursor is a bucket, and the
    // entries of the batch are all behind it.
    for (const mer_ct_key& key : idle) {
      if (!Idle(ct_fd, key, now_s)) continue;  // a packet came meanwhile
      if (bpf_map_delete_elem(ct_fd, &key) == 0) {
        ++result.deleted;
      } else if (errno != ENOENT) {
        return Error{fmt::format("mer_ct: delete an idle entry: {}", std::strerror(errno))};
      }
    }
    idle.clear();
  }
  return result;
}

}  // namespace meridian::datapath
