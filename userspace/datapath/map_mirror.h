// The one write/remove-stale loop every simple map of the writer shares: a
// mirror of what is installed, keyed by the model's type; Put writes an
// entry only when it differs from the mirror, RemoveUnwanted deletes the
// entries no longer wanted, and both count what they did. A Codec says how
// one map's model key and value become the ABI's:
//
//   struct Codec {
//     using Key = ...; using Value = ...;             // model types, ordered, ==
//     using RawKey = ...; using RawValue = ...;       // ABI structs
//     static constexpr MapId kMap = ...;
//     static constexpr const char* kWhat = "...";     // for errors: "write <what> <key>"
//     static RawKey EncodeKey(const Key&); static RawValue EncodeValue(const Value&);
//     // nullopt: an entry of the map this mirror does not own (a shared map).
//     static std::optional<std::pair<Key, Value>> Decode(const RawKey&, const RawValue&);
//     static std::string Describe(const Key&);
//   };
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>

#include "common/result.h"
#include "datapath/map_store.h"

namespace meridian::datapath {

template <class Codec>
class MapMirror {
 public:
  using Key = typename Codec::Key;
  using Value = typename Codec::Value;

  // Reads what the map holds (an agent restart resumes from pinned maps).
  void Recover(const MapStore& store) {
    installed_.clear();
    ForEachEntry<typename Codec::RawKey, typename Codec::RawValue>(
        store, Codec::kMap, [&](const auto& k, const auto& v) {
          if (auto kv = Codec::Decode(k, v)) installed_.insert_or_assign(kv->first, kv->second);
        });
  }

  Status Put(MapStore& store, const Key& key, const Value& value, std::uint32_t& written) {
    auto it = installed_.find(key);
    if (it != installed_.end() && it->second == value) return Status::Ok();
    const auto raw_key = Codec::EncodeKey(key);
    const auto raw_value = Codec::EncodeValue(value);
    if (int err = store.Update(Codec::kMap, &raw_key, &raw_value); err != 0) {
      return Error{
          fmt::format("write {} {}: {}", Codec::kWhat, Codec::Describe(key), std::strerror(err))};
    }
    installed_.insert_or_assign(key, value);
    ++written;
    return Status::Ok();
  }

  // Deletes every installed entry for which wanted(key) is false.
  template <class Wanted>
  Status RemoveUnwanted(MapStore& store, Wanted&& wanted, std::uint32_t& deleted) {
    for (auto it = installed_.begin(); it != installed_.end();) {
      if (wanted(it->first)) {
        ++it;
        continue;
      }
      const auto raw_key = Codec::EncodeKey(it->first);
      if (int err = store.Delete(Codec::kMap, &raw_key); err != 0 && err != ENOENT) {
        return Error{fmt::format("delete {} {}: {}", Codec::kWhat, Codec::Describe(it->first),
                                 std::strerror(err))};
      }
      ++deleted;
      it = installed_.erase(it);
    }
    return Status::Ok();
  }

  // Deletes one entry, if installed.
  Status Remove(MapStore& store, const Key& key, std::uint32_t& deleted) {
    auto it = installed_.find(key);
    if (it == installed_.end()) return Status::Ok();
    const auto raw_key = Codec::EncodeKey(key);
    if (int err = store.Delete(Codec::kMap, &raw_key); err != 0 && err != ENOENT) {
      return Error{
          fmt::format("delete {} {}: {}", Codec::kWhat, Codec::Describe(key), std::strerror(err))};
    }
    ++deleted;
    installed_.erase(it);
    return Status::Ok();
  }

  bool contains(const Key& key) const { return installed_.count(key) > 0; }
  const std::map<Key, Value>& installed() const { return installed_; }

 private:
  std::map<Key, Value> installed_;
};

}  // namespace meridian::datapath
