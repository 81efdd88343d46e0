// etcd-only behaviour of EtcdRegistry, against real etcd processes: URL
// parsing, per-cluster credentials, TLS, watches across an etcd restart,
// compaction, and an unreachable registry. (The shared contract runs in
// registry_contract_test.cc.)
#include "registry/etcd_registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "etcd_server.h"
#include "registry/registry.h"
#include "temp_dir.h"

namespace meridian::registry {
namespace {

using meridian::test_support::EtcdServer;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// The agent checks its URL at start but opens (and retries) the registry
// later: an unreachable etcd must pass the check, a malformed URL must not.
TEST(EtcdUrlTest, CheckRegistryUrlNeedsNoServer) {
  EXPECT_TRUE(CheckRegistryUrl("etcd://127.0.0.1:9").ok());
  EXPECT_TRUE(CheckRegistryUrl("dir:/nonexistent/yet").ok());
  auto bad = CheckRegistryUrl("etcd://");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("etcd://"), std::string::npos) << bad.error().message;
  auto no_path = CheckRegistryUrl("dir:");
  ASSERT_FALSE(no_path.ok());
  EXPECT_EQ(no_path.error().message, "registry url 'dir:': dir: needs a path");
  auto scheme = CheckRegistryUrl("consul://x");
  ASSERT_FALSE(scheme.ok());
  EXPECT_EQ(scheme.error().message,
            "registry url 'consul://x': unknown scheme 'consul:' (expected dir: or etcd:)");
}

TEST(EtcdUrlTest, Parses) {
  auto o = EtcdRegistry::ParseUrl(
      "etcd://10.0.0.1:2379,10.0.0.2:2379?user=c1&password=pw&ca=/ca.pem&cert=/c.pem&key=/k.pem");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->endpoints, (std::vector<std::string>{"10.0.0.1:2379", "10.0.0.2:2379"}));
  EXPECT_EQ(o->username, "c1");
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->ca_file, "/ca.pem");
  EXPECT_EQ(o->cert_file, "/c.pem");
  EXPECT_EQ(o->key_file, "/k.pem");
  auto short_form = EtcdRegistry::ParseUrl("etcd:etcd.example:2379");
  ASSERT_TRUE(short_form.ok());
  EXPECT_EQ(short_form->endpoints, (std::vector<std::string>{"etcd.example:2379"}));
  for (const char* bad : {"etcd://", "etcd://host", "etcd://:2379", "etcd://h:1,", "etcd://h:1?x=y",
                          "etcd://http://h:1", "etcd://h:1?user=u"}) {
    SCOPED_TRACE(bad);
    auto r = EtcdRegistry::ParseUrl(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(EtcdRegistry::PrefixEnd("/a/"), "/a0");
  EXPECT_EQ(EtcdRegistry::ParseUrl("etcd://h:1?user=u").error().message,
            "registry url 'etcd://h:1?user=u': user= needs password= or password_file=");
  EXPECT_EQ(EtcdRegistry::PrefixEnd(std::string("a\xff", 2)), "b");
}

class EtcdRegistryTest : public testing::Test {
 protected:
  void SetUp() override {
    if (EtcdServer::Binary().empty()) GTEST_SKIP() << "etcd is not installed";
  }
  void StartServer(const EtcdServer::Tls* tls = nullptr) {
    Status s = server_.Start(tls);
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  std::unique_ptr<Registry> Open(const std::string& url) {
    auto r = OpenRegistry(url);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(*r) : nullptr;
  }
  EtcdServer server_;
};

// A password never shows: status files, logs and errors print the URL
// redacted; password_file= keeps it off the command line altogether.
TEST(EtcdUrlTest, PasswordsAreRedactedAndMayComeFromAFile) {
  EXPECT_EQ(RedactRegistryUrl("etcd://h:1?user=u&password=hunter2&ca=/ca.pem"),
            "etcd://h:1?user=u&password=***&ca=/ca.pem");
  EXPECT_EQ(RedactRegistryUrl("etcd://h:1?password=&user=u"), "etcd://h:1?password=***&user=u");
  EXPECT_EQ(RedactRegistryUrl("etcd://h:1?password_file=/run/pw"),
            "etcd://h:1?password_file=/run/pw");
  EXPECT_EQ(RedactRegistryUrl("dir:/var/lib/reg"), "dir:/var/lib/reg");
  for (const char* bad : {"etcd://h:1?user=u&password=hunter2&x=y", "etcd://h?password=hunter2"}) {
    auto r = CheckRegistryUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("password=***"), std::string::npos) << r.error().message;
  }

  test_support::TempDir dir;
  const std::string file = dir.path() + "/pw";
  std::ofstream(file) << "s3cret\n";
  auto o = EtcdRegistry::ParseUrl("etcd://h:1?user=c1&password_file=" + file);
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->password, "s3cret") << "the first line, without its newline";
  EXPECT_EQ(
      EtcdRegistry::ParseUrl("etcd://h:1?user=c1&password=a&password_file=" + file).error().message,
      "registry url 'etcd://h:1?user=c1&password=***&password_file=" + file +
          "': give password= or password_file=, not both");
  EXPECT_EQ(EtcdRegistry::ParseUrl("etcd://h:1?user=c1&password_file=" + dir.path() + "/none")
                .error()
                .message,
            "registry url 'etcd://h:1?user=c1&password_file=" + dir.path() +
                "/none': password_file " + dir.path() + "/none: No such file or directory");
  std::ofstream(dir.path() + "/empty") << "\n";
  EXPECT_EQ(EtcdRegistry::ParseUrl("etcd://h:1?user=c1&password_file=" + dir.path() + "/empty")
                .error()
                .message,
            "registry url 'etcd://h:1?user=c1&password_file=" + dir.path() +
                "/empty': password_file " + dir.path() + "/empty: its first line is empty");
  EXPECT_FALSE(CheckRegistryUrl("etcd://h:1?user=c1&password_file=" + dir.path() + "/none").ok())
      << "the agent checks the file at start";
}

