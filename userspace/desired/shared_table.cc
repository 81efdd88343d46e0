#include "desired/shared_table.h"

#include <algorithm>
#include <limits>

namespace meridian::desired {

SharedTable::SharedTable(const std::vector<std::uint32_t>& slots) {
  if (slots.empty()) return;
  auto data = std::make_shared<Data>();
  const bool fits =
      *std::max_element(slots.begin(), slots.end()) <= std::numeric_limits<std::uint16_t>::max();
  if (fits) {
    data->narrow.assign(slots.begin(), slots.end());
  } else {
    data->wide = slots;
  }
  data_ = std::move(data);
}

std::vector<std::uint32_t> SharedTable::ToVector() const { return {begin(), end()}; }

bool operator==(const SharedTable& a, const SharedTable& b) {
  if (a.data_ == b.data_) return true;
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

bool operator==(const SharedTable& a, const std::vector<std::uint32_t>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace meridian::desired
