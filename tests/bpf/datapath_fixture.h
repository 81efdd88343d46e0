// A loaded lxc datapath (nothing pinned) plus helpers to install services
// through the real desired-state builder and map writer, and to run a
// program once on a packet with BPF_PROG_TEST_RUN.
#pragma once

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "datapath/map_writer.h"
#include "datapath/node_datapath.h"
#include "datapath/stats_reader.h"
#include "desired/desired_state.h"
#include "meridian/abi.h"
#include "model/snapshot.h"
#include "packet.h"

namespace meridian::testing {

struct RunResult {
  int verdict = -1;
  Bytes out;
};

// Service objects as a manifest would give them.
inline model::Service MakeService(const std::string& name, const char* vip,
                                  std::vector<model::ServicePort> ports) {
  model::Service s;
  s.meta.key = {"default", name};
  s.cluster_ip = model::Ipv4Address::Parse(vip);
  s.ports = std::move(ports);
  return s;
}

inline model::EndpointSlice MakeSlice(const std::string& service,
                                      const std::vector<std::string>& addrs,
                                      std::vector<model::EndpointPort> ports,
                                      model::EndpointConditions cond = {}) {
  model::EndpointSlice sl;
  sl.meta.key = {"default", service + "-slice"};
  sl.service_name = service;
  sl.ports = std::move(ports);
  for (const auto& a : addrs) {
    model::Endpoint ep;
    ep.addresses.push_back(*model::Ipv4Address::Parse(a));
    ep.conditions = cond;
    sl.endpoints.push_back(ep);
  }
  return sl;
}

// A Cluster manifest: id, pod CIDR and (tunnel endpoint, its pod CIDR)s.
inline model::Cluster MakeCluster(const char* name, std::uint32_t id, const char* cidr,
                                  std::vector<std::pair<const char*, const char*>> endpoints) {
  model::Cluster c;
  c.meta.key.name = name;
  c.id = id;
  c.pod_cidrs = {*model::Cidr::Parse(cidr)};
  for (auto [addr, ep_cidr] : endpoints) {
    c.tunnel_endpoints.push_back(
        {*model::Ipv4Address::Parse(addr), {*model::Cidr::Parse(ep_cidr)}});
  }
  return c;
}

class DatapathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    datapath::LoadOptions opts;
    opts.sizes = {.services = 1024, .backends = 1024, .ct = 4096, .maglev_slots = 32768};
    opts.config = config_;
    auto dp = datapath::NodeDatapath::Load(opts);
    ASSERT_TRUE(dp.ok()) << dp.error().message;
    dp_ = std::move(dp).value();
    auto w = datapath::MapWriter::Recover(dp_->maps());
    ASSERT_TRUE(w.ok()) << w.error().message;
    writer_ = std::make_unique<datapath::MapWriter>(std::move(w).value());
  }

  datapath::WriteStats Install(const model::ResourceSnapshot& snap) {
    auto state = desired::BuildDesiredState(
        snap, desired::DesiredOptions{.maglev = {},
                                      .local_cluster = local_cluster_,
                                      .node_ip = node_ip_,
                                      .node_name = node_name_,
                                      .nodeport_addresses = nodeport_addresses_});
    EXPECT_TRUE(state.ok()) << state.error().message;
    state_ = *state;
    auto st = writer_->Apply(*state);
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    return st.ok() ? *st : datapath::WriteStats{};
  }

  RunResult Run(int prog_fd, const Bytes& in) {
    RunResult r;
    r.out.resize(in.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<__u32>(in.size()),
                .data_size_out = static_cast<__u32>(r.out.size()), .repeat = 1);
    int err = bpf_prog_test_run_opts(prog_fd, &opts);
    EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN failed: " << err;
    r.verdict = static_cast<int>(opts.retval);
    r.out.resize(opts.data_size_out);
    return r;
  }
  // XDP as if received on `ifindex` (the FIB lookups of the NodePort path
  // need a real ingress device).
  RunResult RunXdpOn(int prog_fd, const Bytes& in, int ifindex) {
    RunResult r;
    r.out.resize(in.size() + 256);
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(in.size());
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<__u32>(in.size()),
                .data_size_out = static_cast<__u32>(r.out.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof ctx, .repeat = 1);
    int err = bpf_prog_test_run_opts(prog_fd, &opts);
    EXPECT_EQ(err, 0) << "BPF_PROG_TEST_RUN failed: " << err;
    r.verdict = static_cast<int>(opts.retval);
    r.out.resize(opts.data_size_out);
    return r;
  }
  RunResult FromPod(const Bytes& in) { return Run(dp_->from_pod_fd(), in); }
  RunResult ToPod(const Bytes& in) { return Run(dp_->to_pod_fd(), in); }
  RunResult FromUplink(const Bytes& in) { return Run(dp_->from_uplink_fd(), in); }
  RunResult XdpFromUplink(const Bytes& in) { return Run(dp_->xdp_from_uplink_fd(), in); }

  // A packet's address (network order) as text.
  static std::string Addr(std::uint32_t be) {
    return model::Ipv4Address::FromNetworkOrder(be).ToString();
  }

  // Counter deltas since the last call, by name; zero counters omitted.
  std::map<std::string, std::uint64_t> CounterDelta() {
    auto now = datapath::ReadStats(dp_->maps().stats);
    EXPECT_TRUE(now.ok());
    std::map<std::string, std::uint64_t> delta;
    for (const auto& c : *now) {
      std::uint64_t d = c.packets - last_[c.name];
      if (d) delta[c.name] = d;
      last_[c.name] = c.packets;
    }
    return delta;
  }

  mer_config config_{};                                 // set by a derived fixture before SetUp
  std::string local_cluster_;                           // likewise
  std::optional<model::Ipv4Address> node_ip_;           // likewise (gateway tests)
  std::string node_name_;                               // likewise (traffic policies)
  std::vector<model::Ipv4Address> nodeport_addresses_;  // likewise (NodePort tests)
  std::unique_ptr<datapath::NodeDatapath> dp_;
  std::unique_ptr<datapath::MapWriter> writer_;
  desired::DesiredState state_;
  std::map<std::string, std::uint64_t> last_;
};

}  // namespace meridian::testing
