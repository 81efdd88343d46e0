// The Registry contract: every backend must pass these typed tests. A backend
// joins by adding a Backend type (a fresh, empty store per test, and any
// number of clients on it) to BackendTypes. DirRegistry-only behaviour (the
// on-disk format) is tested at the end; etcd-only behaviour (auth, TLS,
// restarts, compaction) in etcd_registry_test.cc.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "etcd_server.h"
#include "registry/dir_registry.h"
#include "registry/registry.h"
#include "temp_dir.h"

namespace meridian::registry {
namespace {

using std::chrono::milliseconds;
using Type = WatchEvent::Type;

using meridian::test_support::EtcdServer;
using meridian::test_support::TempDir;

// A backend under test: one empty store, clients opened on it. skip() says
// why the backend cannot run here ("" = it can); EmptyRevision() is what
// CurrentRevision() says of the empty store; Scaled() stretches lease times
// for backends whose leases are coarser than the dir: backend's.
class DirBackend {
 public:
  std::string skip() const { return ""; }
  std::unique_ptr<Registry> NewClient() {
    auto r = OpenRegistry("dir:" + dir_.path() + "/registry");
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::int64_t EmptyRevision() const { return 0; }
  static milliseconds Scaled(milliseconds d) { return d; }

 private:
  TempDir dir_;
};

// One real etcd for the whole test program (started on first use, killed at
// exit); every test starts with nothing under /meridian/. etcd's revision is
// cluster-wide and never goes back, so the empty store's revision is the one
// after that wipe, not 0.
class EtcdBackend {
 public:
  EtcdBackend() {
    if (EtcdServer::Binary().empty()) {
      skip_ = "etcd is not installed (apt-get install etcd-server)";
      return;
    }
    EtcdServer* server = Shared();
    if (server == nullptr) {
      skip_ = "";
      ADD_FAILURE() << "could not start etcd: " << StartError();
      return;
    }
    Status wiped = server->Wipe("/meridian/");
    EXPECT_TRUE(wiped.ok()) << wiped.error().message;
    auto reg = NewClient();
    if (reg) empty_revision_ = reg->CurrentRevision();
  }
  std::string skip() const { return skip_; }
  std::unique_ptr<Registry> NewClient() {
    EtcdServer* server = Shared();
    if (server == nullptr) return nullptr;
    auto r = OpenRegistry(server->url());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::int64_t EmptyRevision() const { return empty_revision_; }
  // etcd leases are whole seconds (rounded up, at least 1 s here) and its
  // lessor revokes expired ones every 500 ms: 20x keeps each test's margins.
  static milliseconds Scaled(milliseconds d) { return d * 20; }

 private:
  static std::string& StartError() {
    static std::string error;
    return error;
  }
  static EtcdServer* Shared() {
    static std::unique_ptr<EtcdServer> server = [] {
      auto s = std::make_unique<EtcdServer>();
      Status started = s->Start();
      if (!started) {
        StartError() = started.error().message;
        s.reset();
      }
      return s;
    }();
    return server.get();
  }

  std::string skip_;
  std::int64_t empty_revision_ = 0;
};

template <class Backend>
class RegistryContractTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!backend_.skip().empty()) GTEST_SKIP() << backend_.skip();
    reg_ = backend_.NewClient();
    ASSERT_NE(reg_, nullptr);
  }
  static milliseconds T(int ms) { return Backend::Scaled(milliseconds(ms)); }

  // Reads from `watch` until `n` events arrived or `timeout` passed.
  std::vector<WatchEvent> Collect(WatchStream& watch, std::size_t n, milliseconds timeout) {
    std::vector<WatchEvent> all;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (all.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto got = watch.Next(milliseconds(100));
      EXPECT_TRUE(got.ok()) << got.error().message;
      if (!got.ok()) break;
      all.insert(all.end(), got->begin(), got->end());
    }
    return all;
  }

