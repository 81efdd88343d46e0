#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace meridian::metrics {
namespace {

// Label values: backslash, double quote and line feed are escaped.
std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Help text: backslash and line feed are escaped.
std::string EscapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Go's strconv.FormatFloat(v, 'g', -1, 64) is what Prometheus writes; any
// form its parser reads will do: integers stay integers, the rest round-trip.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}

void AppendLabels(std::string& out, const Labels& labels,
                  const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && !extra) return;
  out += '{';
  bool first = true;
  auto one = [&](const std::string& k, const std::string& v) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    out += EscapeLabelValue(v);
    out += '"';
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (extra) one(extra->first, extra->second);
  out += '}';
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

Histogram::Histogram(std::string name, std::string help, std::vector<double> upper_bounds) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = Type::kHistogram;
  std::sort(upper_bounds.begin(), upper_bounds.end());
  bounds_template_.upper_bounds = std::move(upper_bounds);
  bounds_template_.bucket_hits.assign(bounds_template_.upper_bounds.size() + 1, 0);
}

void Histogram::Observe(const Labels& labels, double value) {
  auto [it, inserted] = index_.try_emplace(labels, family_.histograms.size());
  if (inserted) {
    HistogramSample s = bounds_template_;
    s.labels = labels;
    family_.histograms.push_back(std::move(s));
  }
  HistogramSample& s = family_.histograms[it->second];
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(s.upper_bounds.begin(), s.upper_bounds.end(), value) -
      s.upper_bounds.begin());
  s.bucket_hits[bucket]++;
  s.sum += value;
  s.count++;
}

Family Histogram::Snapshot() const { return family_; }

Counter::Counter(std::string name, std::string help) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = Type::kCounter;
}

void Counter::Add(const Labels& labels, double n) {
  auto [it, inserted] = index_.try_emplace(labels, family_.samples.size());
  if (inserted) family_.samples.push_back({labels, 0});
  family_.samples[it->second].value += n;
}

Family Counter::Snapshot() const { return family_; }

void Registry::AddCollector(Collector collector) { collectors_.push_back(std::move(collector)); }

Histogram& Registry::AddHistogram(std::string name, std::string help,
                                  std::vector<double> upper_bounds) {
  histograms_.push_back(
      std::make_unique<Histogram>(std::move(name), std::move(help), std::move(upper_bounds)));
  return *histograms_.back();
}

Counter& Registry::AddCounter(std::string name, std::string help) {
  counters_.push_back(std::make_unique<Counter>(std::move(name), std::move(help)));
  return *counters_.back();
}

std::vector<Family> Registry::Collect() const {
  std::vector<Family> out;
  for (const auto& c : counters_) out.push_back(c->Snapshot());
  for (const auto& h : histograms_) out.push_back(h->Snapshot());
  for (const auto& collect : collectors_) collect(out);
  return out;
}

std::string RenderPrometheus(const std::vector<Family>& families) {
  std::string out;
  for (const Family& f : families) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, EscapeHelp(f.help), f.name,
                       TypeName(f.type));
    for (const Sample& s : f.samples) {
      out += f.name;
      AppendLabels(out, s.labels);
      out += ' ';
      out += Number(s.value);
      out += '\n';
    }
    for (const HistogramSample& h : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h.bucket_hits.size(); ++i) {
        cumulative += h.bucket_hits[i];
        const std::pair<std::string, std::string> le{
            "le", i < h.upper_bounds.size() ? Number(h.upper_bounds[i]) : "+Inf"};
        out += f.name + "_bucket";
        AppendLabels(out, h.labels, &le);
        out += ' ' + std::to_string(cumulative) + '\n';
      }
      out += f.name + "_sum";
      AppendLabels(out, h.labels);
      out += ' ' + Number(h.sum) + '\n';
      out += f.name + "_count";
      AppendLabels(out, h.labels);
      out += ' ' + std::to_string(h.count) + '\n';
    }
  }
  return out;
}

}  // namespace meridian::metrics
