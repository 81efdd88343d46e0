// The map writer's reconcile on maps in memory (MemoryMapStore): no root,
// no BPF. What it writes is read back through the store, byte for byte as
// the datapath would read it; a full map gets the kernel's answer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datapath/map_writer.h"
#include "datapath/memory_map_store.h"
#include "desired/desired_state.h"
#include "model/snapshot.h"

namespace meridian::datapath {
namespace {

using model::Ipv4Address;
using model::Protocol;
using BackendKeyOf = desired::BackendKey;

std::uint32_t Ip(const char* s) { return Ipv4Address::Parse(s)->network_order(); }

model::ResourceSnapshot Snapshot(int services, const std::vector<std::string>& backends) {
  model::ResourceSnapshot snap;
  for (int i = 0; i < services; ++i) {
    const std::string name = "svc" + std::to_string(i);
    model::Service s;
    s.meta.key = {"default", name};
    s.cluster_ip = Ipv4Address::Parse("10.96.0." + std::to_string(10 + i));
    s.ports = {{.name = "", .protocol = Protocol::kTcp, .port = 80}};
    snap.services.push_back(s);
    model::EndpointSlice sl;
    sl.meta.key = {"default", name + "-slice"};
    sl.service_name = name;
    sl.ports = {{.name = "", .protocol = Protocol::kTcp, .port = 8080}};
    for (const auto& a : backends) {
      model::Endpoint ep;
      ep.addresses.push_back(*Ipv4Address::Parse(a));
      sl.endpoints.push_back(ep);
    }
    snap.endpoint_slices.push_back(sl);
  }
  return snap;
}

desired::DesiredState Desired(const model::ResourceSnapshot& snap) {
  auto d = desired::BuildDesiredState(snap, desired::DesiredOptions{});
  EXPECT_TRUE(d.ok()) << d.error().message;
  return d.ok() ? *d : desired::DesiredState{};
}

class MapWriterMemoryTest : public ::testing::Test {
 protected:
  void Start(std::uint32_t maglev_slots = 1u << 16, std::uint32_t max_entries = 0) {
    auto store = std::make_unique<MemoryMapStore>(maglev_slots, max_entries);
    store_ = store.get();
    auto w = MapWriter::Recover(std::move(store));
    ASSERT_TRUE(w.ok()) << w.error().message;
    writer_ = std::make_unique<MapWriter>(std::move(w).value());
  }
  // An agent restart: a new writer recovers from the same maps.
  void Restart() {
    auto store = std::move(*writer_).ReleaseStore();
    writer_.reset();
    auto w = MapWriter::Recover(std::move(store));
    ASSERT_TRUE(w.ok()) << w.error().message;
    writer_ = std::make_unique<MapWriter>(std::move(w).value());
  }
  mer_service Service(const char* vip, std::uint16_t port, std::uint8_t proto) {
    mer_service_key k{.vip_be = Ip(vip), .port_be = htons(port), .proto = proto, .scope = 0};
    mer_service v{};
    EXPECT_EQ(store_->Lookup(MapId::services, &k, &v), 0) << vip << ":" << port;
    return v;
  }
  // Slot `s` of a table, as the datapath reads it.
  std::uint32_t Slot(const mer_service& svc, std::uint32_t s) {
    const std::uint32_t slot = svc.maglev_offset + s;
    const std::uint32_t element = mer_maglev_element(slot);
    mer_maglev_pair pair{};
    EXPECT_EQ(store_->Lookup(MapId::maglev, &element, &pair), 0);
    return pair.backend_id[mer_maglev_lane(slot)];
  }
  MemoryMapStore* store_ = nullptr;  // owned by writer_
  std::unique_ptr<MapWriter> writer_;
};

TEST_F(MapWriterMemoryTest, InstallsEveryEntryAndWritesNothingTwice) {
  Start();
  const auto d = Desired(Snapshot(1, {"10.1.1.11", "10.1.1.12", "10.1.2.11"}));
  auto st = writer_->Apply(d);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(st->services_written, 2u);  // the frontend and its VIP marker
  EXPECT_EQ(st->backends_written, 3u);
  EXPECT_EQ(st->tables_created, 1u);
  EXPECT_EQ(store_->size(MapId::services), 2u);
  EXPECT_EQ(store_->size(MapId::backends), 3u);

  const mer_service svc = Service("10.96.0.10", 80, IPPROTO_TCP);
  EXPECT_EQ(svc.backend_count, 3u);
  EXPECT_EQ(svc.maglev_size, 401u);
  EXPECT_EQ(Service("10.96.0.10", 0, 0).flags, std::uint32_t{MER_SVC_F_VIP_MARKER});
  // Every slot names an installed backend whose address is one of the three.
  std::map<std::uint32_t, int> owners;
  for (std::uint32_t s = 0; s < svc.maglev_size; ++s) ++owners[Slot(svc, s)];
  ASSERT_EQ(owners.size(), 3u);
  for (const auto& [id, n] : owners) {
    mer_backend b{};
    ASSERT_EQ(store_->Lookup(MapId::backends, &id, &b), 0) << id;
    EXPECT_EQ(b.port_be, htons(8080));
    EXPECT_GE(n, 133);
    EXPECT_LE(n, 134);
  }

  const auto writes = store_->writes();
  auto again = writer_->Apply(d);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total(), 0u);
  EXPECT_EQ(store_->writes(), writes);
}

TEST_F(MapWriterMemoryTest, ARestartResumesFromTheMapsAndChangesOnlyTheDifference) {
  Start();
  ASSERT_TRUE(writer_->Apply(Desired(Snapshot(3, {"10.1.1.11", "10.1.1.12"}))).ok());
  const std::uint32_t id =
      writer_->backend_id({*Ipv4Address::Parse("10.1.1.12"), 8080, Protocol::kTcp});
  ASSERT_NE(id, 0u);
  Restart();
  EXPECT_EQ(writer_->installed_services(), 3u);
  EXPECT_EQ(writer_->backend_id({*Ipv4Address::Parse("10.1.1.12"), 8080, Protocol::kTcp}), id);
  auto same = writer_->Apply(Desired(Snapshot(3, {"10.1.1.11", "10.1.1.12"})));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->total(), 0u);  // recovered: nothing to write
  // One backend goes: it is deleted once, each table is rewritten in place.
  auto less = writer_->Apply(Desired(Snapshot(3, {"10.1.1.11"})));
  ASSERT_TRUE(less.ok());
  EXPECT_EQ(less->backends_deleted, 1u);
  EXPECT_EQ(less->tables_created, 3u);  // 2 backends -> 1: a smaller table each
  EXPECT_EQ(less->services_written, 3u);
  mer_backend gone{};
  EXPECT_EQ(store_->Lookup(MapId::backends, &id, &gone), ENOENT);
}

