// MapWriter against real kernel maps: it writes exactly the difference,
// resumes from what is installed, and never reuses a backend id.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "datapath/map_iter.h"
#include "datapath_fixture.h"

namespace meridian::testing {
namespace {

using model::Protocol;

model::ResourceSnapshot Snapshot(const std::vector<std::string>& backends,
                                 const char* vip = "10.96.0.20") {
  model::ResourceSnapshot s;
  s.services.push_back(
      MakeService("api", vip, {{.name = "", .protocol = Protocol::kTcp, .port = 443}}));
  s.endpoint_slices.push_back(
      MakeSlice("api", backends, {{.name = "", .protocol = Protocol::kTcp, .port = 8443}}));
  return s;
}

template <class K>
std::size_t CountKeys(int fd) {
  return datapath::MapKeys<K>(fd).size();
}

class MapWriterTest : public DatapathTest {
 protected:
  // Slot `s` of a service's table, read from mer_maglev as the datapath
  // reads it (mer_maglev_element, mer_maglev_lane).
  std::uint32_t Slot(const mer_service& svc, std::uint32_t s) {
    const std::uint32_t slot = svc.maglev_offset + s;
    const std::uint32_t element = mer_maglev_element(slot);
    mer_maglev_pair pair{};
    EXPECT_EQ(bpf_map_lookup_elem(dp_->maps().maglev, &element, &pair), 0) << "slot " << slot;
    return pair.backend_id[mer_maglev_lane(slot)];
  }

  mer_service LookupService(const char* vip, std::uint16_t port, std::uint8_t proto) {
    mer_service_key k{.vip_be = Ip(vip), .port_be = htons(port), .proto = proto, .scope = 0};
    mer_service v{};
    EXPECT_EQ(bpf_map_lookup_elem(dp_->maps().services, &k, &v), 0) << vip << ":" << port;
    return v;
  }
};

TEST_F(MapWriterTest, InstallsServiceMarkerBackendsAndTable) {
  auto st = Install(Snapshot({"10.1.1.11", "10.1.1.12", "10.1.2.11"}));
  EXPECT_EQ(st.backends_written, 3u);
  EXPECT_EQ(st.services_written, 2u);  // frontend + VIP marker
  EXPECT_EQ(st.tables_created, 1u);

  auto svc = LookupService("10.96.0.20", 443, IPPROTO_TCP);
  EXPECT_EQ(svc.backend_count, 3u);
  EXPECT_EQ(svc.maglev_size, 401u);  // smallest prime >= 100 x 4 (3 rounded up)
  auto marker = LookupService("10.96.0.20", 0, 0);
  EXPECT_EQ(marker.flags, static_cast<std::uint32_t>(MER_SVC_F_VIP_MARKER));
  EXPECT_EQ(CountKeys<std::uint32_t>(dp_->maps().backends), 3u);

  EXPECT_EQ(writer_->maglev_slots_used(), 401u);

  // Every slot names one of the three backends, each about a third.
  std::map<std::uint32_t, int> owners;
  for (std::uint32_t slot = 0; slot < svc.maglev_size; ++slot) owners[Slot(svc, slot)]++;
  ASSERT_EQ(owners.size(), 3u);
  for (const auto& [id, n] : owners) {
    EXPECT_GE(n, 133);
    EXPECT_LE(n, 134);
  }
}

// Tables are written through a mapping of the slot array; a table spanning
// pages must read back, through the map, slot for slot as desired.
TEST_F(MapWriterTest, MultiPageTableReadsBackExactlyAsDesired) {
  std::vector<std::string> backends;
  for (int i = 0; i < 20; ++i) backends.push_back("10.1.3." + std::to_string(10 + i));
  Install(Snapshot(backends));
  auto svc = LookupService("10.96.0.20", 443, IPPROTO_TCP);
  ASSERT_GT(svc.maglev_size * 4u, 2u * 4096u) << "want a table spanning pages";
  const auto& fe = state_.frontends.begin()->second;
  ASSERT_EQ(fe.maglev.size(), svc.maglev_size);
  for (std::uint32_t slot = 0; slot < svc.maglev_size; ++slot) {
    std::uint32_t id = Slot(svc, slot);
    mer_backend be{};
    ASSERT_EQ(bpf_map_lookup_elem(dp_->maps().backends, &id, &be), 0) << "slot " << slot;
    EXPECT_EQ(model::Ipv4Address::FromNetworkOrder(be.addr_be),
              fe.backends[fe.maglev[slot]].key.address)
        << "slot " << slot;
  }
}

TEST_F(MapWriterTest, SecondApplyOfTheSameStateWritesNothing) {
  Install(Snapshot({"10.1.1.11", "10.1.1.12"}));
  EXPECT_EQ(Install(Snapshot({"10.1.1.11", "10.1.1.12"})).total(), 0u);
}

TEST_F(MapWriterTest, RecoveredWriterWritesNothingForUnchangedState) {
  Install(Snapshot({"10.1.1.11", "10.1.1.12", "10.1.2.11"}));
  // A restarted agent: a new writer over the same maps.
  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->installed_services(), 1u);
  EXPECT_EQ(w->installed_backends(), 3u);
  auto st = w->Apply(state_);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->total(), 0u);
}

