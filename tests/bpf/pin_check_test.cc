// Loading over pinned maps: the same sizes reuse them; other sizes, or a
// map pinned by an older Meridian, stop the load with an error that names
// the map, both shapes and the way out, and change nothing.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "datapath/bpffs.h"
#include "datapath/ct_gc.h"
#include "datapath/ct_migration.h"
#include "datapath/map_iter.h"
#include "datapath/map_resize.h"
#include "datapath/node_datapath.h"
#include "datapath/unique_fd.h"
#include "meridian/abi.h"

namespace meridian::testing {
namespace {

class PinCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As the agent does: the BPF filesystem may not be mounted yet.
    auto mounted = datapath::EnsureBpffsMounted("/sys/fs/bpf");
    ASSERT_TRUE(mounted.ok()) << mounted.error().message;
    std::filesystem::remove_all(dir_);
    opts_.pin_dir = dir_;
    opts_.sizes = {.services = 1024, .backends = 1024, .ct = 4096, .maglev_slots = 32768};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Per process, under the BPF filesystem the tests run with.
  const std::string dir_ = "/sys/fs/bpf/meridian-pintest-" + std::to_string(getpid());
  datapath::LoadOptions opts_;
};

TEST_F(PinCheckTest, SameSizesReuseThePins) {
  {
    auto first = datapath::NodeDatapath::Load(opts_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_FALSE((*first)->reused_pins());
  }
  auto again = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE((*again)->reused_pins());
}

// A smaller Maglev array could cut tables in use: refused, naming the map,
// both sizes and the way out, with nothing renamed or replaced.
TEST_F(PinCheckTest, ASmallerMaglevArrayIsRefusedAndChangesNothing) {
  ASSERT_TRUE(datapath::NodeDatapath::Load(opts_).ok());
  opts_.sizes.maglev_slots = 16384;
  auto second = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message,
            "mer_maglev is pinned with 16384 elements and this agent would make it 8192: the "
            "elements past the new end may be in use; start with --maglev-slots of at least "
            "32768, or remove " +
                dir_ + " (established flows lose their conntrack entries)");
  EXPECT_FALSE(std::filesystem::exists(datapath::ResizedPin(dir_, MER_MAP_NAME(maglev))));
  // The original sizes still load over the pins.
  opts_.sizes.maglev_slots = 32768;
  auto third = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE((*third)->reused_pins());
  EXPECT_TRUE((*third)->resized_maps().empty());
}

// ABI 4 kept one Maglev map per service in a hash of maps under the same
// pin name.
TEST_F(PinCheckTest, MapOfAnOlderAbiIsNamed) {
  std::filesystem::create_directories(dir_);
  datapath::UniqueFd inner(bpf_map_create(BPF_MAP_TYPE_ARRAY, "old_tbl", 4, 4, 1, nullptr));
  ASSERT_TRUE(inner.valid());
  LIBBPF_OPTS(bpf_map_create_opts, outer_opts, .inner_map_fd = static_cast<__u32>(inner.get()));
  datapath::UniqueFd old(
      bpf_map_create(BPF_MAP_TYPE_HASH_OF_MAPS, "mer_maglev", 4, 4, 1024, &outer_opts));
  ASSERT_TRUE(old.valid());
  ASSERT_EQ(bpf_obj_pin(old.get(), (dir_ + "/" MER_MAP_NAME(maglev)).c_str()), 0);
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(dp.ok());
  EXPECT_NE(dp.error().message.find(
                "mer_maglev is pinned as (hash of maps, key 4 B, value 4 B, 1024 entries, flags "
                "0x0), this agent needs (array, key 4 B, value 8 B, 16384 entries, flags 0x400)"),
            std::string::npos)
      << dp.error().message;
}

// Map ABI 8's conntrack (40-byte entries, no expiry) under the pin of the
// agent that made it, with one TCP and one UDP flow entry.
class CtMigrationTest : public PinCheckTest {
 protected:
  void PinAbi8Ct(std::uint32_t max_entries) {
    ASSERT_TRUE(datapath::NodeDatapath::Load(opts_).ok());  // every other map, pinned
    const std::string pin = dir_ + "/" MER_MAP_NAME(ct);
    ASSERT_EQ(unlink(pin.c_str()), 0);
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_COMMON_LRU);
    old_ = datapath::UniqueFd(bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "mer_ct", sizeof(mer_ct_key),
                                             datapath::kCtEntrySizeAbi8, max_entries, &o));
    ASSERT_TRUE(old_.valid());
    Put(Key(IPPROTO_TCP, 40000), 7);
    Put(Key(IPPROTO_UDP, 40001), 8);
    ASSERT_EQ(bpf_obj_pin(old_.get(), pin.c_str()), 0);
  }
  static mer_ct_key Key(std::uint8_t proto, std::uint16_t sport) {
    return {.saddr_be = htonl(0x0a010164),
            .daddr_be = htonl(0x0a60000a),
            .sport_be = htons(sport),
            .dport_be = htons(80),
            .proto = proto,
            .dir = MER_CT_FORWARD};
  }
  // An ABI 8 entry: ABI 9's first 40 bytes.
  void Put(const mer_ct_key& key, std::uint32_t backend_id) {
    mer_ct_entry e{.backend_id = backend_id, .service_id = 3, .flags = MER_CT_F_NODEPORT};
    e.backend_addr_be = htonl(0x0a01010b);
    std::vector<std::uint8_t> bytes(datapath::kCtEntrySizeAbi8);
    std::memcpy(bytes.data(), &e, bytes.size());
    ASSERT_EQ(bpf_map_update_elem(old_.get(), &key, bytes.data(), BPF_ANY), 0);
  }
  datapath::UniqueFd old_;
};

