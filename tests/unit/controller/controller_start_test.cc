// meridian-controller against an etcd that is not there yet: it keeps
// retrying (status "unreachable"), publishes once etcd starts, and
// withdraws on SIGTERM. The real binary and a real etcd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "etcd_server.h"
#include "registry/registry.h"
#include "temp_dir.h"

namespace meridian::controller {
namespace {

using test_support::EtcdServer;
using test_support::TempDir;

constexpr const char* kCluster = R"(apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata:
  name: east
spec:
  id: 2
  podCIDRs: ["10.2.0.0/16"]
  gateway: 172.16.2.10
)";

// Runs the binary args[0]; with `log`, its stdout and stderr go there.
pid_t Spawn(const std::vector<std::string>& args, const std::string& log = "") {
  pid_t pid = fork();
  if (pid == 0) {
    if (!log.empty()) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) _exit(126);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Kills and reaps the child when a test ends early on a failed ASSERT, so no
// controller is left retrying; Reaped() once the test waited for it itself.
struct ChildGuard {
  pid_t pid;
  ~ChildGuard() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  void Reaped() { pid = -1; }
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json ReadStatus(const std::string& path) {
  auto j = nlohmann::json::parse(ReadText(path), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

// Polls status.json until its state is `want`; the last status read.
nlohmann::json WaitForState(const std::string& path, const std::string& want,
                            std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json s;
  while (std::chrono::steady_clock::now() < deadline) {
    s = ReadStatus(path);
    if (s.value("state", "") == want) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return s;
}

TEST(ControllerStartTest, WaitsForEtcdPublishesThenWithdraws) {
  if (EtcdServer::Binary().empty()) GTEST_SKIP() << "etcd is not installed";
  EtcdServer etcd;
  ASSERT_TRUE(etcd.Start().ok()) << etcd.Log();
  etcd.Kill();  // its port is known now, and nothing answers there
  TempDir dir;
  std::filesystem::create_directories(dir.Path("m"));
  dir.Write("m/cluster.yaml", kCluster);
  const std::string status = dir.Path("status.json");
  pid_t pid = Spawn({MERIDIAN_CONTROLLER_BIN, "--cluster", "east", "--manifests", dir.Path("m"),
                     "--registry", etcd.url(), "--status-file", status, "--lease-ttl-ms", "3000",
                     "--metrics-listen", "off"});
  ASSERT_GT(pid, 0);
  ChildGuard guard{pid};

  auto s = WaitForState(status, "unreachable", std::chrono::seconds(20));
  EXPECT_EQ(s.value("state", ""), "unreachable") << s.dump();
  ASSERT_TRUE(s.contains("errors") && s["errors"].size() == 1) << s.dump();
  EXPECT_EQ(s["errors"][0].get<std::string>().rfind("registry unreachable: ", 0), 0u) << s.dump();
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "the controller must keep running";

  ASSERT_TRUE(etcd.Start().ok()) << etcd.Log();
  s = WaitForState(status, "publishing", std::chrono::seconds(20));
  EXPECT_EQ(s.value("state", ""), "publishing") << s.dump();
  EXPECT_TRUE(s["errors"].empty()) << s.dump();
  auto reg = registry::OpenRegistry(etcd.url());
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  auto info = (*reg)->Get("/meridian/v1/clusters/east/info");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->has_value()) << "ClusterInfo published";

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  guard.Reaped();
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << wstatus;
  info = (*reg)->Get("/meridian/v1/clusters/east/info");
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->has_value()) << "withdrawn on SIGTERM";
}

// A password in the registry URL is shown as password=*** wherever the
// controller shows the URL: its status file and its log, unreachable
// registry included.
TEST(ControllerStartTest, ARegistryPasswordNeverReachesStatusOrLog) {
  TempDir dir;
  std::filesystem::create_directories(dir.Path("m"));
  dir.Write("m/cluster.yaml", kCluster);
  const std::string status = dir.Path("status.json"), log = dir.Path("controller.log");
  pid_t pid = Spawn({MERIDIAN_CONTROLLER_BIN, "--cluster", "east", "--manifests", dir.Path("m"),
                     "--registry", "etcd://127.0.0.1:1?user=east&password=s3cr3t-pw",
                     "--status-file", status, "--metrics-listen", "off"},
                    log);
  ASSERT_GT(pid, 0);
  ChildGuard guard{pid};
  auto s = WaitForState(status, "unreachable", std::chrono::seconds(20));
  ASSERT_EQ(s.value("state", ""), "unreachable") << s.dump();
  EXPECT_EQ(s.value("registry", ""), "etcd://127.0.0.1:1?user=east&password=***") << s.dump();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  guard.Reaped();
  const std::string status_text = ReadText(status), log_text = ReadText(log);
  EXPECT_EQ(status_text.find("s3cr3t-pw"), std::string::npos) << status_text;
  EXPECT_EQ(log_text.find("s3cr3t-pw"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("password=***"), std::string::npos) << log_text;
}

// --once cannot wait: an unreachable registry is exit code 1; a malformed
// URL always is.
TEST(ControllerStartTest, OnceAndMalformedUrlFailFast) {
  TempDir dir;
  std::filesystem::create_directories(dir.Path("m"));
  dir.Write("m/cluster.yaml", kCluster);
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--registry", "etcd://127.0.0.1:1", "--once"},
        std::vector<std::string>{"--registry", "nope://x"}}) {
    std::vector<std::string> args = {MERIDIAN_CONTROLLER_BIN, "--cluster", "east", "--manifests",
                                     dir.Path("m")};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_t pid = Spawn(args);
    ASSERT_GT(pid, 0);
    ChildGuard guard{pid};
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    guard.Reaped();
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 1) << extra[1] << " " << wstatus;
  }
}

}  // namespace
}  // namespace meridian::controller
