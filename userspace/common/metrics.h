// The metrics registry: every part of a process registers what it counts
// here, and the /metrics endpoint renders it in Prometheus's text
// exposition format (version 0.0.4), as Envoy's stats store feeds its
// admin endpoints.
//
// Two kinds of registration:
//   - instruments the code updates as things happen (a histogram of
//     reconcile durations): AddHistogram, AddCounter;
//   - collectors that read state someone else already keeps (BPF counters
//     in a pinned map, the DNS server's counters, the agent's status) at
//     scrape time: AddCollector. Nothing is copied when nobody scrapes.
//
// The registry is not thread-safe: the agent and the controller update and
// scrape it from their one io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace meridian::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Label name -> value, in the order given.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  Labels labels;
  double value = 0;
};

struct HistogramSample {
  Labels labels;
  std::vector<double> upper_bounds;        // ascending, +Inf implied
  std::vector<std::uint64_t> bucket_hits;  // per bucket (not cumulative), +Inf last
  double sum = 0;
  std::uint64_t count = 0;
};

// One metric family: a name, its help, its type, and its samples.
struct Family {
  std::string name;  // meridian_..., units in the name, counters end in _total
  std::string help;
  Type type = Type::kGauge;
  std::vector<Sample> samples;              // counters and gauges
  std::vector<HistogramSample> histograms;  // histograms
};

// A histogram family: one series per label set, observed by the code.
class Histogram {
 public:
  Histogram(std::string name, std::string help, std::vector<double> upper_bounds);
  void Observe(const Labels& labels, double value);
  Family Snapshot() const;

 private:
  Family family_;
  HistogramSample bounds_template_;      // an empty series with the bounds
  std::map<Labels, std::size_t> index_;  // label set -> histograms[i]
};

// A counter family: one series per label set, incremented by the code.
class Counter {
 public:
  Counter(std::string name, std::string help);
  void Add(const Labels& labels, double n = 1);
  Family Snapshot() const;

 private:
  Family family_;
  std::map<Labels, std::size_t> index_;
};

class Registry {
 public:
  // Appends families to `out` at scrape time.
  using Collector = std::function<void(std::vector<Family>& out)>;

  void AddCollector(Collector collector);
  // Owned by the registry; the reference lives as long as it does.
  Histogram& AddHistogram(std::string name, std::string help, std::vector<double> upper_bounds);
  Counter& AddCounter(std::string name, std::string help);

  std::vector<Family> Collect() const;

 private:
  std::vector<Collector> collectors_;
  std::vector<std::unique_ptr<Histogram>> histograms_;
  std::vector<std::unique_ptr<Counter>> counters_;
};

// The text exposition format: # HELP and # TYPE lines, then one line per
// sample; label values and help text escaped as the format requires.
std::string RenderPrometheus(const std::vector<Family>& families);

// The exposition format's content type, for the HTTP answer.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Milliseconds to seconds (Prometheus's base unit).
inline double Seconds(double ms) { return ms / 1000.0; }

}  // namespace meridian::metrics