TEST_F(CtMigrationTest, Abi8ConntrackIsCopiedConvertedAndLetGo) {
  PinAbi8Ct(opts_.sizes.ct);
  opts_.config.ct.tcp_established_s = 86400;
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  EXPECT_TRUE((*dp)->reused_pins());
  EXPECT_TRUE((*dp)->ct_migration_pending());
  EXPECT_EQ((*dp)->ct_entries_migrated(), 2u);
  EXPECT_TRUE(std::filesystem::exists(datapath::OldCtPin(dir_)));

  const int ct = (*dp)->maps().ct;
  const std::uint32_t now = datapath::MonotonicSeconds();
  mer_ct_entry tcp{}, udp{};
  const mer_ct_key tcp_key = Key(IPPROTO_TCP, 40000), udp_key = Key(IPPROTO_UDP, 40001);
  ASSERT_EQ(bpf_map_lookup_elem(ct, &tcp_key, &tcp), 0);
  ASSERT_EQ(bpf_map_lookup_elem(ct, &udp_key, &udp), 0);
  // Every byte ABI 8 had is kept; the flow counts as just used.
  EXPECT_EQ(tcp.backend_id, 7u);
  EXPECT_EQ(tcp.service_id, 3u);
  EXPECT_EQ(tcp.backend_addr_be, htonl(0x0a01010b));
  EXPECT_EQ(tcp.flags, MER_CT_F_NODEPORT | MER_CT_F_SEEN_NON_SYN);
  EXPECT_NEAR(static_cast<double>(tcp.expires_s), now + 86400.0, 1);  // the configured one
  EXPECT_EQ(udp.backend_id, 8u);
  EXPECT_EQ(udp.flags, MER_CT_F_NODEPORT);
  EXPECT_NEAR(static_cast<double>(udp.expires_s), now + double{MER_CT_DEFAULT_UDP_REPLY_S}, 1);

  // The old programs write a flow before they are replaced; the new ones
  // refreshed one meanwhile, which the old copy must not undo.
  Put(Key(IPPROTO_TCP, 40002), 9);
  Put(tcp_key, 99);
  auto finished = (*dp)->FinishCtMigration();
  ASSERT_TRUE(finished.ok()) << finished.error().message;
  EXPECT_EQ(*finished, 1u);
  EXPECT_EQ((*dp)->ct_entries_migrated(), 3u);
  EXPECT_FALSE((*dp)->ct_migration_pending());
  EXPECT_FALSE(std::filesystem::exists(datapath::OldCtPin(dir_)));
  EXPECT_EQ(datapath::MapKeys<mer_ct_key>(ct).size(), 3u);
  ASSERT_EQ(bpf_map_lookup_elem(ct, &tcp_key, &tcp), 0);
  EXPECT_EQ(tcp.backend_id, 7u);

  // The next start finds nothing left to migrate.
  dp->reset();
  auto again = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE((*again)->ct_migration_pending());
  EXPECT_EQ(datapath::MapKeys<mer_ct_key>((*again)->maps().ct).size(), 3u);
}