TEST_F(MapWriterTest, ReplacingOneBackendRewritesOnlyItsSlots) {
  Install(Snapshot({"10.1.1.11", "10.1.1.12", "10.1.2.11", "10.1.2.12"}));
  auto st = Install(Snapshot({"10.1.1.11", "10.1.1.12", "10.1.2.11", "10.1.2.13"}));
  EXPECT_EQ(st.backends_written, 1u);
  EXPECT_EQ(st.backends_deleted, 1u);
  EXPECT_EQ(st.tables_created, 0u);
  EXPECT_EQ(st.services_written, 0u);
  // 401 slots, a quarter owned by the replaced backend: a replacement is a
  // removal plus an addition, each bounded by 1.5/N of the table.
  EXPECT_GE(st.slots_written, 90u);
  EXPECT_LE(st.slots_written, 2 * 401u * 1.5 / 4);
}

// A new size is a new range, complete before the entry switches to it; the
// old range is quarantined, not reused at once, so a packet that read the
// old entry never reads another table.
TEST_F(MapWriterTest, ResizedTableMovesToANewRangeAndTheOldOneWaits) {
  Install(Snapshot({"10.1.1.11", "10.1.1.12"}));
  auto before = LookupService("10.96.0.20", 443, IPPROTO_TCP);
  EXPECT_EQ(before.maglev_size, 211u);
  auto st = Install(Snapshot({"10.1.1.11", "10.1.1.12", "10.1.2.11"}));
  EXPECT_EQ(st.tables_created, 1u);
  EXPECT_EQ(st.tables_deleted, 1u);
  auto after = LookupService("10.96.0.20", 443, IPPROTO_TCP);
  EXPECT_EQ(after.id, before.id) << "the frontend keeps its id";
  EXPECT_EQ(after.maglev_size, 401u);
  EXPECT_GE(after.maglev_offset, before.maglev_offset + before.maglev_size);
  EXPECT_EQ(writer_->maglev_slots_used(), 211u + 401u) << "the old range is still quarantined";

  // Another resize right away must not land on the quarantined range.
  Install(Snapshot({"10.1.1.11", "10.1.1.12", "10.1.2.11", "10.1.2.12", "10.1.2.13"}));
  auto third = LookupService("10.96.0.20", 443, IPPROTO_TCP);
  EXPECT_EQ(third.maglev_size, 809u);
  EXPECT_GE(third.maglev_offset, after.maglev_offset + after.maglev_size);
}

TEST_F(MapWriterTest, RemovedServiceLeavesNoEntryBehind) {
  Install(Snapshot({"10.1.1.11"}));
  auto st = Install(model::ResourceSnapshot{});
  EXPECT_EQ(st.services_deleted, 2u);
  EXPECT_EQ(st.tables_deleted, 1u);
  EXPECT_EQ(st.backends_deleted, 1u);
  EXPECT_EQ(CountKeys<mer_service_key>(dp_->maps().services), 0u);
  EXPECT_EQ(CountKeys<std::uint32_t>(dp_->maps().backends), 0u);
}

