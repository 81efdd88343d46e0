// Free space of the flat Maglev slot array (mer_maglev): which slot ranges
// are free. First fit, with adjacent free ranges merged. Pure bookkeeping;
// MaglevSlots owns the array itself.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace meridian::datapath {

class SlotRanges {
 public:
  explicit SlotRanges(std::uint32_t capacity = 0);

  // Takes the first free range of `size` (> 0) slots; nullopt when none is
  // that long, even if enough slots are free in smaller pieces.
  std::optional<std::uint32_t> Allocate(std::uint32_t size);

  // Takes exactly [offset, offset + size): what a recovered service entry
  // points at. False, and nothing taken, when the range is empty, leaves
  // the array, or is not wholly free (two entries claiming one range).
  bool Reserve(std::uint32_t offset, std::uint32_t size);

  // Gives back a range taken by Allocate or Reserve.
  void Free(std::uint32_t offset, std::uint32_t size);

  std::uint32_t capacity() const { return capacity_; }
  std::uint64_t free_slots() const { return free_slots_; }
  std::uint32_t largest_free() const;
  std::size_t free_ranges() const { return free_.size(); }

 private:
  std::map<std::uint32_t, std::uint32_t> free_;  // offset -> length; disjoint, never adjacent
  std::uint32_t capacity_;
  std::uint64_t free_slots_;
};

}  // namespace meridian::datapath
