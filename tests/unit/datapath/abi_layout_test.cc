// The ABI header is compiled by clang for BPF and by g++ for the agent. The
// static_asserts pin the C++ layout; the BTF test compares it with the
// layout clang actually produced in the BPF object, member by member.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstddef>
#include <set>
#include <string>

#include "datapath/stats_reader.h"
#include "meridian/abi.h"

static_assert(sizeof(mer_service_key) == 8);
static_assert(offsetof(mer_service_key, port_be) == 4);
static_assert(offsetof(mer_service_key, proto) == 6);
static_assert(sizeof(mer_service) == 24);
static_assert(offsetof(mer_service, maglev_offset) == 16);
static_assert(sizeof(mer_maglev_pair) == 8);
static_assert(sizeof(mer_backend) == 16);
static_assert(offsetof(mer_backend, cluster_id) == 8);
static_assert(sizeof(mer_ct_key) == 16);
static_assert(offsetof(mer_ct_key, proto) == 12);
static_assert(offsetof(mer_ct_key, dir) == 13);
static_assert(sizeof(mer_ct_entry) == 48);
static_assert(offsetof(mer_ct_entry, expires_s) == 40);
static_assert(offsetof(mer_ct_entry, backend_addr_be) == 24);
static_assert(offsetof(mer_ct_entry, nat_addr_be) == 32);
static_assert(offsetof(mer_ct_entry, created_ns) == 16);
static_assert(sizeof(mer_stat_value) == 16);
static_assert(sizeof(mer_sock_rev_key) == 16);
static_assert(offsetof(mer_sock_rev_key, backend_be) == 8);
static_assert(offsetof(mer_sock_rev_key, proto) == 14);
static_assert(sizeof(mer_sock_rev) == 8);
static_assert(sizeof(mer_flow_key) == 8);
static_assert(offsetof(mer_flow_key, backend_id) == 4);
static_assert(sizeof(mer_flow_count) == 8);
static_assert(sizeof(mer_traffic) == 32);
static_assert(offsetof(mer_traffic, bytes) == 16);
static_assert(sizeof(mer_tunnel_stat_key) == 8);
static_assert(sizeof(mer_monitor_config) == 16);
static_assert(sizeof(mer_event) == 56);
static_assert(offsetof(mer_event, service_id) == 32);
static_assert(offsetof(mer_event, cluster_id) == 48);