  std::int64_t MustPut(const std::string& key, const std::string& value, milliseconds ttl = {}) {
    auto rev = reg_->Put(key, value, ttl);
    EXPECT_TRUE(rev.ok()) << rev.error().message;
    return rev.ok() ? *rev : -1;
  }
  std::vector<std::string> Keys(const std::string& prefix) {
    auto list = reg_->List(prefix);
    EXPECT_TRUE(list.ok()) << list.error().message;
    std::vector<std::string> keys;
    if (list.ok()) {
      for (const KeyValue& kv : *list) keys.push_back(kv.key);
    }
    return keys;
  }
  bool Exists(const std::string& key) {
    auto got = reg_->Get(key);
    EXPECT_TRUE(got.ok()) << got.error().message;
    return got.ok() && got->has_value();
  }

  Backend backend_;
  std::unique_ptr<Registry> reg_;
};

using BackendTypes = testing::Types<DirBackend, EtcdBackend>;
TYPED_TEST_SUITE(RegistryContractTest, BackendTypes);

constexpr char kInfo[] = "/meridian/v1/clusters/east/info";

TYPED_TEST(RegistryContractTest, EmptyRegistry) {
  EXPECT_EQ(this->reg_->CurrentRevision(), this->backend_.EmptyRevision());
  EXPECT_FALSE(this->Exists(kInfo));
  EXPECT_TRUE(this->Keys("/meridian/v1/").empty());
  auto changes = this->reg_->ChangesSince("/meridian/v1/", this->backend_.EmptyRevision());
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  EXPECT_TRUE(changes->empty());
}

TYPED_TEST(RegistryContractTest, PutGetListDelete) {
  std::string binary("a\0b\n\xff", 5);
  std::int64_t rev = this->MustPut(kInfo, binary);
  auto got = this->reg_->Get(kInfo);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->key, kInfo);
  EXPECT_EQ((*got)->value, binary);
  EXPECT_EQ((*got)->revision, rev);

  this->MustPut("/meridian/v1/clusters/west/info", "w");
  this->MustPut("/meridian/v1/clusters/east/exports/default/web", "e");
  this->MustPut("/meridian/v1/imports/default/web", "i");
  // The prefix is a plain string prefix; results are sorted by key.
  EXPECT_EQ(this->Keys("/meridian/v1/clusters/"),
            (std::vector<std::string>{"/meridian/v1/clusters/east/exports/default/web", kInfo,
                                      "/meridian/v1/clusters/west/info"}));
  EXPECT_EQ(this->Keys("/meridian/v1/clusters/ea"),
            (std::vector<std::string>{"/meridian/v1/clusters/east/exports/default/web", kInfo}));
  EXPECT_EQ(this->Keys("/meridian/v1/").size(), 4u);

  ASSERT_TRUE(this->reg_->Delete(kInfo).ok());
  EXPECT_FALSE(this->Exists(kInfo));
  EXPECT_EQ(this->Keys("/meridian/v1/clusters/ea"),
            (std::vector<std::string>{"/meridian/v1/clusters/east/exports/default/web"}));
  // Deleting a missing key is fine.
  EXPECT_TRUE(this->reg_->Delete(kInfo).ok());
  EXPECT_TRUE(this->reg_->Delete("/meridian/v1/never/was").ok());
}

TYPED_TEST(RegistryContractTest, KeyThatIsAlsoAPrefixOfAnother) {
  this->MustPut("/meridian/v1/a", "1");
  this->MustPut("/meridian/v1/a/b", "2");
  EXPECT_EQ(this->Keys("/meridian/v1/a"),
            (std::vector<std::string>{"/meridian/v1/a", "/meridian/v1/a/b"}));
}

TYPED_TEST(RegistryContractTest, RevisionsIncrease) {
  std::int64_t r1 = this->MustPut(kInfo, "1");
  std::int64_t r2 = this->MustPut(kInfo, "2");
  std::int64_t r3 = this->MustPut("/meridian/v1/other", "3");
  EXPECT_GT(r1, 0);
  EXPECT_GT(r2, r1);
  EXPECT_GT(r3, r2);
  EXPECT_EQ(this->reg_->CurrentRevision(), r3);
  ASSERT_TRUE(this->reg_->Delete(kInfo).ok());
  EXPECT_GT(this->reg_->CurrentRevision(), r3);
  // A recreated key gets a fresh, higher revision.
  EXPECT_GT(this->MustPut(kInfo, "4"), this->reg_->CurrentRevision() - 1);
}

