// --log-format json on the real binaries: every line a process writes is one
// JSON object with its component and identity, and the error names what
// failed; a format we do not have is refused when the flags are parsed, and
// so are the agent's other flags' bad values.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "run_process.h"
#include "temp_dir.h"

namespace meridian {
namespace {

using test_support::RunProcess;
using test_support::TempDir;

TEST(LogFormatCliTest, ControllerErrorIsOneJsonLineNamingTheUrl) {
  TempDir dir("meridian-log-format");
  std::filesystem::create_directories(dir.Path("m"));
  auto r = RunProcess({MERIDIAN_CONTROLLER_BIN, "--cluster", "east", "--manifests", dir.Path("m"),
                       "--registry", "nope://x", "--log-format", "json"});
  EXPECT_EQ(r.exit_code, 1);
  std::istringstream lines(r.out + r.err);
  int parsed = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    EXPECT_EQ(j["component"], "controller");
    EXPECT_EQ(j["cluster"], "east");
    EXPECT_EQ(j["level"], "error");
    EXPECT_EQ(j["msg"], "registry url 'nope://x': unknown scheme 'nope:' (expected dir: or etcd:)");
    ++parsed;
  }
  EXPECT_EQ(parsed, 1) << r.out << r.err;
}

TEST(LogFormatCliTest, UnknownFormatIsRefusedAtParse) {
  for (const auto& [bin, identity] :
       {std::pair{MERIDIAN_CONTROLLER_BIN, "--cluster"}, std::pair{MERIDIAN_AGENT_BIN, "--node"}}) {
    auto r = RunProcess({bin, identity, "east", "--manifests", "/nonexistent", "--log-format",
                         "xml", "--check-flags"});
    EXPECT_NE(r.exit_code, 0) << bin;
    EXPECT_NE(r.err.find("--log-format: xml not in {text,json}"), std::string::npos)
        << bin << ": " << r.err;
  }
}

// The agent's flags of map sizes and tunnel policy: bad values are refused
// when the flags are parsed, naming the flag; good ones pass.
TEST(AgentFlagsCliTest, ForeignVxlanAndMaxAffinityAreCheckedAtParse) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"--foreign-vxlan", "bogus"}, "--foreign-vxlan: bogus not in {pass,drop}"},
      {{"--max-affinity", "0"}, "--max-affinity: Value 0 not in range 1 to 16777216"},
  };
  for (const auto& [flags, message] : refused) {
    std::vector<std::string> args = {MERIDIAN_AGENT_BIN, "--node", "east", "--manifests",
                                     "/nonexistent"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("--check-flags");
    auto r = RunProcess(args);
    EXPECT_NE(r.exit_code, 0) << flags[0];
    EXPECT_NE(r.err.find(message), std::string::npos) << flags[0] << ": " << r.err;
  }
  auto ok = RunProcess({MERIDIAN_AGENT_BIN, "--node", "east", "--manifests", "/nonexistent",
                        "--foreign-vxlan", "drop", "--max-affinity", "4096", "--check-flags"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace meridian