// Killed between the two copies: the next start finishes the migration.
TEST_F(CtMigrationTest, AnInterruptedMigrationIsFinishedByTheNextStart) {
  PinAbi8Ct(opts_.sizes.ct);
  {
    auto dp = datapath::NodeDatapath::Load(opts_);
    ASSERT_TRUE(dp.ok()) << dp.error().message;
  }
  Put(Key(IPPROTO_TCP, 40002), 9);
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  EXPECT_TRUE((*dp)->ct_migration_pending());
  EXPECT_EQ((*dp)->ct_entries_migrated(), 1u);  // the two others were copied before
  ASSERT_TRUE((*dp)->FinishCtMigration().ok());
  EXPECT_EQ(datapath::MapKeys<mer_ct_key>((*dp)->maps().ct).size(), 3u);
}

// An ABI 8 conntrack of another size is not migrated: the pin check names
// it, and it stays where its agent finds it.
TEST_F(CtMigrationTest, Abi8ConntrackOfAnotherSizeIsRefusedAndLeftInPlace) {
  PinAbi8Ct(opts_.sizes.ct * 2);
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(dp.ok());
  EXPECT_NE(dp.error().message.find("mer_ct is pinned as (LRU hash, key 16 B, value 40 B, 8192 "
                                    "entries, flags 0x2), this agent needs (LRU hash, key 16 B, "
                                    "value 48 B, 4096 entries, flags 0x2)"),
            std::string::npos)
      << dp.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" MER_MAP_NAME(ct)));
  EXPECT_FALSE(std::filesystem::exists(datapath::OldCtPin(dir_)));
}

// Refused for another map: the ABI 8 conntrack goes back under its pin.
TEST_F(CtMigrationTest, ARefusalForAnotherMapPutsTheOldConntrackBack) {
  PinAbi8Ct(opts_.sizes.ct);
  opts_.sizes.maglev_slots = 16384;
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(dp.ok());
  EXPECT_NE(dp.error().message.find("mer_maglev is pinned with 16384 elements"), std::string::npos);
  EXPECT_EQ(dp.error().message.find("mer_ct "), std::string::npos) << dp.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" MER_MAP_NAME(ct)));
  EXPECT_FALSE(std::filesystem::exists(datapath::OldCtPin(dir_)));
}