TYPED_TEST(RegistryContractTest, CompareAndSwapCreateWinsOnce) {
  const std::string key = "/meridian/v1/imports/default/web";
  auto first = this->reg_->CompareAndSwap(key, 0, "10.0.0.1");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  auto second = this->reg_->CompareAndSwap(key, 0, "10.0.0.2");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(*second);
  auto got = this->reg_->Get(key);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "10.0.0.1");
}

TYPED_TEST(RegistryContractTest, CompareAndSwapStaleRevisionLoses) {
  std::int64_t r1 = this->MustPut(kInfo, "v1");
  std::int64_t r2 = this->MustPut(kInfo, "v2");
  auto stale = this->reg_->CompareAndSwap(kInfo, r1, "from-stale");
  ASSERT_TRUE(stale.ok()) << stale.error().message;
  EXPECT_FALSE(*stale);
  auto fresh = this->reg_->CompareAndSwap(kInfo, r2, "v3");
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_TRUE(*fresh);
  auto got = this->reg_->Get(kInfo);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "v3");
  EXPECT_GT((*got)->revision, r2);
  // Expecting a revision on a missing key loses too.
  auto missing = this->reg_->CompareAndSwap("/meridian/v1/missing", r2, "x");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
  // After a delete, the key may be created again with expected 0.
  ASSERT_TRUE(this->reg_->Delete(kInfo).ok());
  auto recreate = this->reg_->CompareAndSwap(kInfo, 0, "again");
  ASSERT_TRUE(recreate.ok());
  EXPECT_TRUE(*recreate);
}

TYPED_TEST(RegistryContractTest, TtlExpiry) {
  this->MustPut("/meridian/v1/clusters/east/exports/ns/a", "leased", this->T(200));
  this->MustPut("/meridian/v1/clusters/east/exports/ns/b", "forever");
  EXPECT_TRUE(this->Exists("/meridian/v1/clusters/east/exports/ns/a"));
  std::this_thread::sleep_for(this->T(300));
  EXPECT_FALSE(this->Exists("/meridian/v1/clusters/east/exports/ns/a"));
  EXPECT_EQ(this->Keys("/meridian/v1/clusters/east/"),
            (std::vector<std::string>{"/meridian/v1/clusters/east/exports/ns/b"}));
  Status s = this->reg_->KeepAlive("/meridian/v1/clusters/east/exports/ns/a");
  EXPECT_FALSE(s.ok());
  // An expired key can be created again by CAS with expected 0.
  auto cas = this->reg_->CompareAndSwap("/meridian/v1/clusters/east/exports/ns/a", 0, "new");
  ASSERT_TRUE(cas.ok());
  EXPECT_TRUE(*cas);
}

// A leased CAS (the scheduler's leader election): the winner's key lives
// as long as it is renewed, then another candidate's CAS wins.
TYPED_TEST(RegistryContractTest, CompareAndSwapWithTtlExpiresUnlessRenewed) {
  const std::string key = "/meridian/v1/scheduler/leader";
  auto first = this->reg_->CompareAndSwap(key, 0, "a", this->T(300));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  std::this_thread::sleep_for(this->T(200));
  ASSERT_TRUE(this->reg_->KeepAlive(key).ok());
  std::this_thread::sleep_for(this->T(200));  // 400 ms after the CAS, 200 after KeepAlive
  auto held = this->reg_->CompareAndSwap(key, 0, "b", this->T(300));
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(*held);
  std::this_thread::sleep_for(this->T(250));  // 450 ms after KeepAlive: expired
  EXPECT_FALSE(this->Exists(key));
  auto taken = this->reg_->CompareAndSwap(key, 0, "b", this->T(300));
  ASSERT_TRUE(taken.ok());
  EXPECT_TRUE(*taken);
  auto got = this->reg_->Get(key);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "b");
}

