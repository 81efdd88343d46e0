// DirRegistry's inotify watch: what the backend-agnostic contract cannot
// see -- a lease renewal is not a change, an expiry is reported without any
// writer, and a change costs no directory scan.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "registry/dir_registry.h"
#include "temp_dir.h"

namespace meridian::registry {
namespace {

using meridian::test_support::TempDir;
using std::chrono::milliseconds;

std::vector<WatchEvent> NextNonEmpty(WatchStream& w, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = w.Next(milliseconds(50));
    EXPECT_TRUE(ev.ok()) << ev.error().message;
    if (!ev.ok()) return {};
    if (!ev->empty()) return *ev;
  }
  return {};
}

TEST(DirWatchTest, ReportsPutsDeletesAndExpiriesButNotRenewals) {
  TempDir dir;
  auto reg = DirRegistry::Open(dir.path() + "/reg");
  ASSERT_TRUE(reg.ok());
  auto& r = **reg;
  ASSERT_TRUE(r.Put("/meridian/v1/a/before", "x").ok());
  auto w = r.Watch("/meridian/v1/a/", r.CurrentRevision());
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto& watch = **w;
  // Nothing after `since`: the first Next times out empty.
  auto first = watch.Next(milliseconds(100));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->empty());

  auto t0 = std::chrono::steady_clock::now();
  auto rev = r.Put("/meridian/v1/a/k", "v1", milliseconds(600));
  ASSERT_TRUE(rev.ok());
  auto put = NextNonEmpty(watch, milliseconds(1000));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0].type, WatchEvent::Type::kPut);
  EXPECT_EQ(put[0].kv.value, "v1");
  EXPECT_EQ(put[0].kv.revision, *rev);
  EXPECT_LT(took, milliseconds(100)) << "inotify, not a poll";

  // A renewal rewrites the file with the same revision: not a change.
  ASSERT_TRUE(r.KeepAlive("/meridian/v1/a/k").ok());
  auto renewal = watch.Next(milliseconds(200));
  ASSERT_TRUE(renewal.ok());
  EXPECT_TRUE(renewal->empty());

  // Other prefixes are not reported.
  ASSERT_TRUE(r.Put("/meridian/v1/b/k", "x").ok());
  auto other = watch.Next(milliseconds(200));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());

  // Nobody writes, the lease runs out: the periodic scan reports it.
  auto expired = NextNonEmpty(watch, milliseconds(2500));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].type, WatchEvent::Type::kDelete);
  EXPECT_EQ(expired[0].kv.key, "/meridian/v1/a/k");

  ASSERT_TRUE(r.Put("/meridian/v1/a/j", "v").ok());
  ASSERT_EQ(NextNonEmpty(watch, milliseconds(500)).size(), 1u);
  ASSERT_TRUE(r.Delete("/meridian/v1/a/j").ok());
  auto del = NextNonEmpty(watch, milliseconds(500));
  ASSERT_EQ(del.size(), 1u);
  EXPECT_EQ(del[0].type, WatchEvent::Type::kDelete);
}

}  // namespace
}  // namespace meridian::registry