TEST_F(EtcdRegistryTest, PerClusterCredentials) {
  StartServer();
  ASSERT_TRUE(server_.AddUser("root", "rootpw").ok());
  ASSERT_TRUE(server_.GrantRole("root", "root").ok());
  for (std::string c : {"c1", "c2"}) {
    ASSERT_TRUE(server_.AddUser(c, c + "-secret").ok());
    ASSERT_TRUE(server_.AddRole(c).ok());
    // readwrite on its own prefix, read on the whole registry.
    ASSERT_TRUE(server_.GrantPrefix(c, 2, "/meridian/v1/clusters/" + c + "/").ok());
    ASSERT_TRUE(server_.GrantPrefix(c, 0, "/meridian/v1/").ok());
    ASSERT_TRUE(server_.GrantRole(c, c).ok());
  }
  Status enabled = server_.EnableAuth();
  ASSERT_TRUE(enabled.ok()) << enabled.error().message;

  // c1's password from a file, as a mounted Secret gives it.
  test_support::TempDir secrets;
  std::ofstream(secrets.path() + "/c1") << "c1-secret\n";
  auto c1 = Open(server_.url() + "?user=c1&password_file=" + secrets.path() + "/c1");
  auto c2 = Open(server_.url() + "?user=c2&password=c2-secret");
  ASSERT_NE(c1, nullptr);
  ASSERT_NE(c2, nullptr);
  std::int64_t since = c1->CurrentRevision();
  auto watch = c1->Watch("/meridian/v1/", since);
  ASSERT_TRUE(watch.ok()) << watch.error().message;

  // Own prefix: plain and leased writes, lease renewal, delete.
  ASSERT_TRUE(c1->Put("/meridian/v1/clusters/c1/info", "one").ok());
  auto leased = c1->Put("/meridian/v1/clusters/c1/exports/ns/web", "e", std::chrono::seconds(5));
  ASSERT_TRUE(leased.ok()) << leased.error().message;
  ASSERT_TRUE(
      c1->Put("/meridian/v1/clusters/c1/exports/ns/web", "e2", std::chrono::seconds(5)).ok());
  EXPECT_TRUE(c1->KeepAlive("/meridian/v1/clusters/c1/exports/ns/web").ok());
  ASSERT_TRUE(c2->Put("/meridian/v1/clusters/c2/info", "two").ok());

  // Someone else's prefix: refused, and the error says so and names the key.
  auto foreign = c1->Put("/meridian/v1/clusters/c2/info", "hijack");
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("permission denied"), std::string::npos)
      << foreign.error().message;
  EXPECT_NE(foreign.error().message.find("/meridian/v1/clusters/c2/info"), std::string::npos);
  EXPECT_FALSE(c1->Delete("/meridian/v1/clusters/c2/info").ok());
  EXPECT_FALSE(c1->CompareAndSwap("/meridian/v1/imports/ns/web", 0, "10.0.0.1").ok());
  EXPECT_FALSE(c2->Put("/meridian/v1/clusters/c1/info", "hijack").ok());

  // Reading everything is allowed: Get, List, ChangesSince, Watch.
  auto got = c1->Get("/meridian/v1/clusters/c2/info");
  ASSERT_TRUE(got.ok() && got->has_value()) << (got.ok() ? "" : got.error().message);
  EXPECT_EQ((*got)->value, "two");
  auto list = c1->List("/meridian/v1/");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->size(), 3u);
  auto changes = c1->ChangesSince("/meridian/v1/clusters/", since);
  ASSERT_TRUE(changes.ok()) << changes.error().message;
  EXPECT_EQ(changes->size(), 3u);
  std::vector<WatchEvent> events;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (events.size() < 4 && Clock::now() < deadline) {
    auto next = (*watch)->Next(milliseconds(100));
    ASSERT_TRUE(next.ok()) << next.error().message;
    events.insert(events.end(), next->begin(), next->end());
  }
  EXPECT_EQ(events.size(), 4u);  // c1: info, web twice; c2: info

  auto wrong = OpenRegistry(server_.url() + "?user=c1&password=nope");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("authenticate as 'c1'"), std::string::npos)
      << wrong.error().message;
  auto anonymous = OpenRegistry(server_.url());
  EXPECT_FALSE(anonymous.ok());
}