TYPED_TEST(RegistryContractTest, ExpiryIsReportedAsDeleteOnce) {
  const std::string key = "/meridian/v1/clusters/east/info";
  std::int64_t put = this->MustPut(key, "x", this->T(150));
  std::this_thread::sleep_for(this->T(250));
  auto changes = this->reg_->ChangesSince("/meridian/v1/", put);
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].type, Type::kDelete);
  EXPECT_EQ((*changes)[0].kv.key, key);
  std::int64_t del = (*changes)[0].kv.revision;
  EXPECT_GT(del, put);
  // Seen once: polling from the delete's revision reports nothing more.
  auto again = this->reg_->ChangesSince("/meridian/v1/", del);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(this->reg_->CurrentRevision(), del);
}

TYPED_TEST(RegistryContractTest, KeepAliveExtends) {
  const std::string key = "/meridian/v1/clusters/east/info";
  std::int64_t rev = this->MustPut(key, "x", this->T(300));
  std::this_thread::sleep_for(this->T(200));
  ASSERT_TRUE(this->reg_->KeepAlive(key).ok());
  std::this_thread::sleep_for(this->T(200));  // 400 ms after the Put, 200 after KeepAlive
  auto got = this->reg_->Get(key);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->revision, rev);           // KeepAlive does not change the revision
  std::this_thread::sleep_for(this->T(200));  // 400 ms after KeepAlive
  EXPECT_FALSE(this->Exists(key));
}

TYPED_TEST(RegistryContractTest, LeaseReportsTtlAndWhatRemains) {
  const std::string key = "/meridian/v1/clusters/east/info";
  this->MustPut(key, "x", this->T(150));
  auto lease = this->reg_->Lease(key);
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  ASSERT_TRUE(lease->has_value());
  EXPECT_EQ((*lease)->ttl, this->T(150));
  EXPECT_LE((*lease)->remaining, this->T(150));
  EXPECT_GE((*lease)->remaining, this->T(100));
  std::this_thread::sleep_for(this->T(75));
  lease = this->reg_->Lease(key);
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_LE((*lease)->remaining, this->T(100)) << "it runs down";
  ASSERT_TRUE(this->reg_->KeepAlive(key).ok());
  lease = this->reg_->Lease(key);
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_GE((*lease)->remaining, this->T(100)) << "renewed";
  EXPECT_EQ((*lease)->ttl, this->T(150));

  this->MustPut("/meridian/v1/w/plain", "x");
  lease = this->reg_->Lease("/meridian/v1/w/plain");
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_EQ(*lease, std::nullopt) << "no lease";
  lease = this->reg_->Lease("/meridian/v1/w/missing");
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_EQ(*lease, std::nullopt) << "no key";
  lease = this->reg_->Lease("/elsewhere");
  ASSERT_FALSE(lease.ok());
  EXPECT_NE(lease.error().message.find("/elsewhere"), std::string::npos) << lease.error().message;
}

TYPED_TEST(RegistryContractTest, KeepAliveOfMissingKeyFails) {
  Status s = this->reg_->KeepAlive("/meridian/v1/clusters/east/info");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("/meridian/v1/clusters/east/info"), std::string::npos);
  this->MustPut(kInfo, "x");
  ASSERT_TRUE(this->reg_->Delete(kInfo).ok());
  EXPECT_FALSE(this->reg_->KeepAlive(kInfo).ok());
}