// Other --max-* / --maglev-slots sizes: the maps are recreated with every
// entry (datapath/map_resize.h), before any new program runs.
class MapResizeTest : public PinCheckTest {
 protected:
  static constexpr mer_service_key kSvcKey{.vip_be = 0x0a60000a, .port_be = 0x5000, .proto = 6};
  static constexpr mer_ct_key kCtKey{.saddr_be = 0x6401010a,
                                     .daddr_be = 0x0a00600a,
                                     .sport_be = 0x409c,
                                     .dport_be = 0x5000,
                                     .proto = 6};
  // One entry in each of services, backends, the Maglev array (first and
  // last element), conntrack and affinity.
  void Fill(const datapath::MapSet& m) {
    const mer_service svc{.id = 7, .backend_count = 1, .maglev_size = 2, .maglev_offset = 0};
    ASSERT_EQ(bpf_map_update_elem(m.services, &kSvcKey, &svc, BPF_NOEXIST), 0);
    const std::uint32_t backend_id = 3;
    const mer_backend be{.addr_be = 0x0b01010a, .port_be = 0x901f, .proto = 6};
    ASSERT_EQ(bpf_map_update_elem(m.backends, &backend_id, &be, BPF_NOEXIST), 0);
    const mer_maglev_pair pair{{3, 3}};
    for (std::uint32_t i : {0u, last_element_}) {
      ASSERT_EQ(bpf_map_update_elem(m.maglev, &i, &pair, BPF_ANY), 0);
    }
    const mer_ct_entry ct{.backend_id = 3, .service_id = 7};
    ASSERT_EQ(bpf_map_update_elem(m.ct, &kCtKey, &ct, BPF_NOEXIST), 0);
    const mer_affinity_key ak{.client_be = 0x6401010a, .service_id = 7};
    const mer_affinity a{.backend_id = 3};
    ASSERT_EQ(bpf_map_update_elem(m.affinity, &ak, &a, BPF_NOEXIST), 0);
  }
  // Every entry Fill wrote is in `m`.
  void ExpectFilled(const datapath::MapSet& m) {
    mer_service svc{};
    ASSERT_EQ(bpf_map_lookup_elem(m.services, &kSvcKey, &svc), 0);
    EXPECT_EQ(svc.id, 7u);
    const std::uint32_t backend_id = 3;
    mer_backend be{};
    ASSERT_EQ(bpf_map_lookup_elem(m.backends, &backend_id, &be), 0);
    EXPECT_EQ(be.addr_be, 0x0b01010au);
    for (std::uint32_t i : {0u, last_element_}) {
      mer_maglev_pair pair{};
      ASSERT_EQ(bpf_map_lookup_elem(m.maglev, &i, &pair), 0);
      EXPECT_EQ(pair.backend_id[0], 3u) << "element " << i;
      EXPECT_EQ(pair.backend_id[1], 3u) << "element " << i;
    }
    mer_ct_entry ct{};
    ASSERT_EQ(bpf_map_lookup_elem(m.ct, &kCtKey, &ct), 0);
    EXPECT_EQ(ct.backend_id, 3u);
    const mer_affinity_key ak{.client_be = 0x6401010a, .service_id = 7};
    mer_affinity a{};
    ASSERT_EQ(bpf_map_lookup_elem(m.affinity, &ak, &a), 0);
    EXPECT_EQ(a.backend_id, 3u);
  }
  static std::uint32_t Capacity(int fd) {
    bpf_map_info info{};
    std::uint32_t len = sizeof info;
    return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : 0;
  }
  bool Waiting(const char* name) const {
    return std::filesystem::exists(datapath::ResizedPin(dir_, name));
  }
  // The maps the load recreated, as the agent logs them.
  static std::vector<std::string> Described(const datapath::NodeDatapath& dp) {
    std::vector<std::string> out;
    for (const auto& r : dp.resized_maps()) out.push_back(r.Describe());
    return out;
  }
  std::uint32_t last_element_ = 32768 / 2 - 1;
};

