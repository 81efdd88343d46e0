// The flat Maglev slot array (mer_maglev), mapped into the agent. Every
// service's table is one range of it; the service entry names the range.
// A new table is copied into a free range with memcpy and published by the
// service entry update that points at it; a table of unchanged size is
// rewritten in place, slot by slot (each 4-byte store is atomic, and every
// value is a live backend, so readers never see junk). A range that no
// entry points at any more is quarantined for kRetiredGrace before it can
// be reused, so that a program that read the old entry just before the
// switch never reads another service's slots.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "datapath/slot_ranges.h"

namespace meridian::datapath {

class MaglevSlots {
 public:
  // Far beyond an RCU grace period: BPF programs hold a service entry only
  // while they handle one packet.
  static constexpr std::chrono::milliseconds kRetiredGrace{1000};

  // Maps mer_maglev (`fd`), all of it free. Fails when the map is not the
  // flat array of this build (a pin left by an older Meridian).
  static Result<MaglevSlots> Map(int fd);
  // Slots in memory the caller owns (MemoryMapStore), all of them free.
  static MaglevSlots Borrow(std::uint32_t* slots, std::uint32_t capacity) {
    return MaglevSlots(slots, 0, capacity);
  }

  MaglevSlots(MaglevSlots&& other) noexcept;
  MaglevSlots& operator=(MaglevSlots&& other) noexcept;
  MaglevSlots(const MaglevSlots&) = delete;
  MaglevSlots& operator=(const MaglevSlots&) = delete;
  ~MaglevSlots();

  std::uint32_t capacity() const { return ranges_.capacity(); }
  std::uint64_t used() const { return capacity() - ranges_.free_slots(); }

  // Copies `ids` into a newly taken range; nullopt when no free range is
  // long enough.
  std::optional<std::uint32_t> Place(std::span<const std::uint32_t> ids);
  // Rewrites the slots of [offset, offset + ids.size()) that differ from
  // `ids`; returns how many did.
  std::uint32_t Rewrite(std::uint32_t offset, std::span<const std::uint32_t> ids);
  // The slots of a range, as the datapath reads them.
  std::span<const std::uint32_t> Read(std::uint32_t offset, std::uint32_t size) const;

  // Recovery: takes the range a pinned service entry points at. False when
  // it leaves the array or overlaps a range already taken.
  bool Adopt(std::uint32_t offset, std::uint32_t size) { return ranges_.Reserve(offset, size); }
  // No entry points at the range any more: free after kRetiredGrace.
  void Retire(std::uint32_t offset, std::uint32_t size, std::chrono::steady_clock::time_point now);
  // Frees the ranges retired at least kRetiredGrace before `now`.
  void ReleaseRetired(std::chrono::steady_clock::time_point now);

  // "F of C slots free, the largest free range has L": for errors.
  std::string Describe() const;

 private:
  MaglevSlots(std::uint32_t* slots, std::size_t mapped_bytes, std::uint32_t capacity)
      : slots_(slots), mapped_bytes_(mapped_bytes), ranges_(capacity) {}

  struct Retired {
    std::uint32_t offset;
    std::uint32_t size;
    std::chrono::steady_clock::time_point at;
  };

  std::uint32_t* slots_ = nullptr;  // the array: slot i is slots_[i]
  std::size_t mapped_bytes_ = 0;    // 0: borrowed, not mapped
  SlotRanges ranges_;
  std::vector<Retired> retired_;  // in retirement order
};

}  // namespace meridian::datapath