TYPED_TEST(RegistryContractTest, ChangesSinceReportsPutsAndDeletesInOrder) {
  std::int64_t base = this->reg_->CurrentRevision();
  std::int64_t a = this->MustPut("/meridian/v1/w/a", "1");
  std::int64_t b = this->MustPut("/meridian/v1/w/b", "2");
  this->MustPut("/meridian/v1/elsewhere", "x");
  ASSERT_TRUE(this->reg_->Delete("/meridian/v1/w/a").ok());
  std::int64_t c = this->MustPut("/meridian/v1/w/c", "3");

  auto changes = this->reg_->ChangesSince("/meridian/v1/w/", base);
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].type, Type::kPut);
  EXPECT_EQ((*changes)[0].kv.key, "/meridian/v1/w/b");
  EXPECT_EQ((*changes)[0].kv.value, "2");
  EXPECT_EQ((*changes)[0].kv.revision, b);
  EXPECT_EQ((*changes)[1].type, Type::kDelete);
  EXPECT_EQ((*changes)[1].kv.key, "/meridian/v1/w/a");
  EXPECT_GT((*changes)[1].kv.revision, a);
  EXPECT_EQ((*changes)[2].type, Type::kPut);
  EXPECT_EQ((*changes)[2].kv.key, "/meridian/v1/w/c");
  EXPECT_EQ((*changes)[2].kv.revision, c);

  // Only revisions after `since`.
  auto tail = this->reg_->ChangesSince("/meridian/v1/w/", (*changes)[1].kv.revision);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].kv.key, "/meridian/v1/w/c");
  auto none = this->reg_->ChangesSince("/meridian/v1/w/", this->reg_->CurrentRevision());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TYPED_TEST(RegistryContractTest, ChangesSinceIgnoresOtherPrefixes) {
  std::int64_t base = this->MustPut("/meridian/v1/w/old", "kept");
  this->MustPut("/meridian/v1/elsewhere/a", "x");
  ASSERT_TRUE(this->reg_->Delete("/meridian/v1/elsewhere/a").ok());
  // Nothing under w/ changed after base, though the registry did.
  auto none = this->reg_->ChangesSince("/meridian/v1/w/", base);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());
  auto other = this->reg_->ChangesSince("/meridian/v1/elsewhere/", base);
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].type, Type::kDelete);
}

TYPED_TEST(RegistryContractTest, InvalidKeysRejectedWithMessage) {
  struct Case {
    std::string key;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "must start with /meridian/v1/"},
      {"/other/v1/x", "must start with /meridian/v1/"},
      {"meridian/v1/x", "must start with /meridian/v1/"},
      {"/meridian/v1/", "empty segment"},
      {"/meridian/v1/a//b", "empty segment"},
      {"/meridian/v1/a/", "empty segment"},
      {"/meridian/v1/a/../../etc/passwd", "'..'"},
      {"/meridian/v1/a/./b", "'.' segment"},
      {"/meridian/v1/a b", "outside [A-Za-z0-9._/-]"},
      {"/meridian/v1/a%b", "outside [A-Za-z0-9._/-]"},
      {std::string("/meridian/v1/a\0b", 16), "byte 0x00"},
      {"/meridian/v1/" + std::string(300, 'x'), "longer than"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    auto put = this->reg_->Put(c.key, "v");
    ASSERT_FALSE(put.ok());
    EXPECT_NE(put.error().message.find("invalid registry key"), std::string::npos)
        << put.error().message;
    EXPECT_NE(put.error().message.find(c.reason), std::string::npos) << put.error().message;
    if (c.key.find('\0') == std::string::npos && c.key.size() < 100) {
      EXPECT_NE(put.error().message.find("'" + c.key + "'"), std::string::npos)
          << put.error().message;
    }
    EXPECT_FALSE(this->reg_->Get(c.key).ok());
    EXPECT_FALSE(this->reg_->Delete(c.key).ok());
    EXPECT_FALSE(this->reg_->KeepAlive(c.key).ok());
    EXPECT_FALSE(this->reg_->CompareAndSwap(c.key, 0, "v").ok());
  }
  EXPECT_FALSE(this->reg_->List("/etc/").ok());
  EXPECT_FALSE(this->reg_->ChangesSince("/meridian/v1/../", 0).ok());
  EXPECT_EQ(this->reg_->CurrentRevision(), this->backend_.EmptyRevision());  // nothing written
}

