// GET /frontends (agent/frontend_table.h), read back as meridianctl
// monitor reads it (cli/frontend_names.h): the contract between the two.
#include "agent/frontend_table.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "cli/frontend_names.h"

namespace meridian::agent {
namespace {

desired::FrontendKey Key(const char* vip, std::uint16_t port, model::Protocol p,
                         bool internal = false) {
  return {
      .vip = *model::Ipv4Address::Parse(vip), .port = port, .protocol = p, .internal = internal};
}

TEST(FrontendTable, RendersWhatMonitorReadsBack) {
  const auto web = Key("10.96.0.10", 80, model::Protocol::kTcp);
  const auto dns = Key("10.96.0.10", 53, model::Protocol::kUdp);
  const auto twin = Key("192.0.2.10", 80, model::Protocol::kTcp, true);
  const auto orphan = Key("10.96.0.99", 80, model::Protocol::kTcp);  // not in the state
  desired::DesiredState state;
  state.frontends[web] = {.key = web, .service = {"default", "web"}, .port_name = "http"};
  state.frontends[dns] = {.key = dns, .service = {"default", "web"}, .port_name = "dns"};
  state.frontends[twin] = {.key = twin, .service = {"shop", "lb"}, .port_name = ""};
  const std::map<std::uint32_t, desired::FrontendKey> ids = {
      {3, web}, {4, dns}, {9, twin}, {12, orphan}};

  const std::string json = RenderFrontendsJson(ids, &state);
  EXPECT_NE(json.find(R"({"address":"10.96.0.10","id":3,"internal":false,"port":80,)"
                      R"("port_name":"http","protocol":"TCP","service":"default/web"})"),
            std::string::npos)
      << json;
  auto names = cli::FrontendNames::Parse(json);
  ASSERT_TRUE(names.ok()) << names.error().message;
  ASSERT_EQ(names->size(), 4u);
  const cli::FrontendName* f = names->ById(4);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->addr_be, inet_addr("10.96.0.10"));
  EXPECT_EQ(f->port, 53);
  EXPECT_EQ(f->proto, IPPROTO_UDP);
  EXPECT_EQ(f->service, "default/web");
  EXPECT_EQ(f->port_name, "dns");
  EXPECT_TRUE(names->ById(9)->internal);
  EXPECT_EQ(names->ById(12)->service, "") << "a frontend the state does not name";
  EXPECT_EQ(names->ById(5), nullptr);
  EXPECT_EQ(names->OfService("default/web").size(), 2u);
  EXPECT_EQ(names->ByDestination(inet_addr("10.96.0.10"), htons(53), IPPROTO_UDP), f);
  EXPECT_EQ(names->ByDestination(inet_addr("10.96.0.10"), htons(53), IPPROTO_TCP), nullptr);

  // Without a state (nothing applied yet) every name is empty.
  auto unnamed = cli::FrontendNames::Parse(RenderFrontendsJson(ids, nullptr));
  ASSERT_TRUE(unnamed.ok());
  EXPECT_TRUE(unnamed->OfService("default/web").empty());
  EXPECT_EQ(RenderFrontendsJson({}, nullptr), "[]\n");
}

TEST(FrontendTable, MalformedTablesAreNamedErrors) {
  auto error = [](const std::string& json) {
    auto r = cli::FrontendNames::Parse(json);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(error("{}"), "frontends: expected a JSON array of frontends");
  EXPECT_EQ(error("[1"), "frontends: expected a JSON array of frontends");
  EXPECT_EQ(error("[7]"), "frontends[0]: expected an object");
  const std::string ok = R"("address":"10.96.0.10","port":80,"protocol":"TCP")";
  EXPECT_EQ(error("[{" + ok + "}]"), "frontends[0].id: missing or of the wrong type");
  EXPECT_EQ(error(R"([{"id":1,)" + ok + R"(},{"id":-2,)" + ok + "}]"),
            "frontends[1].id: missing or of the wrong type");
  EXPECT_EQ(error(R"([{"id":1,"address":"10.96.0","port":80,"protocol":"TCP"}])"),
            "frontends[0].address 10.96.0: not an IPv4 address");
  EXPECT_EQ(error(R"([{"id":1,"address":"10.96.0.1","port":70000,"protocol":"TCP"}])"),
            "frontends[0].port: missing or of the wrong type");
  EXPECT_EQ(error(R"([{"id":1,"address":"10.96.0.1","port":80,"protocol":"SCTP"}])"),
            "frontends[0].protocol \"SCTP\": not TCP or UDP");
  EXPECT_EQ(error(R"([{"id":1,)" + ok + R"(,"service":7}])"),
            "frontends[0].service: missing or of the wrong type");
  EXPECT_EQ(error(R"([{"id":1,)" + ok + R"(,"internal":"no"}])"),
            "frontends[0].internal: missing or of the wrong type");
  EXPECT_EQ(error(R"([{"id":1,)" + ok + R"(,"service":"a/b"}])"), "ok");
}

}  // namespace
}  // namespace meridian::agent
