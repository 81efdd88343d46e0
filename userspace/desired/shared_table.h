// A Maglev table (slot -> index into a frontend's backends), immutable and
// shared: every frontend and every desired state that has the same table
// holds one pointer to it. A reconcile that changes one Service of 10k
// reuses 9,999 tables by copying pointers (copying them cost 64 MB of
// memmove per reconcile), and the map writer knows a table it already
// wrote by its identity, without comparing slots.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace meridian::desired {

class SharedTable {
 public:
  SharedTable() = default;
  explicit SharedTable(std::vector<std::uint32_t> slots)
      : slots_(slots.empty()
                   ? nullptr
                   : std::make_shared<const std::vector<std::uint32_t>>(std::move(slots))) {}

  std::size_t size() const { return slots_ ? slots_->size() : 0; }
  bool empty() const { return size() == 0; }
  std::uint32_t operator[](std::size_t slot) const { return (*slots_)[slot]; }
  const std::vector<std::uint32_t>& slots() const { return slots_ ? *slots_ : kEmpty; }
  auto begin() const { return slots().begin(); }
  auto end() const { return slots().end(); }

  // The very same table (not merely equal slots).
  bool SameAs(const SharedTable& other) const { return slots_ == other.slots_; }

  friend bool operator==(const SharedTable& a, const SharedTable& b) {
    return a.slots_ == b.slots_ || a.slots() == b.slots();
  }
  friend bool operator==(const SharedTable& a, const std::vector<std::uint32_t>& b) {
    return a.slots() == b;
  }

 private:
  static inline const std::vector<std::uint32_t> kEmpty;
  std::shared_ptr<const std::vector<std::uint32_t>> slots_;
};

}  // namespace meridian::desired