TEST_F(MapWriterTest, BackendIdsAreNeverReused) {
  Install(Snapshot({"10.1.1.11"}));
  auto first = writer_->backend_id({*model::Ipv4Address::Parse("10.1.1.11"), 8443, Protocol::kTcp});
  Install(Snapshot({"10.1.1.12"}));
  Install(Snapshot({"10.1.1.11"}));
  auto again = writer_->backend_id({*model::Ipv4Address::Parse("10.1.1.11"), 8443, Protocol::kTcp});
  EXPECT_GT(again, first);
  // Also across a restart.
  Install(Snapshot({"10.1.1.13"}));
  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok());
  model::ResourceSnapshot snap = Snapshot({"10.1.1.13", "10.1.1.14"});
  auto state = desired::BuildDesiredState(snap, lb::MaglevConfig{});
  ASSERT_TRUE(w->Apply(*state).ok());
  EXPECT_GT(w->backend_id({*model::Ipv4Address::Parse("10.1.1.14"), 8443, Protocol::kTcp}),
            again + 1);
}

TEST_F(MapWriterTest, RecoveryRemovesADuplicateBackendIdAndKeepsTheLower) {
  Install(Snapshot({"10.1.1.11", "10.1.1.12"}));
  auto id = writer_->backend_id({*model::Ipv4Address::Parse("10.1.1.11"), 8443, Protocol::kTcp});
  mer_backend copy{};
  ASSERT_EQ(bpf_map_lookup_elem(dp_->maps().backends, &id, &copy), 0);
  std::uint32_t dup = 500;
  ASSERT_EQ(bpf_map_update_elem(dp_->maps().backends, &dup, &copy, BPF_ANY), 0);

  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->installed_backends(), 2u);
  EXPECT_EQ(w->backend_id({*model::Ipv4Address::Parse("10.1.1.11"), 8443, Protocol::kTcp}), id);
  EXPECT_EQ(CountKeys<std::uint32_t>(dp_->maps().backends), 2u);
  mer_backend gone{};
  EXPECT_NE(bpf_map_lookup_elem(dp_->maps().backends, &dup, &gone), 0);
  // Ids continue above the highest ever seen.
  auto st = w->Apply(*desired::BuildDesiredState(Snapshot({"10.1.1.11", "10.1.1.12", "10.1.1.13"}),
                                                 lb::MaglevConfig{}));
  ASSERT_TRUE(st.ok());
  EXPECT_GT(w->backend_id({*model::Ipv4Address::Parse("10.1.1.13"), 8443, Protocol::kTcp}), dup);
}

// Recovery adopts the range each entry names. An entry naming a range that
// leaves the array (or that another entry took) gets a table of its own on
// the next Apply; the others are untouched.
TEST_F(MapWriterTest, RecoveryAdoptsRangesAndReplacesABadOne) {
  model::ResourceSnapshot snap = Snapshot({"10.1.1.11", "10.1.1.12"});
  model::ResourceSnapshot other = Snapshot({"10.1.1.13"}, "10.96.0.21");
  snap.services.push_back(other.services[0]);
  snap.endpoint_slices.push_back(other.endpoint_slices[0]);
  snap.endpoint_slices.back().meta.key.name = "api-2";
  snap.services.back().meta.key.name = "api2";
  snap.endpoint_slices.back().service_name = "api2";
  Install(snap);
  auto first = LookupService("10.96.0.20", 443, IPPROTO_TCP);
  auto second = LookupService("10.96.0.21", 443, IPPROTO_TCP);
  // Corrupt the second entry: its range now runs past the array's end.
  mer_service_key k{.vip_be = Ip("10.96.0.21"), .port_be = htons(443), .proto = IPPROTO_TCP};
  mer_service bad = second;
  bad.maglev_offset = writer_->maglev_slots_capacity() - 50;
  ASSERT_EQ(bpf_map_update_elem(dp_->maps().services, &k, &bad, BPF_ANY), 0);

  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->maglev_slots_used(), first.maglev_size) << "only the first range is adopted";
  EXPECT_EQ(second.maglev_size, 101u);
  auto st = w->Apply(state_);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->tables_created, 1u);
  EXPECT_EQ(st->services_written, 1u);
  auto fixed = LookupService("10.96.0.21", 443, IPPROTO_TCP);
  EXPECT_EQ(fixed.maglev_size, 101u);
  EXPECT_GE(fixed.maglev_offset, first.maglev_offset + first.maglev_size);
  EXPECT_EQ(LookupService("10.96.0.20", 443, IPPROTO_TCP).maglev_offset, first.maglev_offset);
  for (std::uint32_t s = 0; s < fixed.maglev_size; ++s) {
    ASSERT_EQ(Slot(fixed, s),
              w->backend_id({*model::Ipv4Address::Parse("10.1.1.13"), 8443, Protocol::kTcp}));
  }
}

