// The metrics registry and its exposition: the exact text for known
// samples, and the whole output accepted by Prometheus's own checker
// (promtool check metrics, from Debian's prometheus package).
#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "temp_dir.h"

namespace meridian::metrics {
namespace {

TEST(MetricsTest, CountersAndGaugesRenderAsTheFormatSays) {
  Registry r;
  r.AddCollector([](std::vector<Family>& out) {
    out.push_back({.name = "meridian_datapath_packets_total",
                   .help = "Packets by verdict.",
                   .type = Type::kCounter,
                   .samples = {{{{"verdict", "lb_new_flow"}}, 3}, {{{"verdict", "revnat"}}, 12}}});
    out.push_back({.name = "meridian_conntrack_entries",
                   .help = "Entries in mer_ct.",
                   .type = Type::kGauge,
                   .samples = {{{}, 2}}});
  });
  EXPECT_EQ(RenderPrometheus(r.Collect()),
            "# HELP meridian_datapath_packets_total Packets by verdict.\n"
            "# TYPE meridian_datapath_packets_total counter\n"
            "meridian_datapath_packets_total{verdict=\"lb_new_flow\"} 3\n"
            "meridian_datapath_packets_total{verdict=\"revnat\"} 12\n"
            "# HELP meridian_conntrack_entries Entries in mer_ct.\n"
            "# TYPE meridian_conntrack_entries gauge\n"
            "meridian_conntrack_entries 2\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInf) {
  Registry r;
  auto& h = r.AddHistogram("meridian_reconcile_duration_seconds", "Reconcile time.", {0.01, 0.001});
  h.Observe({{"phase", "write"}}, 0.0005);  // <= 0.001
  h.Observe({{"phase", "write"}}, 0.001);   // le is inclusive
  h.Observe({{"phase", "write"}}, 0.005);
  h.Observe({{"phase", "write"}}, 2);
  EXPECT_EQ(RenderPrometheus(r.Collect()),
            "# HELP meridian_reconcile_duration_seconds Reconcile time.\n"
            "# TYPE meridian_reconcile_duration_seconds histogram\n"
            "meridian_reconcile_duration_seconds_bucket{phase=\"write\",le=\"0.001\"} 2\n"
            "meridian_reconcile_duration_seconds_bucket{phase=\"write\",le=\"0.01\"} 3\n"
            "meridian_reconcile_duration_seconds_bucket{phase=\"write\",le=\"+Inf\"} 4\n"
            "meridian_reconcile_duration_seconds_sum{phase=\"write\"} 2.0065\n"
            "meridian_reconcile_duration_seconds_count{phase=\"write\"} 4\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  auto& c = r.AddCounter("meridian_errors_total", "Errors\\by \"kind\"\nsecond line.");
  c.Add({{"object", "a\"b\\c\nd"}});
  c.Add({{"object", "a\"b\\c\nd"}}, 2);
  EXPECT_EQ(RenderPrometheus(r.Collect()),
            "# HELP meridian_errors_total Errors\\\\by \"kind\"\\nsecond line.\n"
            "# TYPE meridian_errors_total counter\n"
            "meridian_errors_total{object=\"a\\\"b\\\\c\\nd\"} 3\n");
}

TEST(MetricsTest, PromtoolAcceptsTheOutput) {
  Registry r;
  auto& h = r.AddHistogram("meridian_reconcile_duration_seconds", "Reconcile time by phase.",
                           {0.001, 0.01, 0.1, 1});
  for (const char* phase : {"read", "desired", "write"}) h.Observe({{"phase", phase}}, 0.02);
  r.AddCounter("meridian_dns_queries_total", "DNS queries by transport.")
      .Add({{"transport", "udp"}}, 5);
  r.AddCollector([](std::vector<Family>& out) {
    out.push_back({.name = "meridian_bpf_map_entries",
                   .help = "Entries in each BPF map.",
                   .type = Type::kGauge,
                   .samples = {{{{"map", "mer_ct"}}, 1.5e6}, {{{"map", "mer_services"}}, 0.25}}});
  });
  test_support::TempDir dir;
  const std::string path = dir.Path("metrics.txt");
  std::ofstream(path) << RenderPrometheus(r.Collect());
  const std::string cmd = "promtool check metrics < " + path + " > " + dir.Path("out") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(dir.Path("out"));
  std::string said((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(rc, 0) << "promtool (apt-get install prometheus) said: " << said;
  EXPECT_EQ(said, "");  // not even a lint warning
}

}  // namespace
}  // namespace meridian::metrics
