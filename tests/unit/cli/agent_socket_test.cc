// meridianctl and the agent's control socket (<state-dir>/agent.sock): the
// live status when the agent answers there, status.json when it does not,
// and a note on stderr when a socket is left that nobody answers on. The
// agent's side is the real server (health::HealthServer::StartUnix), on a
// thread of the test.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "health/health_server.h"
#include "run_process.h"
#include "temp_dir.h"

namespace meridian {
namespace {

using test_support::ProcessResult;
using test_support::TempDir;

class AgentSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Path("state"));
    std::ofstream(dir_.Path("state/status.json")) << R"({"state": "stopped"})";
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  void Serve(health::HealthServer::Handler handler) {
    auto s = health::HealthServer::StartUnix(io_, socket_, std::move(handler));
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(s).value();
    thread_ = std::thread([this] { io_.run(); });
  }
  ProcessResult Status(const std::string& field) {
    return test_support::RunProcess(
        {MERIDIANCTL_BIN, "--node", "n", "--state-dir", dir_.Path("state"), "status", field});
  }

  TempDir dir_;
  const std::string socket_ = dir_.Path("state/agent.sock");
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<health::HealthServer> server_;
  std::thread thread_;
};

TEST_F(AgentSocketTest, TheLiveStatusComesFromTheSocket) {
  Serve([](const std::string& path) -> health::HealthReply {
    if (path == "/status") return {200, "application/json", R"({"state": "serving"})"};
    return {404, "text/plain", "no\n"};
  });
  struct stat st {};
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "root only";
  auto r = Status("state");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "serving\n") << "the socket's answer, not the file's";
  EXPECT_EQ(r.err, "");
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(socket_)) << "removed with the server";
}

TEST_F(AgentSocketTest, NoSocketReadsTheFileWithoutANote) {
  auto r = Status("state");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "stopped\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(AgentSocketTest, ASocketNobodyListensOnFallsBackWithANote) {
  // What an agent killed with -9 leaves behind.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  close(fd);
  auto r = Status("state");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "stopped\n");
  EXPECT_EQ(r.err, "meridianctl: the agent does not answer on " + socket_ +
                       ": connect failed: Connection refused; showing " +
                       dir_.Path("state/status.json") + " as it was last written\n");
}

TEST_F(AgentSocketTest, AnErrorAnswerFallsBackNamingIt) {
  Serve([](const std::string&) -> health::HealthReply { return {503, "text/plain", "busy\n"}; });
  auto r = Status("state");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "stopped\n");
  EXPECT_NE(r.err.find(socket_ + ": GET /status: 503 busy"), std::string::npos) << r.err;
}

TEST_F(AgentSocketTest, AStaleFileIsReplacedByANewServer) {
  std::ofstream(socket_) << "left over";
  Serve([](const std::string&) -> health::HealthReply {
    return {200, "application/json", R"({"state": "starting"})"};
  });
  EXPECT_EQ(Status("state").out, "starting\n");
}

}  // namespace
}  // namespace meridian
