// Loading over pinned maps: the same sizes reuse them; other sizes, or a
// map pinned by an older Meridian, stop the load with an error that names
// the map, both shapes and the way out, and change nothing.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "datapath/bpffs.h"
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

}  // namespace
}  // namespace meridian::testing
