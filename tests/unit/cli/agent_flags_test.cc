// meridian-agent rejects a Maglev configuration that would fail every
// service, at start and naming the flag and its range (issue 13, item 7).
//
// Every run passes an invalid --node as well: the agent checks the node
// name before it mounts bpffs or loads anything, so even an agent that
// accepted the flags stops there, harmlessly (and the test then fails on
// the message). --state-dir keeps the status.json it writes on that
// failure in a temporary directory.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run_process.h"
#include "temp_dir.h"

namespace meridian::agent {
namespace {

using test_support::Contains;
using test_support::LacksText;
using test_support::ProcessResult;
using test_support::RunProcess;
using test_support::TempDir;

constexpr char kBadNode[] = "not/a/node";

ProcessResult Agent(std::vector<std::string> args) {
  TempDir state("meridian-agent-flags");
  std::vector<std::string> all = {MERIDIAN_AGENT_BIN, "--node",      kBadNode,    "--manifests",
                                  state.path(),       "--state-dir", state.path()};
  all.insert(all.end(), args.begin(), args.end());
  return RunProcess(all);
}

// Got past flag parsing: the agent stopped at the node name (logged on
// stdout).
void ExpectFlagsAccepted(const ProcessResult& r) {
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(Contains(r.out + r.err, "node name"));
}

TEST(AgentFlagsTest, SlotsPerBackendZero) {
  auto r = Agent({"--maglev-slots-per-backend", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--maglev-slots-per-backend"));
  EXPECT_TRUE(Contains(r.err, "1 to 131071"));
  EXPECT_TRUE(LacksText(r.out + r.err, "node name"));
}

TEST(AgentFlagsTest, MaxTableBelowDefaultMin) {
  auto r = Agent({"--maglev-max-table", "50"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--maglev-max-table"));
  EXPECT_TRUE(Contains(r.err, "--maglev-min-table 101"));
  EXPECT_TRUE(Contains(r.err, "[101 - 131071]"));
  EXPECT_TRUE(LacksText(r.out + r.err, "node name"));
}

// Issue 14: std::stoul threw on a long digit string and aborted the agent.
TEST(AgentFlagsTest, DnsListenWithALongPortIsAnError) {
  auto r = Agent({"--dns-listen", "127.0.0.1:99999999999999999999999"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err,
                       "--dns-listen 127.0.0.1:99999999999999999999999: expected "
                       "ADDRESS:PORT (port 0-65535) or off"))
      << r.err;
  EXPECT_TRUE(LacksText(r.out + r.err, "node name"));
  ExpectFlagsAccepted(Agent({"--dns-listen", "off"}));
  ExpectFlagsAccepted(Agent({"--dns-listen", "0.0.0.0:53"}));
}

TEST(AgentFlagsTest, ForeignVxlanAndMaxAffinityAreCheckedAtParse) {
  auto r = Agent({"--foreign-vxlan", "bogus"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--foreign-vxlan: bogus not in {pass,drop}")) << r.err;
  r = Agent({"--max-affinity", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--max-affinity: Value 0 not in range 1 to 16777216")) << r.err;
  ExpectFlagsAccepted(Agent({"--foreign-vxlan", "drop", "--max-affinity", "4096"}));
}

TEST(AgentFlagsTest, MaxTableAboveDatapathLimit) {
  auto r = Agent({"--maglev-max-table", "131072"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--maglev-max-table"));
  EXPECT_TRUE(Contains(r.err, "2 to 131071"));
}

TEST(AgentFlagsTest, MinTableAboveMaxTable) {
  auto r = Agent({"--maglev-min-table", "1000", "--maglev-max-table", "500"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--maglev-min-table 1000 exceeds --maglev-max-table 500"));
}

TEST(AgentFlagsTest, MinTableAboveDefaultMax) {
  auto r = Agent({"--maglev-min-table", "131072"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--maglev-min-table"));
  EXPECT_TRUE(Contains(r.err, "1 to 131071"));
}

TEST(AgentFlagsTest, SlotsTooFewForTheSmallestTable) {
  auto r = Agent({"--maglev-slots", "100"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "--maglev-slots"));
  EXPECT_TRUE(Contains(r.err, ">= 101"));
}

TEST(AgentFlagsTest, ValidConfigurationsPass) {
  ExpectFlagsAccepted(Agent({}));
  ExpectFlagsAccepted(Agent({"--maglev-max-table", "101"}));
  ExpectFlagsAccepted(Agent({"--maglev-min-table", "2", "--maglev-max-table", "2"}));
  ExpectFlagsAccepted(Agent({"--maglev-slots-per-backend", "1", "--maglev-min-table", "1"}));
  ExpectFlagsAccepted(Agent({"--maglev-slots", "101"}));
}

}  // namespace
}  // namespace meridian::agent