TEST_F(MapWriterMemoryTest, AFullServiceMapIsAnErrorAndWhatFitStays) {
  Start(1u << 16, /*max_entries=*/3);
  auto st = writer_->Apply(Desired(Snapshot(2, {"10.1.1.11"})));  // 2 frontends + 2 markers
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("Argument list too long"), std::string::npos)
      << st.error().message;
  EXPECT_EQ(store_->size(MapId::services), 3u);
  // A restart adopts what was written.
  Restart();
  EXPECT_EQ(writer_->installed_services(), 1u);  // the first frontend; its twin waits
}

TEST_F(MapWriterMemoryTest, NoRoomForATableNamesTheFlag) {
  Start(/*maglev_slots=*/600);
  auto st = writer_->Apply(Desired(Snapshot(2, {"10.1.1.11", "10.1.1.12", "10.1.1.13"})));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no room in mer_maglev for the 401-slot Maglev table"),
            std::string::npos)
      << st.error().message;
  EXPECT_NE(st.error().message.find("raise --maglev-slots"), std::string::npos);
  EXPECT_EQ(writer_->installed_services(), 1u);  // the first table fit, and is served
}

// A backend shared by two frontends, and a VIP with two ports, stay while
// one of them still needs them, and go with the last.
TEST_F(MapWriterMemoryTest, SharedBackendsAndVipMarkersGoWithTheirLastFrontend) {
  Start();
  auto snap = Snapshot(2, {"10.1.1.11", "10.1.1.12"});  // two services, the same two pods
  snap.services[0].ports.push_back({.name = "b", .protocol = Protocol::kTcp, .port = 81});
  snap.endpoint_slices[0].ports = {{.name = "", .protocol = Protocol::kTcp, .port = 8080},
                                   {.name = "b", .protocol = Protocol::kTcp, .port = 8080}};
  snap.services[0].ports[0].name = "";
  auto first = writer_->Apply(Desired(snap));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->backends_written, 2u);
  EXPECT_EQ(store_->size(MapId::services), 5u);  // 3 frontends, 2 markers
  const BackendKeyOf pod{*Ipv4Address::Parse("10.1.1.11"), 8080, Protocol::kTcp};
  const std::uint32_t id = writer_->backend_id(pod);
  ASSERT_NE(id, 0u);

  // Port 81 of svc0 goes: its VIP keeps its marker (port 80 needs it).
  snap.services[0].ports.pop_back();
  auto second = writer_->Apply(Desired(snap));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->services_deleted, 1u);
  EXPECT_EQ(second->backends_deleted, 0u);
  EXPECT_EQ(Service("10.96.0.10", 0, 0).flags, std::uint32_t{MER_SVC_F_VIP_MARKER});

  // svc0 goes: its marker too, but not the pods svc1 still uses.
  snap.services.erase(snap.services.begin());
  snap.endpoint_slices.erase(snap.endpoint_slices.begin());
  auto third = writer_->Apply(Desired(snap));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->services_deleted, 2u);  // the frontend and the marker
  EXPECT_EQ(third->backends_deleted, 0u);
  mer_service_key marker{.vip_be = Ip("10.96.0.10"), .port_be = 0, .proto = 0, .scope = 0};
  mer_service v{};
  EXPECT_EQ(store_->Lookup(MapId::services, &marker, &v), ENOENT);
  EXPECT_EQ(writer_->backend_id(pod), id);

  // svc1 loses one pod: that backend goes, the other stays.
  snap.endpoint_slices[0].endpoints.pop_back();
  auto fourth = writer_->Apply(Desired(snap));
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(fourth->backends_deleted, 1u);
  EXPECT_EQ(writer_->backend_id(pod), id);
  EXPECT_EQ(store_->size(MapId::backends), 1u);
}