namespace {

struct Member {
  const char* name;
  std::size_t offset;
};

void ExpectBtfLayout(const btf* b, const char* type, std::size_t size,
                     std::initializer_list<Member> members) {
  int id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
  ASSERT_GT(id, 0) << "struct " << type << " missing from BPF object BTF";
  const btf_type* t = btf__type_by_id(b, id);
  EXPECT_EQ(t->size, size) << type;
  const btf_member* m = btf_members(t);
  for (const auto& want : members) {
    bool found = false;
    for (int i = 0; i < btf_vlen(t); ++i) {
      if (std::string(btf__name_by_offset(b, m[i].name_off)) == want.name) {
        EXPECT_EQ(btf_member_bit_offset(t, i) / 8, want.offset) << type << "." << want.name;
        found = true;
      }
    }
    EXPECT_TRUE(found) << type << "." << want.name;
  }
}

#define M(type, field) \
  Member { #field, offsetof(type, field) }

TEST(AbiLayout, BpfObjectMatchesCxxLayout) {
  btf* b = btf__parse_elf(MERIDIAN_LXC_BPF_OBJECT, nullptr);
  ASSERT_NE(b, nullptr) << "cannot read BTF of " << MERIDIAN_LXC_BPF_OBJECT;
  ExpectBtfLayout(
      b, "mer_service_key", sizeof(mer_service_key),
      {M(mer_service_key, vip_be), M(mer_service_key, port_be), M(mer_service_key, proto)});
  ExpectBtfLayout(b, "mer_service", sizeof(mer_service),
                  {M(mer_service, id), M(mer_service, backend_count), M(mer_service, maglev_size),
                   M(mer_service, flags), M(mer_service, maglev_offset)});
  ExpectBtfLayout(b, "mer_maglev_pair", sizeof(mer_maglev_pair), {M(mer_maglev_pair, backend_id)});
  ExpectBtfLayout(b, "mer_backend", sizeof(mer_backend),
                  {M(mer_backend, addr_be), M(mer_backend, port_be), M(mer_backend, proto),
                   M(mer_backend, flags), M(mer_backend, cluster_id)});
  ExpectBtfLayout(b, "mer_ct_key", sizeof(mer_ct_key),
                  {M(mer_ct_key, saddr_be), M(mer_ct_key, daddr_be), M(mer_ct_key, sport_be),
                   M(mer_ct_key, dport_be), M(mer_ct_key, proto), M(mer_ct_key, dir)});
  ExpectBtfLayout(
      b, "mer_ct_entry", sizeof(mer_ct_entry),
      {M(mer_ct_entry, backend_id), M(mer_ct_entry, service_id), M(mer_ct_entry, vip_be),
       M(mer_ct_entry, vport_be), M(mer_ct_entry, created_ns), M(mer_ct_entry, backend_addr_be),
       M(mer_ct_entry, backend_port_be), M(mer_ct_entry, nat_port_be), M(mer_ct_entry, nat_addr_be),
       M(mer_ct_entry, dsr_node_be), M(mer_ct_entry, expires_s)});
  ExpectBtfLayout(b, "mer_stat_value", sizeof(mer_stat_value),
                  {M(mer_stat_value, packets), M(mer_stat_value, bytes)});
  ExpectBtfLayout(b, "mer_sock_rev_key", sizeof(mer_sock_rev_key),
                  {M(mer_sock_rev_key, cookie), M(mer_sock_rev_key, backend_be),
                   M(mer_sock_rev_key, backend_port_be), M(mer_sock_rev_key, proto)});
  ExpectBtfLayout(b, "mer_sock_rev", sizeof(mer_sock_rev),
                  {M(mer_sock_rev, vip_be), M(mer_sock_rev, vport_be)});
  ExpectBtfLayout(b, "mer_traffic", sizeof(mer_traffic),
                  {M(mer_traffic, packets), M(mer_traffic, bytes)});
  ExpectBtfLayout(b, "mer_monitor_config", sizeof(mer_monitor_config),
                  {M(mer_monitor_config, until_ns), M(mer_monitor_config, sample_every),
                   M(mer_monitor_config, types)});
  // struct mer_event is not in the objects' BTF (no map or global has
  // it): the static_asserts above fix its layout.
  btf__free(b);
}

// Every map of MER_MAPS is in both BPF objects with the type, flags,
// default size and key and value sizes of the list, as C++ lays the key and
// value out; and neither object has a mer_* map the list lacks (the agent
// would neither pin-check nor open it).
TEST(AbiLayout, BothBpfObjectsHaveExactlyTheListedMaps) {
  for (const char* path : {MERIDIAN_LXC_BPF_OBJECT, MERIDIAN_UPLINK_BPF_OBJECT}) {
    bpf_object* obj = bpf_object__open_file(path, nullptr);
    ASSERT_NE(obj, nullptr) << path;
    std::set<std::string> listed;
#define MER_EXPECT_MAP(name, type, max_entries, flags, key, value)                            \
  {                                                                                           \
    listed.insert(MER_MAP_NAME(name));                                                        \
    const bpf_map* map = bpf_object__find_map_by_name(obj, MER_MAP_NAME(name));               \
    if (map == nullptr) {                                                                     \
      ADD_FAILURE() << path << ": no map " MER_MAP_NAME(name);                                \
    } else {                                                                                  \
      EXPECT_EQ(bpf_map__type(map), type) << path << " " MER_MAP_NAME(name);                  \
      EXPECT_EQ(bpf_map__max_entries(map), static_cast<unsigned>(max_entries))                \
          << MER_MAP_NAME(name);                                                              \
      EXPECT_EQ(bpf_map__map_flags(map), static_cast<unsigned>(flags)) << MER_MAP_NAME(name); \
      EXPECT_EQ(bpf_map__key_size(map), sizeof(key)) << MER_MAP_NAME(name);                   \
      EXPECT_EQ(bpf_map__value_size(map), sizeof(value)) << MER_MAP_NAME(name);               \
    }                                                                                         \
  }
    MER_MAPS(MER_EXPECT_MAP)
#undef MER_EXPECT_MAP
    // The monitor's ring, outside the list (a ring buffer has no key or
    // value): opened by MapSetOf and PinnedMaps by name.
    listed.insert("mer_events");
    const bpf_map* events = bpf_object__find_map_by_name(obj, "mer_events");
    ASSERT_NE(events, nullptr) << path;
    EXPECT_EQ(bpf_map__type(events), BPF_MAP_TYPE_RINGBUF);
    EXPECT_EQ(bpf_map__max_entries(events), MER_MONITOR_RING_BYTES);
    const bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      const std::string name = bpf_map__name(map);
      if (name.rfind("mer_", 0) == 0) {
        EXPECT_TRUE(listed.count(name)) << path << ": " << name;
      }
    }
    EXPECT_EQ(listed.size(), 15u);
    bpf_object__close(obj);
  }
}

}  // namespace

namespace {

// MER_STAT_DROP_MASK (the counters that send a monitor a drop event) is
// exactly the counters named drop_* or reject_*.
TEST(AbiLayout, DropMaskIsEveryDropAndRejectCounter) {
  const auto& names = meridian::datapath::StatNames();
  ASSERT_EQ(names.size(), static_cast<std::size_t>(MER_STAT_MAX));
  for (std::uint32_t i = 0; i < names.size(); ++i) {
    const bool named = names[i].rfind("drop_", 0) == 0 || names[i].rfind("reject_", 0) == 0;
    EXPECT_EQ(((MER_STAT_DROP_MASK >> i) & 1) != 0, named) << names[i];
  }
}

}  // namespace