TYPED_TEST(RegistryContractTest, TwoClientsSeeEachOthersWrites) {
  std::unique_ptr<Registry> other = this->backend_.NewClient();
  ASSERT_NE(other, nullptr);
  std::int64_t r1 = this->MustPut("/meridian/v1/clusters/east/info", "east");
  auto got = other->Get("/meridian/v1/clusters/east/info");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "east");
  auto r2 = other->Put("/meridian/v1/clusters/west/info", "west");
  ASSERT_TRUE(r2.ok());
  EXPECT_GT(*r2, r1);  // one revision counter for all clients
  EXPECT_EQ(this->reg_->CurrentRevision(), *r2);
  EXPECT_EQ(this->Keys("/meridian/v1/clusters/").size(), 2u);
  // CAS races between clients: exactly one wins.
  auto a = this->reg_->CompareAndSwap("/meridian/v1/imports/ns/svc", 0, "a");
  auto b = other->CompareAndSwap("/meridian/v1/imports/ns/svc", 0, "b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(*a);
  EXPECT_FALSE(*b);
}

TYPED_TEST(RegistryContractTest, ConcurrentClientsNeverReuseRevisions) {
  std::unique_ptr<Registry> other = this->backend_.NewClient();
  ASSERT_NE(other, nullptr);
  std::vector<std::int64_t> revs_a, revs_b;
  std::thread ta([&] {
    for (int i = 0; i < 20; ++i) {
      auto r = this->reg_->Put("/meridian/v1/a/" + std::to_string(i), "x");
      if (r.ok()) revs_a.push_back(*r);
    }
  });
  std::thread tb([&] {
    for (int i = 0; i < 20; ++i) {
      auto r = other->Put("/meridian/v1/b/" + std::to_string(i), "x");
      if (r.ok()) revs_b.push_back(*r);
    }
  });
  ta.join();
  tb.join();
  ASSERT_EQ(revs_a.size() + revs_b.size(), 40u);
  std::vector<std::int64_t> all = revs_a;
  all.insert(all.end(), revs_b.begin(), revs_b.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(this->reg_->CurrentRevision(), all.back());
}

// --- Watch -------------------------------------------------------------------

TYPED_TEST(RegistryContractTest, WatchBlocksUntilAPutArrives) {
  auto watch = this->reg_->Watch("/meridian/v1/clusters/", this->reg_->CurrentRevision());
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  std::chrono::steady_clock::time_point put_done;
  std::int64_t rev = 0;
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(300));
    this->MustPut("/meridian/v1/elsewhere", "ignored");
    rev = this->MustPut(kInfo, "v");
    put_done = std::chrono::steady_clock::now();
  });
  auto got = (*watch)->Next(std::chrono::seconds(5));
  auto returned = std::chrono::steady_clock::now();
  writer.join();
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].type, Type::kPut);
  EXPECT_EQ((*got)[0].kv.key, kInfo);
  EXPECT_EQ((*got)[0].kv.value, "v");
  EXPECT_EQ((*got)[0].kv.revision, rev);
  EXPECT_LT(returned - put_done, milliseconds(150));
}

TYPED_TEST(RegistryContractTest, WatchReportsDeletes) {
  std::int64_t put = this->MustPut(kInfo, "v");
  auto watch = this->reg_->Watch("/meridian/v1/", put);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  ASSERT_TRUE(this->reg_->Delete(kInfo).ok());
  auto events = this->Collect(**watch, 1, std::chrono::seconds(5));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Type::kDelete);
  EXPECT_EQ(events[0].kv.key, kInfo);
  EXPECT_GT(events[0].kv.revision, put);
}

TYPED_TEST(RegistryContractTest, WatchTimeoutReturnsEmpty) {
  auto watch = this->reg_->Watch("/meridian/v1/", this->reg_->CurrentRevision());
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  auto start = std::chrono::steady_clock::now();
  auto got = (*watch)->Next(milliseconds(200));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->empty());
  EXPECT_GE(took, milliseconds(190));
  EXPECT_LT(took, milliseconds(1000));
}

TYPED_TEST(RegistryContractTest, WatchResumesFromSince) {
  std::int64_t a = this->MustPut("/meridian/v1/w/a", "1");
  std::int64_t b = this->MustPut("/meridian/v1/w/b", "2");
  std::int64_t c = this->MustPut("/meridian/v1/w/c", "3");
  auto watch = this->reg_->Watch("/meridian/v1/w/", a);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  auto events = this->Collect(**watch, 2, std::chrono::seconds(5));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.key, "/meridian/v1/w/b");
  EXPECT_EQ(events[0].kv.revision, b);
  EXPECT_EQ(events[1].kv.key, "/meridian/v1/w/c");
  EXPECT_EQ(events[1].kv.revision, c);
  // Later changes follow, in order, each once.
  std::int64_t d = this->MustPut("/meridian/v1/w/a", "4");
  auto more = this->Collect(**watch, 1, std::chrono::seconds(5));
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].kv.revision, d);
  auto none = (*watch)->Next(milliseconds(200));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// --- OpenRegistry -----------------------------------------------------------

