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

TEST_F(PinCheckTest, OtherMaglevSlotsNameTheMapAndBothShapes) {
  ASSERT_TRUE(datapath::NodeDatapath::Load(opts_).ok());
  opts_.sizes.maglev_slots = 65536;
  auto second = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().message,
            "the maps pinned in " + dir_ + " do not match this agent (map ABI " +
                std::to_string(MER_ABI_VERSION) +
                "): mer_maglev is pinned as (array, key 4 B, value 8 B, 16384 entries, flags "
                "0x400), this agent needs (array, key 4 B, value 8 B, 32768 entries, flags 0x400)."
                " They were made by another Meridian version or with other --max-* / "
                "--maglev-slots sizes: start with the sizes they were made with, or remove " +
                dir_ + " (established flows lose their conntrack entries)");
  // Nothing was replaced: the original sizes still load over the pins.
  opts_.sizes.maglev_slots = 32768;
  auto third = datapath::NodeDatapath::Load(opts_);
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_TRUE((*third)->reused_pins());
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
  opts_.sizes.maglev_slots = 65536;
  auto dp = datapath::NodeDatapath::Load(opts_);
  ASSERT_FALSE(dp.ok());
  EXPECT_NE(dp.error().message.find("mer_maglev is pinned as"), std::string::npos);
  EXPECT_EQ(dp.error().message.find("mer_ct "), std::string::npos) << dp.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" MER_MAP_NAME(ct)));
  EXPECT_FALSE(std::filesystem::exists(datapath::OldCtPin(dir_)));
}

}  // namespace
}  // namespace meridian::testing
