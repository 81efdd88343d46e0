// The agent's NodePort settings: the --nodeport-range parser and the
// accept_local setting, on a procfs tree of the test's own.
#include "agent/nodeport_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace meridian::agent {
namespace {

namespace fs = std::filesystem;

TEST(NodePortConfigTest, PortRange) {
  auto r = ParsePortRange("30000-32767");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 30000);
  EXPECT_EQ(r->second, 32767);
  EXPECT_TRUE(ParsePortRange("80-80").ok());
  for (const char* bad : {"", "30000", "0-10", "10-5", "1-65536", "a-b", "1-2-3", " 1-2"}) {
    EXPECT_FALSE(ParsePortRange(bad).ok()) << bad;
  }
}

class AcceptLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("meridian-proc-" + std::to_string(getpid()));
    fs::create_directories(root_ / "sys/net/ipv4/conf/up0");
    fs::create_directories(root_ / "sys/net/ipv4/conf/all");
    Write("all/accept_local", "0\n");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / "sys/net/ipv4/conf" / rel) << text;
  }
  std::string Read(const std::string& rel) {
    std::ifstream f(root_ / "sys/net/ipv4/conf" / rel);
    std::string s;
    std::getline(f, s);
    return s;
  }
  // Interface ro0's value cannot be written, as in a container whose
  // /proc/sys is read-only (a directory cannot be opened for writing,
  // even by root).
  void MakeUnwritable() { fs::create_directories(root_ / "sys/net/ipv4/conf/ro0/accept_local"); }
  fs::path root_;
};

TEST_F(AcceptLocalTest, WritesTheUplinksSetting) {
  Write("up0/accept_local", "0\n");
  ASSERT_TRUE(AcceptLocalSource("up0", root_.string()).ok());
  EXPECT_EQ(Read("up0/accept_local"), "1");
}

TEST_F(AcceptLocalTest, UnwritableIsFineWhenAllIsSetAlready) {
  MakeUnwritable();
  Write("all/accept_local", "1\n");
  EXPECT_TRUE(AcceptLocalSource("ro0", root_.string()).ok());
}

TEST_F(AcceptLocalTest, UnwritableAndUnsetNamesBothWays) {
  MakeUnwritable();
  auto s = AcceptLocalSource("ro0", root_.string());
  ASSERT_FALSE(s.ok());
  const std::string text = s.error().message;
  EXPECT_NE(text.find("ro0/accept_local"), std::string::npos) << text;
  EXPECT_NE(text.find("net.ipv4.conf.ro0.accept_local=1"), std::string::npos) << text;
  EXPECT_NE(text.find("net.ipv4.conf.all.accept_local=1"), std::string::npos) << text;
}

}  // namespace
}  // namespace meridian::agent