TEST_F(MapResizeTest, LargerSizesRecreateTheMapsWithEveryEntry) {
  {
    auto first = datapath::NodeDatapath::Load(opts_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    Fill((*first)->maps());
  }
  opts_.sizes = {.services = 2048, .backends = 4096, .ct = 8192, .maglev_slots = 65536};
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  EXPECT_EQ(Described(**dp),
            (std::vector<std::string>{"mer_services: 1024 -> 2048 entries, flags 0x1 -> 0x1",
                                      "mer_backends: 1024 -> 4096 entries, flags 0x1 -> 0x1",
                                      "mer_maglev: 16384 -> 32768 entries, flags 0x400 -> 0x400",
                                      "mer_ct: 4096 -> 8192 entries, flags 0x2 -> 0x2",
                                      "mer_flows: 1024 -> 4096 entries, flags 0x1 -> 0x1",
                                      "mer_traffic: 1024 -> 4096 entries, flags 0x1 -> 0x1"}));
  const datapath::MapSet& m = (*dp)->maps();
  EXPECT_EQ(Capacity(m.services), 2048u);
  EXPECT_EQ(Capacity(m.maglev), 32768u);
  EXPECT_EQ(Capacity(m.ct), 8192u);
  ExpectFilled(m);
  // Every element of the old array is copied (16384), and one entry of each
  // hash map: services, backends, ct.
  EXPECT_EQ((*dp)->resized_entries_copied(), 16384u + 3u);
  // The maps only the agent writes are done; conntrack waits for the old
  // programs to be replaced.
  EXPECT_FALSE(Waiting(MER_MAP_NAME(services)));
  EXPECT_FALSE(Waiting(MER_MAP_NAME(maglev)));
  EXPECT_TRUE(Waiting(MER_MAP_NAME(ct)));
  ASSERT_TRUE((*dp)->resize_pending());

  // The old programs write a flow before they are replaced; the new ones
  // refreshed the one copied, which the second copy must not undo.
  {
    datapath::UniqueFd old_ct(bpf_obj_get(datapath::ResizedPin(dir_, MER_MAP_NAME(ct)).c_str()));
    ASSERT_TRUE(old_ct.valid());
    mer_ct_key later = kCtKey;
    later.sport_be = 0x419c;
    const mer_ct_entry e{.backend_id = 4, .service_id = 7};
    ASSERT_EQ(bpf_map_update_elem(old_ct.get(), &later, &e, BPF_NOEXIST), 0);
    const mer_ct_entry stale{.backend_id = 99, .service_id = 7};
    ASSERT_EQ(bpf_map_update_elem(old_ct.get(), &kCtKey, &stale, BPF_EXIST), 0);
  }
  auto finished = (*dp)->FinishMapResizes();
  ASSERT_TRUE(finished.ok()) << finished.error().message;
  EXPECT_EQ(*finished, 1u);
  EXPECT_FALSE((*dp)->resize_pending());
  EXPECT_FALSE(Waiting(MER_MAP_NAME(ct)));
  EXPECT_EQ(datapath::MapKeys<mer_ct_key>(m.ct).size(), 2u);
  ExpectFilled(m);  // backend 3, not the stale 99

  // The next start reuses the new maps as they are.
  dp->reset();
  auto again = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE((*again)->resized_maps().empty());
  EXPECT_FALSE((*again)->resize_pending());
  ExpectFilled((*again)->maps());
}

// A map only the agent writes that holds more entries than its new
// capacity is refused; with fewer, it shrinks with them.
TEST_F(MapResizeTest, ASmallerMapMustHoldItsEntries) {
  {
    auto first = datapath::NodeDatapath::Load(opts_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    for (std::uint32_t id = 1; id <= 3; ++id) {
      const mer_backend be{.addr_be = id, .port_be = 0x901f, .proto = 6};
      ASSERT_EQ(bpf_map_update_elem((*first)->maps().backends, &id, &be, BPF_NOEXIST), 0);
    }
  }
  opts_.sizes.backends = 2;
  auto refused = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "mer_backends is pinned holding 3 entries and this agent would make it 2 entries: they "
            "would not fit; start with --max-backends of at least 1024, or remove " +
                dir_ + " (established flows lose their conntrack entries)");
  EXPECT_FALSE(Waiting(MER_MAP_NAME(backends)));

  opts_.sizes.backends = 3;
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  EXPECT_EQ(Capacity((*dp)->maps().backends), 3u);
  EXPECT_EQ(datapath::MapKeys<std::uint32_t>((*dp)->maps().backends).size(), 3u);
}

// Conntrack may shrink: an LRU map forgets its coldest flows, as when full.
TEST_F(MapResizeTest, ConntrackShrinksWithItsFlows) {
  {
    auto first = datapath::NodeDatapath::Load(opts_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    Fill((*first)->maps());
  }
  opts_.sizes.ct = 2048;
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  ASSERT_EQ((*dp)->resized_maps().size(), 1u);
  EXPECT_EQ((*dp)->resized_maps()[0].Describe(), "mer_ct: 4096 -> 2048 entries, flags 0x2 -> 0x2");
  ExpectFilled((*dp)->maps());
}

// Killed between the two copies: the next start copies again what waits
// and finishes.
TEST_F(MapResizeTest, AnInterruptedResizeIsFinishedByTheNextStart) {
  {
    auto first = datapath::NodeDatapath::Load(opts_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    Fill((*first)->maps());
  }
  opts_.sizes.ct = 8192;
  { ASSERT_TRUE(datapath::NodeDatapath::Load(opts_).ok()); }  // no FinishMapResizes
  ASSERT_TRUE(Waiting(MER_MAP_NAME(ct)));
  {
    datapath::UniqueFd old_ct(bpf_obj_get(datapath::ResizedPin(dir_, MER_MAP_NAME(ct)).c_str()));
    mer_ct_key later = kCtKey;
    later.sport_be = 0x419c;
    const mer_ct_entry e{.backend_id = 4, .service_id = 7};
    ASSERT_EQ(bpf_map_update_elem(old_ct.get(), &later, &e, BPF_NOEXIST), 0);
  }
  // Other sizes while a resize waits: refused, naming the waiting pin.
  opts_.sizes.ct = 16384;
  auto refused = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find(datapath::ResizedPin(dir_, MER_MAP_NAME(ct)) +
                                         " from an earlier resize still waits to be copied"),
            std::string::npos)
      << refused.error().message;

  opts_.sizes.ct = 8192;
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  EXPECT_TRUE((*dp)->resized_maps().empty());
  EXPECT_EQ((*dp)->resized_entries_copied(), 1u);  // the other was copied before
  ASSERT_TRUE((*dp)->resize_pending());
  ASSERT_TRUE((*dp)->FinishMapResizes().ok());
  EXPECT_FALSE(Waiting(MER_MAP_NAME(ct)));
  EXPECT_EQ(datapath::MapKeys<mer_ct_key>((*dp)->maps().ct).size(), 2u);
}

// The maps of the previous release: services preallocated (flags 0) and
// affinity at 262,144 entries. This release recreates both, with their
// entries, instead of refusing them.
TEST_F(MapResizeTest, AnOlderReleasesPreallocatedMapsAreRecreated) {
  {
    auto first = datapath::NodeDatapath::Load(opts_);
    ASSERT_TRUE(first.ok()) << first.error().message;
    Fill((*first)->maps());
  }
  auto replace = [&](const char* name, std::uint32_t type, std::uint32_t key, std::uint32_t value,
                     std::uint32_t entries, std::uint32_t flags) {
    const std::string pin = dir_ + "/" + name;
    datapath::UniqueFd current(bpf_obj_get(pin.c_str()));
    ASSERT_TRUE(current.valid());
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
    datapath::UniqueFd old(
        bpf_map_create(static_cast<bpf_map_type>(type), name, key, value, entries, &o));
    ASSERT_TRUE(old.valid()) << name;
    std::vector<std::uint8_t> v(value);
    std::vector<std::uint8_t> keys = datapath::MapKeyBytes(current.get(), key);
    for (std::size_t off = 0; off < keys.size(); off += key) {
      ASSERT_EQ(bpf_map_lookup_elem(current.get(), keys.data() + off, v.data()), 0);
      ASSERT_EQ(bpf_map_update_elem(old.get(), keys.data() + off, v.data(), BPF_NOEXIST), 0);
    }
    ASSERT_EQ(unlink(pin.c_str()), 0);
    ASSERT_EQ(bpf_obj_pin(old.get(), pin.c_str()), 0);
  };
  replace(MER_MAP_NAME(services), BPF_MAP_TYPE_HASH, sizeof(mer_service_key), sizeof(mer_service),
          1024, 0);
  replace(MER_MAP_NAME(affinity), BPF_MAP_TYPE_LRU_HASH, sizeof(mer_affinity_key),
          sizeof(mer_affinity), 262144, 0);
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  EXPECT_EQ(Described(**dp),
            (std::vector<std::string>{"mer_services: 1024 -> 1024 entries, flags 0x0 -> 0x1",
                                      "mer_affinity: 262144 -> 65536 entries, flags 0x0 -> 0x0"}));
  ExpectFilled((*dp)->maps());
  ASSERT_TRUE((*dp)->FinishMapResizes().ok());
  EXPECT_FALSE(Waiting(MER_MAP_NAME(affinity)));
}

// The monitor's ring of another size (MER_MONITOR_RING_BYTES changed): made
// anew, with nothing to copy.
TEST_F(MapResizeTest, ARingOfAnotherSizeIsMadeAnew) {
  ASSERT_TRUE(datapath::NodeDatapath::Load(opts_).ok());
  const std::string pin = dir_ + "/mer_events";
  ASSERT_EQ(unlink(pin.c_str()), 0);
  datapath::UniqueFd ring(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "mer_events", 0, 0, 4096, nullptr));
  ASSERT_TRUE(ring.valid());
  ASSERT_EQ(bpf_obj_pin(ring.get(), pin.c_str()), 0);
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  ASSERT_EQ((*dp)->resized_maps().size(), 1u);
  EXPECT_EQ((*dp)->resized_maps()[0].name, "mer_events");
  EXPECT_EQ((*dp)->resized_entries_copied(), 0u);
  EXPECT_FALSE(Waiting("mer_events"));
}

}  // namespace
}  // namespace meridian::testing