TEST_F(EtcdRegistryTest, WatchSurvivesAnEtcdRestart) {
  StartServer();
  auto reg = Open(server_.url());
  ASSERT_NE(reg, nullptr);
  std::int64_t r1 = reg->Put("/meridian/v1/clusters/east/info", "a").value();
  auto watch = reg->Watch("/meridian/v1/", r1);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  ASSERT_TRUE(reg->Put("/meridian/v1/clusters/east/info", "b").ok());
  auto first = (*watch)->Next(std::chrono::seconds(5));
  ASSERT_TRUE(first.ok() && first->size() == 1u);
  EXPECT_EQ((*first)[0].kv.value, "b");

  Status restarted = server_.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  // The client's channel reconnects by itself; the first calls may still fail.
  Result<std::int64_t> put = Error{"not tried"};
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    put = reg->Put("/meridian/v1/clusters/east/info", "c");
    if (put.ok()) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(put.ok()) << put.error().message;
  std::vector<WatchEvent> events;
  int transient_errors = 0;
  for (auto deadline = Clock::now() + std::chrono::seconds(10);
       events.empty() && Clock::now() < deadline;) {
    auto next = (*watch)->Next(milliseconds(200));
    if (!next.ok()) {
      ++transient_errors;  // "reconnecting" while etcd was down
      EXPECT_EQ(next.error().message.find("compacted"), std::string::npos);
      continue;
    }
    events.insert(events.end(), next->begin(), next->end());
  }
  ASSERT_EQ(events.size(), 1u) << "transient errors: " << transient_errors;
  EXPECT_EQ(events[0].kv.value, "c");  // "b" is not delivered twice
  EXPECT_EQ(events[0].kv.revision, *put);
}