TEST(OpenRegistryTest, Schemes) {
  // Nothing listens on port 1: the etcd backend is there, and says so.
  auto etcd = OpenRegistry("etcd://127.0.0.1:1");
  ASSERT_FALSE(etcd.ok());
  EXPECT_NE(etcd.error().message.find("127.0.0.1:1"), std::string::npos) << etcd.error().message;
  auto bad = OpenRegistry("etcd://127.0.0.1:1?colour=blue");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unknown parameter 'colour'"), std::string::npos)
      << bad.error().message;
  auto ftp = OpenRegistry("ftp://x");
  ASSERT_FALSE(ftp.ok());
  EXPECT_NE(ftp.error().message.find("'ftp:'"), std::string::npos) << ftp.error().message;
  auto none = OpenRegistry("/var/lib/meridian");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no scheme"), std::string::npos);
  EXPECT_FALSE(OpenRegistry("dir:").ok());
}

// --- DirRegistry on-disk behaviour -------------------------------------------

class DirRegistryTest : public testing::Test {
 protected:
  std::unique_ptr<DirRegistry> Open(DirRegistry::Options options = {}) {
    auto r = DirRegistry::Open(dir_.path() + "/reg", options);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(*r) : nullptr;
  }
  void WriteRaw(const DirRegistry& reg, const std::string& key, const std::string& bytes) {
    std::ofstream(reg.KeysDir() + "/" + DirRegistry::FileNameForKey(key),
                  std::ios::binary | std::ios::trunc)
        << bytes;
  }
  TempDir dir_;
};

TEST_F(DirRegistryTest, MalformedRecordsAreSkipped) {
  auto reg = Open();
  ASSERT_NE(reg, nullptr);
  ASSERT_TRUE(reg->Put("/meridian/v1/good/a", "A").ok());
  ASSERT_TRUE(reg->Put("/meridian/v1/good/c", "C").ok());
  WriteRaw(*reg, "/meridian/v1/good/b1", "garbage without a newline");
  WriteRaw(*reg, "/meridian/v1/good/b2", "MRR1 5 0 0 0 0 100\nshort");       // truncated value
  WriteRaw(*reg, "/meridian/v1/good/b3", "MRR1 x 0 0 0 0 1\nv");             // bad number
  WriteRaw(*reg, "/meridian/v1/good/b4", "XXXX 5 0 0 0 0 1\nv");             // bad magic
  WriteRaw(*reg, "/meridian/v1/good/b5", "MRR1 5 0 0\n");                    // missing fields
  WriteRaw(*reg, "/meridian/v1/good/b6", "");                                // empty file
  WriteRaw(*reg, "/meridian/v1/good/b7", "MRR1 5 0 0 1 0 1\nv");             // tombstone + value
  WriteRaw(*reg, "/meridian/v1/good/b8", std::string(5000, '\xff') + "\n");  // binary garbage
  std::ofstream(reg->KeysDir() + "/not-a-key") << "MRR1 5 0 0 0 0 1\nv";     // stray file

  auto list = reg->List("/meridian/v1/");
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key, "/meridian/v1/good/a");
  EXPECT_EQ((*list)[1].key, "/meridian/v1/good/c");
  auto changes = reg->ChangesSince("/meridian/v1/", 0);
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  EXPECT_EQ(changes->size(), 2u);

  // Get names the key and the reason; Put and Delete repair the record.
  auto get = reg->Get("/meridian/v1/good/b2");
  ASSERT_FALSE(get.ok());
  EXPECT_NE(get.error().message.find("/meridian/v1/good/b2"), std::string::npos);
  EXPECT_NE(get.error().message.find("truncated"), std::string::npos) << get.error().message;
  ASSERT_TRUE(reg->Put("/meridian/v1/good/b2", "fixed").ok());
  auto fixed = reg->Get("/meridian/v1/good/b2");
  ASSERT_TRUE(fixed.ok() && fixed->has_value());
  EXPECT_EQ((*fixed)->value, "fixed");
  ASSERT_TRUE(reg->Delete("/meridian/v1/good/b1").ok());
  auto gone = reg->Get("/meridian/v1/good/b1");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(DirRegistryTest, RecordRoundTrip) {
  DirRegistry::Record r{"/meridian/v1/k", std::string("v\n\0x", 4), 42, 1000, 500, false, 7};
  std::string bytes = DirRegistry::EncodeRecord(r);
  EXPECT_EQ(bytes.substr(0, bytes.find('\n')), "MRR1 42 1000 500 0 7 4");
  auto back = DirRegistry::DecodeRecord(r.key, bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->value, r.value);
  EXPECT_EQ(back->revision, 42);
  EXPECT_EQ(back->expiry_ms, 1000);
  EXPECT_EQ(back->ttl_ms, 500);
  EXPECT_FALSE(back->tombstone);
  // Every strict prefix of a record is rejected.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DirRegistry::DecodeRecord(r.key, bytes.substr(0, n)).ok()) << n;
  }
}

