#include "datapath/ct_eviction_estimate.h"

namespace meridian::datapath {

std::uint64_t CtEvictionEstimate::Update(std::uint64_t added_total, std::uint64_t deleted,
                                         std::uint64_t entries) {
  if (!last_ || added_total < last_->added_total) {
    // First collection, or the counters restarted (a fresh mer_stats):
    // nothing to compare with yet.
    last_ = Baseline{added_total, entries};
    carried_ = 0;
    return 0;
  }
  const auto added = static_cast<std::int64_t>(added_total - last_->added_total);
  const auto growth =
      static_cast<std::int64_t>(entries) - static_cast<std::int64_t>(last_->entries);
  carried_ += added - static_cast<std::int64_t>(deleted) - growth;
  last_ = Baseline{added_total, entries};
  if (carried_ <= 0) return 0;
  const auto evicted = static_cast<std::uint64_t>(carried_);
  carried_ = 0;
  evicted_ += evicted;
  return evicted;
}

}  // namespace meridian::datapath
