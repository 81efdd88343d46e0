#include "mcs/clusterset_ip.h"

#include <gtest/gtest.h>

#include <thread>

#include "mcs/records.h"
#include "mcs/registry_keys.h"
#include "mcs_fixtures.h"
#include "registry/registry.h"
#include "temp_dir.h"

namespace meridian::mcs {
namespace {

using namespace test_support;
using meridian::test_support::TempDir;

std::unique_ptr<registry::Registry> Open(const TempDir& dir) {
  auto r = registry::OpenRegistry("dir:" + dir.path() + "/reg");
  EXPECT_TRUE(r.ok());
  return std::move(*r);
}

TEST(ClusterSetIpTest, AllocatesLowestFreeOnceAndReleases) {
  TempDir dir;
  auto reg = Open(dir);
  auto cidr = Net("10.255.0.0/30");  // two usable addresses
  auto web = EnsureClusterSetIp(*reg, {"shop", "web"}, cidr);
  ASSERT_TRUE(web.ok()) << web.error().message;
  EXPECT_EQ(*web, Ip("10.255.0.1"));
  auto again = EnsureClusterSetIp(*reg, {"shop", "web"}, cidr);  // stable
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, Ip("10.255.0.1"));
  auto db = EnsureClusterSetIp(*reg, {"shop", "db"}, cidr);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*db, Ip("10.255.0.2"));
  auto full = EnsureClusterSetIp(*reg, {"shop", "api"}, cidr);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().message,
            "ClusterSet CIDR 10.255.0.0/30 is exhausted (2 imports hold its addresses)");
  ASSERT_TRUE(ReleaseClusterSetIp(*reg, {"shop", "web"}).ok());
  auto api = EnsureClusterSetIp(*reg, {"shop", "api"}, cidr);
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(*api, Ip("10.255.0.1"));
}

TEST(ClusterSetIpTest, ReplacesAMalformedImportRecord) {
  TempDir dir;
  auto reg = Open(dir);
  ASSERT_TRUE(reg->Put(ImportKey({"shop", "web"}), "garbage").ok());
  auto ip = EnsureClusterSetIp(*reg, {"shop", "web"}, Net("10.255.0.0/24"));
  ASSERT_TRUE(ip.ok()) << ip.error().message;
  EXPECT_EQ(*ip, Ip("10.255.0.1"));
}

// Controllers of several clusters racing for the same imports end with one
// IP per import, the same for all of them, and no IP used twice.
TEST(ClusterSetIpTest, RacingAllocatorsAgree) {
  TempDir dir;
  constexpr int kThreads = 4, kServices = 8;
  std::vector<std::vector<model::Ipv4Address>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto reg = Open(dir);
      for (int s = 0; s < kServices; ++s) {
        auto ip =
            EnsureClusterSetIp(*reg, {"shop", "svc" + std::to_string(s)}, Net("10.255.0.0/24"));
        ASSERT_TRUE(ip.ok()) << ip.error().message;
        got[t].push_back(*ip);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(got[t], got[0]);
  std::set<model::Ipv4Address> unique(got[0].begin(), got[0].end());
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kServices));
}

}  // namespace
}  // namespace meridian::mcs