TEST_F(DirRegistryTest, KeysMapToFlatFilesInsideTheDirectory) {
  auto reg = Open();
  ASSERT_NE(reg, nullptr);
  ASSERT_TRUE(reg->Put("/meridian/v1/clusters/east/info", "x").ok());
  EXPECT_TRUE(std::filesystem::exists(reg->KeysDir() + "/%meridian%v1%clusters%east%info"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/reg/.revision"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/reg/.lock"));
}

TEST_F(DirRegistryTest, TombstonesAreBoundedAndOldWatchersAreToldToRelist) {
  DirRegistry::Options options;
  options.max_tombstones = 2;
  auto reg = Open(options);
  ASSERT_NE(reg, nullptr);
  for (int i = 0; i < 4; ++i) {
    std::string key = "/meridian/v1/t/" + std::to_string(i);
    ASSERT_TRUE(reg->Put(key, "x").ok());
    ASSERT_TRUE(reg->Delete(key).ok());
  }
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(reg->KeysDir())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 2u);
  auto old = reg->ChangesSince("/meridian/v1/", 0);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().message.find("compacted"), std::string::npos);
  // A watcher that is recent enough still sees the retained deletes.
  auto recent = reg->ChangesSince("/meridian/v1/", 4);
  ASSERT_TRUE(recent.ok()) << recent.error().message;
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].type, Type::kDelete);
  EXPECT_EQ((*recent)[1].type, Type::kDelete);
}

TEST_F(DirRegistryTest, TwoProcessesShareTheRevisionCounter) {
  auto reg = Open();
  ASSERT_NE(reg, nullptr);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto mine = DirRegistry::Open(dir_.path() + "/reg");
    int failures = mine.ok() ? 0 : 1;
    for (int i = 0; i < 25 && mine.ok(); ++i) {
      if (!(*mine)->Put("/meridian/v1/child/" + std::to_string(i), "c").ok()) ++failures;
    }
    _exit(failures == 0 ? 0 : 1);
  }
  std::vector<std::int64_t> revs;
  for (int i = 0; i < 25; ++i) {
    auto r = reg->Put("/meridian/v1/parent/" + std::to_string(i), "p");
    ASSERT_TRUE(r.ok()) << r.error().message;
    revs.push_back(*r);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto changes = reg->ChangesSince("/meridian/v1/", 0);
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  ASSERT_EQ(changes->size(), 50u);
  for (std::size_t i = 1; i < changes->size(); ++i) {
    EXPECT_LT((*changes)[i - 1].kv.revision, (*changes)[i].kv.revision);
  }
  EXPECT_EQ(reg->CurrentRevision(), 50);
}

}  // namespace
}  // namespace meridian::registry
