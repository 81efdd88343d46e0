#include "datapath/slot_ranges.h"

#include <algorithm>
#include <cassert>
#include <iterator>

namespace meridian::datapath {

SlotRanges::SlotRanges(std::uint32_t capacity) : capacity_(capacity), free_slots_(capacity) {
  if (capacity > 0) free_.emplace(0, capacity);
}

std::optional<std::uint32_t> SlotRanges::Allocate(std::uint32_t size) {
  if (size == 0) return std::nullopt;
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < size) continue;
    const std::uint32_t offset = it->first;
    const std::uint32_t rest = it->second - size;
    free_.erase(it);
    if (rest > 0) free_.emplace(offset + size, rest);
    free_slots_ -= size;
    return offset;
  }
  return std::nullopt;
}

bool SlotRanges::Reserve(std::uint32_t offset, std::uint32_t size) {
  if (size == 0 || offset >= capacity_ || size > capacity_ - offset) return false;
  // The free range holding `offset`: the last one starting at or before it.
  auto it = free_.upper_bound(offset);
  if (it == free_.begin()) return false;
  --it;
  const std::uint32_t start = it->first;
  const std::uint64_t end = std::uint64_t{start} + it->second;
  if (std::uint64_t{offset} + size > end) return false;
  free_.erase(it);
  if (offset > start) free_.emplace(start, offset - start);
  if (std::uint64_t{offset} + size < end) {
    free_.emplace(offset + size, static_cast<std::uint32_t>(end - offset - size));
  }
  free_slots_ -= size;
  return true;
}

void SlotRanges::Free(std::uint32_t offset, std::uint32_t size) {
  if (size == 0) return;
  auto next = free_.lower_bound(offset);
  assert(next == free_.end() || next->first >= offset + size);
  std::uint32_t start = offset;
  std::uint32_t length = size;
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    assert(prev->first + prev->second <= offset);
    if (prev->first + prev->second == offset) {  // merge with the range before
      start = prev->first;
      length += prev->second;
      free_.erase(prev);
    }
  }
  if (next != free_.end() && next->first == offset + size) {  // and with the one after
    length += next->second;
    free_.erase(next);
  }
  free_.emplace(start, length);
  free_slots_ += size;
}

std::uint32_t SlotRanges::largest_free() const {
  std::uint32_t largest = 0;
  for (const auto& [offset, length] : free_) largest = std::max(largest, length);
  return largest;
}

}  // namespace meridian::datapath
