// A Maglev table (slot -> index into a frontend's backends), immutable and
// shared: every frontend and every desired state that has the same table
// holds one pointer to it. A reconcile that changes one Service of 10k
// reuses 9,999 tables by copying pointers (copying them cost 64 MB of
// memmove per reconcile), and the map writer knows a table it already
// wrote by its identity, without comparing slots. Slots are packed in as
// few bits as the largest index needs: 4 for up to 16 backends (most
// Services), 8 for up to 256, 16 for up to 65,536, else 32. The agent keeps
// every table (1,601 slots per 10-endpoint Service: 801 bytes packed, 3.2
// KB as 2-byte slots; at 10k Services 8 MB instead of 32).
#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <vector>

namespace meridian::desired {

class SharedTable {
 public:
  SharedTable() = default;
  explicit SharedTable(const std::vector<std::uint32_t>& slots);

  std::size_t size() const { return data_ ? data_->size : 0; }
  bool empty() const { return size() == 0; }
  std::uint32_t operator[](std::size_t slot) const {
    const Data& d = *data_;
    switch (d.bits) {
      case 4:
        return (d.bytes[slot >> 1] >> ((slot & 1) * 4)) & 0xfu;
      case 8:
        return d.bytes[slot];
      case 16: {
        std::uint16_t v;
        std::memcpy(&v, &d.bytes[slot * 2], sizeof v);
        return v;
      }
      default: {
        std::uint32_t v;
        std::memcpy(&v, &d.bytes[slot * 4], sizeof v);
        return v;
      }
    }
  }
  // Bits per slot (4, 8, 16 or 32; 0 when empty).
  unsigned bits() const { return data_ ? data_->bits : 0; }
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
    std::size_t size = 0;
    unsigned bits = 32;
    std::vector<std::uint8_t> bytes;  // `size` slots of `bits` each, little-endian
  };
  std::shared_ptr<const Data> data_;
};

}  // namespace meridian::desired