// When the slots run out, the error names the frontend and the flag; the
// frontends whose tables fit are installed, and the rest keep what they
// had, so a retry with a larger array resumes.
TEST_F(MapWriterTest, FullSlotArrayIsAnErrorAndWhatFitsIsServed) {
  const std::uint32_t capacity = writer_->maglev_slots_capacity();
  ASSERT_GT(capacity, 0u);
  model::ResourceSnapshot snap;
  // 101-slot tables: one more than fits.
  const int fits = static_cast<int>(capacity / 101);
  for (int i = 0; i <= fits; ++i) {
    std::string vip = "10.98." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    std::string name = "f" + std::to_string(i);
    snap.services.push_back(
        MakeService(name, vip.c_str(), {{.name = "", .protocol = Protocol::kTcp, .port = 80}}));
    snap.endpoint_slices.push_back(
        MakeSlice(name, {"10.1.4.1"}, {{.name = "", .protocol = Protocol::kTcp, .port = 8080}}));
  }
  auto state = desired::BuildDesiredState(snap, lb::MaglevConfig{});
  ASSERT_TRUE(state.ok());
  auto st = writer_->Apply(*state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(
      st.error().message.find("no room in mer_maglev for the 101-slot Maglev table of 10.98."),
      std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find("raise --maglev-slots"), std::string::npos);
  EXPECT_EQ(writer_->installed_services(), static_cast<std::size_t>(fits));
  EXPECT_EQ(writer_->maglev_slots_used(), static_cast<std::uint64_t>(fits) * 101u);
}

TEST_F(MapWriterTest, FullServiceMapIsAnErrorNamingTheService) {
  // 1024 entries in the fixture: 600 VIPs need 1200 (frontend + marker).
  model::ResourceSnapshot snap;
  for (int i = 0; i < 600; ++i) {
    std::string vip = "10.97." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    snap.services.push_back(MakeService("s" + std::to_string(i), vip.c_str(),
                                        {{.name = "", .protocol = Protocol::kTcp, .port = 80}}));
  }
  auto state = desired::BuildDesiredState(snap, lb::MaglevConfig{});
  ASSERT_TRUE(state.ok());
  auto st = writer_->Apply(*state);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("10.97."), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("Argument list too long"), std::string::npos)
      << st.error().message;
  // What did fit is installed and consistent: a retry after the map is
  // resized would resume, and nothing written is lost.
  EXPECT_GT(writer_->installed_services(), 0u);
}

// A NodePort Service with an externalIP: its external frontends carry
// MER_SVC_F_EXTERNAL and their addresses get no VIP marker (a node address
// serves other ports than its NodePorts).
model::ResourceSnapshot NodePortSnapshot(model::TrafficPolicy policy) {
  auto s = Snapshot({"10.1.1.11", "10.1.1.12"});
  auto& svc = s.services[0];
  svc.type = model::ServiceType::kNodePort;
  svc.ports[0].node_port = 30443;
  svc.external_ips = {*model::Ipv4Address::Parse("198.51.100.7")};
  svc.external_traffic_policy = policy;
  return s;
}

desired::DesiredState NodePortState(model::TrafficPolicy policy) {
  auto state = desired::BuildDesiredState(
      NodePortSnapshot(policy),
      desired::DesiredOptions{.nodeport_addresses = {*model::Ipv4Address::Parse("192.168.1.10")}});
  EXPECT_TRUE(state.ok()) << state.error().message;
  return state.ok() ? *state : desired::DesiredState{};
}

bool HasEntry(int fd, const char* vip, std::uint16_t port, std::uint8_t proto) {
  mer_service_key k{.vip_be = Ip(vip), .port_be = htons(port), .proto = proto, .scope = 0};
  mer_service v{};
  return bpf_map_lookup_elem(fd, &k, &v) == 0;
}

