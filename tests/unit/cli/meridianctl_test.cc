// meridianctl's command line: errors name what is wrong and exit non-zero,
// and nothing is written or created on the way (issue 13, item 7).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "run_process.h"
#include "temp_dir.h"

namespace meridian::cli {
namespace {

using test_support::Contains;
using test_support::LacksText;
using test_support::ProcessResult;
using test_support::RunProcess;
using test_support::TempDir;

constexpr char kKey[] = "/meridian/v1/test/a";

ProcessResult Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), MERIDIANCTL_BIN);
  return RunProcess(args);
}

class RegistryCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = "dir:" + dir_.Path("reg");
    auto r = registry::OpenRegistry(url_);  // creates it, as the controller does
    ASSERT_TRUE(r.ok()) << r.error().message;
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->Put(kKey, "original").ok());
  }

  // The value of kKey now, "<none>" if it is missing.
  std::string Value() {
    auto kv = reg_->Get(kKey);
    if (!kv.ok()) return "<error " + kv.error().message + ">";
    return *kv ? (*kv)->value : "<none>";
  }

  TempDir dir_;
  std::string url_;
  std::unique_ptr<registry::Registry> reg_;
};

TEST_F(RegistryCommandTest, PutFromMissingFileFailsAndKeepsTheValue) {
  auto r = Ctl({"registry", "--url", url_, "put", kKey, "--value-file", dir_.Path("nonexistent")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, dir_.Path("nonexistent")));
  EXPECT_TRUE(Contains(r.err, "No such file or directory"));
  EXPECT_EQ(Value(), "original");
}

TEST_F(RegistryCommandTest, PutFromDirectoryFailsAndKeepsTheValue) {
  auto r = Ctl({"registry", "--url", url_, "put", kKey, "--value-file", dir_.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, dir_.path()));
  EXPECT_TRUE(Contains(r.err, "Is a directory"));
  EXPECT_EQ(Value(), "original");
}

TEST_F(RegistryCommandTest, PutFromEmptyPathFails) {
  auto r = Ctl({"registry", "--url", url_, "put", kKey, "--value-file", ""});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--value-file"));
  EXPECT_EQ(Value(), "original");
}

TEST_F(RegistryCommandTest, PutWithoutValueFailsAndKeepsTheValue) {
  auto r = Ctl({"registry", "--url", url_, "put", kKey});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "no value given"));
  EXPECT_TRUE(Contains(r.err, "--value"));
  EXPECT_EQ(Value(), "original");
}

TEST_F(RegistryCommandTest, ExplicitEmptyValueIsWritten) {
  auto r = Ctl({"registry", "--url", url_, "put", kKey, "--value", ""});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Value(), "");
}

TEST_F(RegistryCommandTest, PutFromFileWritesItsBytes) {
  dir_.Write("value", std::string("from\0file", 9));
  auto r = Ctl({"registry", "--url", url_, "put", kKey, "--value-file", dir_.Path("value")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Value(), std::string("from\0file", 9));
}

TEST_F(RegistryCommandTest, ListAndGetWork) {
  auto list = Ctl({"registry", "--url", url_, "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_TRUE(Contains(list.out, std::string(kKey) + " rev=1 raw:original"));
  auto get = Ctl({"registry", "--url", url_, "get", kKey});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(Contains(get.out, "raw:original"));
}

TEST_F(RegistryCommandTest, MissingDirectoryIsAnErrorAndIsNotCreated) {
  const std::string missing = dir_.Path("nonexistent/reg");
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"list"}, std::vector<std::string>{"get", kKey},
        std::vector<std::string>{"put", kKey, "--value", "x"},
        std::vector<std::string>{"delete", kKey}}) {
    std::vector<std::string> args = {"registry", "--url", "dir:" + missing};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = Ctl(args);
    EXPECT_NE(r.exit_code, 0) << cmd[0];
    EXPECT_TRUE(Contains(r.err, "dir:" + missing)) << cmd[0];
    EXPECT_TRUE(Contains(r.err, "No such file or directory")) << cmd[0];
    EXPECT_FALSE(std::filesystem::exists(dir_.Path("nonexistent"))) << cmd[0];
  }
}

TEST_F(RegistryCommandTest, DirectoryThatIsNoRegistryIsAnErrorAndIsNotTouched) {
  std::filesystem::create_directory(dir_.Path("plain"));
  auto r = Ctl({"registry", "--url", "dir:" + dir_.Path("plain"), "list"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "not a registry directory"));
  EXPECT_TRUE(std::filesystem::is_empty(dir_.Path("plain")));
}

TEST(MeridianctlTest, UnknownSubcommandIsNamed) {
  auto r = Ctl({"--node", "n", "bogus"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "unknown subcommand 'bogus'"));
  EXPECT_TRUE(Contains(r.err, "meridianctl --help"));
}

