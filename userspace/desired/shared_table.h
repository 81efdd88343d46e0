// A Maglev table (slot -> index into a frontend's backends), immutable and
// shared: every frontend and every desired state that has the same table
// holds one pointer to it. A reconcile that changes one Service of 10k
// reuses 9,999 tables by copying pointers (copying them cost 64 MB of
// memmove per reconcile), and the map writer knows a table it already
// wrote by its identity, without comparing slots. A table of fewer than
// 65,536 backends (all of them, in practice) stores 2-byte indices: the
// agent keeps every table, 1,601 slots per 10-endpoint Service.
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

namespace meridian::desired {

class SharedTable {
 public:
  SharedTable() = default;
  explicit SharedTable(const std::vector<std::uint32_t>& slots);

  std::size_t size() const { return data_ ? data_->size() : 0; }
  bool empty() const { return size() == 0; }
  std::uint32_t operator[](std::size_t slot) const {
    return data_->narrow.empty() ? data_->wide[slot] : data_->narrow[slot];
  }
  std::vector<std::uint32_t> ToVector() const;

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::uint32_t;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::uint32_t;
    Iterator() = default;
    Iterator(const SharedTable* t, std::size_t i) : table_(t), i_(i) {}
    std::uint32_t operator*() const { return (*table_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++i_;
      return old;
    }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }

   private:
    const SharedTable* table_ = nullptr;
    std::size_t i_ = 0;
  };
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, size()}; }

  // The very same table (not merely equal slots).
  bool SameAs(const SharedTable& other) const { return data_ == other.data_; }

  friend bool operator==(const SharedTable& a, const SharedTable& b);
  friend bool operator==(const SharedTable& a, const std::vector<std::uint32_t>& b);

 private:
  struct Data {
    std::vector<std::uint16_t> narrow;  // when every index fits
    std::vector<std::uint32_t> wide;    // otherwise
    std::size_t size() const { return narrow.empty() ? wide.size() : narrow.size(); }
  };
  std::shared_ptr<const Data> data_;
};

}  // namespace meridian::desired
