#include "propagation/select_groups.h"

#include <fmt/format.h>

#include <algorithm>

namespace meridian::propagation {
namespace {

// Karmada visits every combination; 2^20 of them is far past any real
// ClusterSet's regions and still a fraction of a second.
constexpr std::size_t kMaxVisits = std::size_t{1} << 20;

struct Path {
  std::size_t id = 0;
  std::vector<SpreadGroup> groups;  // weight descending, then name
  std::int64_t weight = 0, value = 0;
};

bool ByWeightThenName(const SpreadGroup& a, const SpreadGroup& b) {
  if (a.weight != b.weight) return a.weight > b.weight;
  return a.name < b.name;
}

// Is `sub` a strict prefix of `path`?
bool IsStrictPrefix(const Path& sub, const Path& path) {
  if (sub.groups.size() >= path.groups.size()) return false;
  for (std::size_t i = 0; i < sub.groups.size(); ++i) {
    if (path.groups[i].name != sub.groups[i].name) return false;
  }
  return true;
}

class Search {
 public:
  Search(const std::vector<SpreadGroup>& groups, int min, int max, std::int64_t target)
      : groups_(groups), min_(min), max_(max), target_(target) {}

  // false: the visit bound was hit.
  bool Run(std::int64_t sum, std::size_t begin) {
    if (++visits_ > kMaxVisits) return false;
    const int len = static_cast<int>(current_.size());
    if (sum >= target_ && len >= min_ && len <= max_) {
      Record();
      return true;
    }
    if (len >= max_) return true;
    for (std::size_t i = begin; i < groups_.size(); ++i) {
      current_.push_back(groups_[i]);
      const bool ok = Run(sum + groups_[i].value, i + 1);
      current_.pop_back();
      if (!ok) return false;
    }
    return true;
  }

  std::vector<Path>& paths() { return paths_; }

 private:
  void Record() {
    Path p{.id = paths_.size(), .groups = current_};
    for (const auto& g : p.groups) {
      p.weight += g.weight;
      p.value += g.value;
    }
    std::sort(p.groups.begin(), p.groups.end(), ByWeightThenName);
    paths_.push_back(std::move(p));
  }

  const std::vector<SpreadGroup>& groups_;
  const int min_, max_;
  const std::int64_t target_;
  std::vector<SpreadGroup> current_;
  std::vector<Path> paths_;
  std::size_t visits_ = 0;
};

}  // namespace

Result<std::vector<SpreadGroup>> SelectGroups(std::vector<SpreadGroup> groups, int min_groups,
                                              int max_groups, std::int64_t target) {
  if (groups.empty()) return std::vector<SpreadGroup>{};
  std::sort(groups.begin(), groups.end(), [](const SpreadGroup& a, const SpreadGroup& b) {
    if (a.value != b.value) return a.value < b.value;
    if (a.weight != b.weight) return a.weight > b.weight;
    return a.name < b.name;
  });
  Search search(groups, min_groups, max_groups, target);
  if (!search.Run(0, 0)) {
    return Error{
        fmt::format("more than {} combinations of {} groups to search", kMaxVisits, groups.size())};
  }
  auto& paths = search.paths();
  if (paths.empty()) return std::vector<SpreadGroup>{};
  std::sort(paths.begin(), paths.end(), [](const Path& a, const Path& b) {
    if (a.weight != b.weight) return a.weight > b.weight;
    if (a.value != b.value) return a.value > b.value;
    return a.id < b.id;
  });
  const Path* chosen = &paths[0];
  for (std::size_t i = 1; i < paths.size(); ++i) {
    if (IsStrictPrefix(paths[i], *chosen)) chosen = &paths[i];
  }
  return chosen->groups;
}

}  // namespace meridian::propagation