TEST(MeridianctlTest, UnknownRegistrySubcommandIsNamed) {
  auto r = Ctl({"registry", "--url", "dir:/nonexistent", "bogus"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "unknown registry subcommand 'bogus'"));
  EXPECT_TRUE(Contains(r.err, "meridianctl registry --help"));
}

TEST(MeridianctlTest, UnknownOptionIsNamed) {
  auto r = Ctl({"--bogus", "stats"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--bogus"));
}

TEST(MeridianctlTest, NoSubcommandStillSaysOneIsRequired) {
  auto r = Ctl({"--node", "n"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "A subcommand is required"));
}

// `meridianctl status FIELD...`: what the lab scripts ask an agent.
class StatusFieldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Path("state"));
    std::ofstream(dir_.Path("state/status.json")) << R"({"state": "degraded",
      "conntrack": {"entries": 4, "evicted": 2},
      "imports": [{"name": "default/web", "clusterset_ip": "10.254.0.2"}]})";
  }
  ProcessResult Status(std::vector<std::string> fields) {
    std::vector<std::string> args = {"--node", "n", "--state-dir", dir_.Path("state"), "status"};
    args.insert(args.end(), fields.begin(), fields.end());
    return Ctl(args);
  }
  TempDir dir_;
};

TEST_F(StatusFieldsTest, EachFieldOnALineOfItsOwn) {
  auto r = Status({"state", "conntrack.evicted", "imports[name=default/web].clusterset_ip"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "degraded\n2\n10.254.0.2\n");
  r = Status({"conntrack"});
  EXPECT_EQ(r.out, "{\"entries\":4,\"evicted\":2}\n");
}

TEST_F(StatusFieldsTest, JsonQuotesStrings) {
  auto r = Ctl({"--node", "n", "--state-dir", dir_.Path("state"), "--json", "status", "state"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "\"degraded\"\n");
}

TEST_F(StatusFieldsTest, AMissingFieldIsNamedAndNothingIsPrinted) {
  auto r = Status({"state", "conntrack.expired"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "meridianctl: status: 'conntrack' has no field 'expired'\n");
}

TEST_F(StatusFieldsTest, ATornFileIsNotJson) {
  std::ofstream(dir_.Path("state/status.json")) << R"({"state": "serv)";
  auto r = Status({"state"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "is not valid JSON")) << r.err;
}

TEST_F(StatusFieldsTest, NoAgentNoFile) {
  auto r = Ctl({"--node", "n", "--state-dir", dir_.Path("none"), "status", "state"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.err, "is the agent running?")) << r.err;
}

// `meridianctl imports`: the status's ServiceImports as a table, their
// conflicts spelled out, one by name, or JSON.
class ImportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Path("state"));
    std::ofstream(dir_.Path("state/status.json")) << R"({"state": "serving", "imports": [
      {"name": "default/web", "type": "ClusterSetIP", "clusterset_ip": "10.254.0.2",
       "session_affinity": "None", "clusters": ["c1", "c2"], "ports": ["http:80/TCP"],
       "conflicts": ["c2: PortConflict: port http is 8080 in c2, 80 in c1"], "decision": null},
      {"name": "shop/db", "type": "Headless", "clusterset_ip": "", "session_affinity": "None",
       "clusters": ["c2"], "ports": [], "conflicts": [], "decision": null}]})";
  }
  ProcessResult Imports(std::vector<std::string> args) {
    std::vector<std::string> all = {"--node", "n", "--state-dir", dir_.Path("state")};
    all.insert(all.end(), args.begin(), args.end());
    return Ctl(all);
  }
  TempDir dir_;
};

TEST_F(ImportsTest, ATableWithTheConflictsBelowTheirImport) {
  auto r = Imports({"imports"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME                         TYPE          CLUSTERSET-IP   AFFINITY  CLUSTERS         "
            "PORTS                CONFLICTS\n"
            "default/web                  ClusterSetIP  10.254.0.2      None      c1,c2            "
            "http:80/TCP          1\n"
            "  conflict: c2: PortConflict: port http is 8080 in c2, 80 in c1\n"
            "shop/db                      Headless      -               None      c2               "
            "-                    0\n");
}

TEST_F(ImportsTest, OneByNameAsJson) {
  auto r = Imports({"--json", "imports", "shop/db"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "shop/db");
  EXPECT_EQ(j[0]["type"], "Headless");
}

TEST_F(ImportsTest, AnUnknownNameIsAnError) {
  auto r = Imports({"imports", "default/nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "meridianctl: imports: no ServiceImport default/nope on this node\n");
}

}  // namespace
}  // namespace meridian::cli
