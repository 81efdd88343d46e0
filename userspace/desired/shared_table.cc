#include "desired/shared_table.h"

#include <algorithm>
#include <limits>

namespace meridian::desired {

SharedTable::SharedTable(const std::vector<std::uint32_t>& slots) {
  if (slots.empty()) return;
  auto data = std::make_shared<Data>();
  const std::uint32_t max = *std::max_element(slots.begin(), slots.end());
  data->size = slots.size();
  data->bits = max < 16                                           ? 4
               : max < 256                                        ? 8
               : max <= std::numeric_limits<std::uint16_t>::max() ? 16
                                                                  : 32;
  std::vector<std::uint8_t>& out = data->bytes;
  out.assign((slots.size() * data->bits + 7) / 8, 0);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const std::uint32_t v = slots[i];
    switch (data->bits) {
      case 4:
        out[i >> 1] |= static_cast<std::uint8_t>(v << ((i & 1) * 4));
        break;
      case 8:
        out[i] = static_cast<std::uint8_t>(v);
        break;
      case 16: {
        const auto n = static_cast<std::uint16_t>(v);
        std::memcpy(&out[i * 2], &n, sizeof n);
        break;
      }
      default:
        std::memcpy(&out[i * 4], &v, sizeof v);
    }
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