TEST_F(MapWriterTest, ExternalFrontendsAreFlaggedAndGetNoVipMarker) {
  auto st = writer_->Apply(NodePortState(model::TrafficPolicy::kCluster));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->services_written, 4u);  // 3 frontends + the ClusterIP's marker
  EXPECT_EQ(st->tables_created, 3u);
  const int fd = dp_->maps().services;
  EXPECT_EQ(CountKeys<mer_service_key>(fd), 4u);
  EXPECT_TRUE(HasEntry(fd, "10.96.0.20", 0, 0));
  EXPECT_FALSE(HasEntry(fd, "192.168.1.10", 0, 0));
  EXPECT_FALSE(HasEntry(fd, "198.51.100.7", 0, 0));

  auto vip = LookupService("10.96.0.20", 443, IPPROTO_TCP);
  EXPECT_EQ(vip.flags, 0u);
  for (auto [addr, port] : {std::pair("192.168.1.10", 30443), std::pair("198.51.100.7", 443)}) {
    SCOPED_TRACE(addr);
    auto fe = LookupService(addr, port, IPPROTO_TCP);
    EXPECT_EQ(fe.flags, static_cast<std::uint32_t>(MER_SVC_F_EXTERNAL));
    EXPECT_EQ(fe.backend_count, 2u);
    EXPECT_EQ(fe.maglev_size, vip.maglev_size);
    EXPECT_NE(fe.id, vip.id);
    for (std::uint32_t s = 0; s < fe.maglev_size; ++s) ASSERT_EQ(Slot(fe, s), Slot(vip, s));
  }

  // externalTrafficPolicy Local on a node with no endpoint: it drops, and
  // an internal twin (scope 1) serves clients inside the cluster from
  // every endpoint; neither address gets a marker.
  st = writer_->Apply(NodePortState(model::TrafficPolicy::kLocal));
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->services_written, 4u);  // 2 rewritten + 2 twins
  auto local = LookupService("192.168.1.10", 30443, IPPROTO_TCP);
  EXPECT_EQ(local.flags, static_cast<std::uint32_t>(MER_SVC_F_EXTERNAL | MER_SVC_F_DROP_NO_BACKEND |
                                                    MER_SVC_F_INTERNAL_TWIN));
  EXPECT_EQ(local.backend_count, 0u);
  EXPECT_EQ(local.maglev_size, 0u);
  EXPECT_FALSE(HasEntry(fd, "192.168.1.10", 0, 0));
  for (auto [addr, port] : {std::pair("192.168.1.10", 30443), std::pair("198.51.100.7", 443)}) {
    SCOPED_TRACE(addr);
    mer_service_key k{.vip_be = Ip(addr),
                      .port_be = htons(port),
                      .proto = IPPROTO_TCP,
                      .scope = MER_SVC_SCOPE_INTERNAL};
    mer_service twin{};
    ASSERT_EQ(bpf_map_lookup_elem(fd, &k, &twin), 0);
    EXPECT_EQ(twin.flags, 0u);
    EXPECT_EQ(twin.backend_count, 2u);
    EXPECT_EQ(twin.maglev_size, vip.maglev_size);
  }
  EXPECT_EQ(CountKeys<mer_service_key>(fd), 6u);  // + 2 twins

  // A restarted agent writes nothing for the same state.
  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto again = w->Apply(NodePortState(model::TrafficPolicy::kLocal));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->total(), 0u);
}

// A change of `external` alone rewrites the entry, and adds or removes
// the address's marker.
TEST_F(MapWriterTest, ChangeOfExternalAloneIsWritten) {
  auto state = NodePortState(model::TrafficPolicy::kCluster);
  ASSERT_TRUE(writer_->Apply(state).ok());
  const int fd = dp_->maps().services;
  const desired::FrontendKey key{*model::Ipv4Address::Parse("198.51.100.7"), 443, Protocol::kTcp};
  state.frontends.at(key).external = false;
  auto st = writer_->Apply(state);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->services_written, 2u);  // the entry and a marker
  EXPECT_EQ(st->total(), 2u);
  EXPECT_EQ(LookupService("198.51.100.7", 443, IPPROTO_TCP).flags, 0u);
  EXPECT_TRUE(HasEntry(fd, "198.51.100.7", 0, 0));

  state.frontends.at(key).external = true;
  st = writer_->Apply(state);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->services_written, 1u);
  EXPECT_EQ(st->services_deleted, 1u);  // the marker
  EXPECT_EQ(st->total(), 2u);
  EXPECT_EQ(LookupService("198.51.100.7", 443, IPPROTO_TCP).flags,
            static_cast<std::uint32_t>(MER_SVC_F_EXTERNAL));
  EXPECT_FALSE(HasEntry(fd, "198.51.100.7", 0, 0));
}

}  // namespace
}  // namespace meridian::testing
