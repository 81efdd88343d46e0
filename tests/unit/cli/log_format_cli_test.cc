// --log-format json on the real binaries: every line a process writes is one
// JSON object with its component and identity, and the error names what
// failed; a format we do not have is refused when the flags are parsed.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

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

}  // namespace
}  // namespace meridian