TEST_F(MapWriterMemoryTest, TunnelStateIsWrittenAndRemovedByDifference) {
  Start();
  desired::DesiredState d;
  const auto cidr = *model::Cidr::Parse("10.2.0.0/16");
  d.remote_cidrs[cidr] = {*Ipv4Address::Parse("192.168.2.10"), 2};
  d.tunnel_peers[*Ipv4Address::Parse("192.168.2.10")] = 2;
  d.exported_endpoints.insert({*Ipv4Address::Parse("10.1.1.11"), 8080, Protocol::kTcp});
  auto st = writer_->Apply(d);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->tunnel_written, 3u);
  mer_cidr_key key{16, Ip("10.2.0.0")};
  mer_remote_cidr route{};
  ASSERT_EQ(store_->Lookup(MapId::remote_cidrs, &key, &route), 0);
  EXPECT_EQ(route.tunnel_ip_be, Ip("192.168.2.10"));
  EXPECT_EQ(route.cluster_id, 2u);
  // The peer moves to cluster 3: one write; the endpoint goes: one delete.
  d.tunnel_peers[*Ipv4Address::Parse("192.168.2.10")] = 3;
  d.exported_endpoints.clear();
  Restart();
  auto next = writer_->Apply(d);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->tunnel_written, 1u);
  EXPECT_EQ(next->tunnel_deleted, 1u);
  std::uint32_t peer = Ip("192.168.2.10");
  mer_tunnel_peer p{};
  ASSERT_EQ(store_->Lookup(MapId::tunnel_peers, &peer, &p), 0);
  EXPECT_EQ(p.cluster_id, 3u);
  EXPECT_EQ(store_->size(MapId::exported_eps), 0u);
}

}  // namespace
}  // namespace meridian::datapath