// A lease read after etcd restarted: etcd keeps leases across a restart
// (and renews them to their full TTL when its leader comes back), so a
// cluster's record keeps its lease, the agent's lease poll reads it again
// once the client reconnected, and the controller's KeepAlive goes on.
TEST_F(EtcdRegistryTest, LeaseIsReadAgainAfterAnEtcdRestart) {
  StartServer();
  auto reg = Open(server_.url());
  ASSERT_NE(reg, nullptr);
  const std::string key = "/meridian/v1/clusters/east/info";
  ASSERT_TRUE(reg->Put(key, "a", std::chrono::seconds(30)).ok());
  auto before = reg->Lease(key);
  ASSERT_TRUE(before.ok() && before->has_value());
  EXPECT_EQ((*before)->ttl, std::chrono::seconds(30));

  Status restarted = server_.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  Result<std::optional<LeaseInfo>> after = Error{"not tried"};
  for (auto deadline = Clock::now() + std::chrono::seconds(10); Clock::now() < deadline;) {
    after = reg->Lease(key);
    if (after.ok()) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_TRUE(after->has_value()) << "the record kept its lease";
  EXPECT_EQ((*after)->ttl, std::chrono::seconds(30));
  EXPECT_GT((*after)->remaining, std::chrono::seconds(20));
  EXPECT_LE((*after)->remaining, std::chrono::seconds(30));
  ASSERT_TRUE(reg->KeepAlive(key).ok()) << "the controller's renewal goes on";
  auto renewed = reg->Lease(key);
  ASSERT_TRUE(renewed.ok() && renewed->has_value());
  EXPECT_GT((*renewed)->remaining, std::chrono::seconds(28));
}

TEST_F(EtcdRegistryTest, CompactedHistoryIsAnError) {
  StartServer();
  auto reg = Open(server_.url());
  ASSERT_NE(reg, nullptr);
  std::int64_t r1 = reg->Put("/meridian/v1/a", "1").value();
  ASSERT_TRUE(reg->Put("/meridian/v1/a", "2").ok());
  ASSERT_TRUE(reg->Delete("/meridian/v1/a").ok());
  std::int64_t r4 = reg->Put("/meridian/v1/b", "x").value();
  Status compacted = server_.Compact(r4);
  ASSERT_TRUE(compacted.ok()) << compacted.error().message;

  auto changes = reg->ChangesSince("/meridian/v1/", r1);
  ASSERT_FALSE(changes.ok());
  EXPECT_NE(changes.error().message.find("compacted"), std::string::npos)
      << changes.error().message;
  auto watch = reg->Watch("/meridian/v1/", r1);
  ASSERT_TRUE(watch.ok());
  auto next = (*watch)->Next(std::chrono::seconds(5));
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.error().message.find("compacted"), std::string::npos) << next.error().message;
  // From the compaction revision on, history is there.
  std::int64_t r5 = reg->Put("/meridian/v1/c", "y").value();
  auto recent = reg->ChangesSince("/meridian/v1/", r4);
  ASSERT_TRUE(recent.ok()) << recent.error().message;
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].kv.revision, r5);
}

TEST_F(EtcdRegistryTest, UnreachableRegistryFailsWithinTheDeadline) {
  // Nothing listens there: Open fails, naming the endpoint, quickly.
  auto start = Clock::now();
  auto refused = OpenRegistry("etcd://127.0.0.1:9");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("127.0.0.1:9"), std::string::npos)
      << refused.error().message;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));

  // An open registry whose etcd dies: every call errors within the deadline.
  StartServer();
  auto reg = Open(server_.url());
  ASSERT_NE(reg, nullptr);
  std::int64_t r1 = reg->Put("/meridian/v1/a", "1").value();
  auto watch = reg->Watch("/meridian/v1/", r1);
  ASSERT_TRUE(watch.ok());
  server_.Kill();
  start = Clock::now();
  auto put = reg->Put("/meridian/v1/a", "2");
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.error().message.find(server_.endpoint()), std::string::npos) << put.error().message;
  EXPECT_FALSE(reg->Get("/meridian/v1/a").ok());
  EXPECT_FALSE(reg->List("/meridian/v1/").ok());
  EXPECT_FALSE(reg->ChangesSince("/meridian/v1/", r1).ok());
  EXPECT_EQ(reg->CurrentRevision(), r1);  // the last one seen
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(12));
  // The watch reports the outage (and keeps trying) instead of hanging.
  auto next = (*watch)->Next(std::chrono::seconds(3));
  EXPECT_FALSE(next.ok() && !next->empty());
}

TEST_F(EtcdRegistryTest, Tls) {
  if (system("command -v openssl >/dev/null") != 0) GTEST_SKIP() << "openssl is not installed";
  const std::string d = server_.dir().path();
  std::string script =
      "cd '" + d +
      "' && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 "
      "-subj /CN=meridian-test-ca 2>/dev/null"
      " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj /CN=127.0.0.1 2>/dev/null"
      " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 1 -extfile ext.cnf 2>/dev/null";
  ASSERT_EQ(system(script.c_str()), 0);
  EtcdServer::Tls tls{d + "/server.pem", d + "/server.key"};
  StartServer(&tls);

  auto reg = Open(server_.url() + "?ca=" + d + "/ca.pem");
  ASSERT_NE(reg, nullptr);
  auto rev = reg->Put("/meridian/v1/clusters/east/info", "over tls");
  ASSERT_TRUE(rev.ok()) << rev.error().message;
  auto got = reg->Get("/meridian/v1/clusters/east/info");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "over tls");
  // Plain TCP to a TLS port fails, within the deadline.
  EXPECT_FALSE(OpenRegistry(server_.url()).ok());
  auto missing_ca = OpenRegistry(server_.url() + "?ca=" + d + "/nope.pem");
  ASSERT_FALSE(missing_ca.ok());
  EXPECT_NE(missing_ca.error().message.find("nope.pem"), std::string::npos);
}

}  // namespace
}  // namespace meridian::registry
