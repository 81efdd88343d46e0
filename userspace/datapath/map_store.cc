#include "datapath/map_store.h"

#include <linux/bpf.h>

namespace meridian::datapath {

const MapShape& ShapeOf(MapId map) {
  static const MapShape kShapes[] = {
#define MER_MAP_SHAPE(name, type, max_entries, flags, key, value) \
  MapShape{MER_MAP_NAME(name),                                    \
           type,                                                  \
           static_cast<std::uint32_t>(max_entries),               \
           flags,                                                 \
           static_cast<std::uint32_t>(sizeof(key)),               \
           static_cast<std::uint32_t>(sizeof(value))},
      MER_MAPS(MER_MAP_SHAPE)
#undef MER_MAP_SHAPE
  };
  return kShapes[static_cast<std::size_t>(map)];
}

}  // namespace meridian::datapath
