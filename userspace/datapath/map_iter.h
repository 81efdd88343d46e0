// Walking a BPF hash map from user space. Keys are collected first and
// looked up after, so that a caller may delete entries while it walks
// (deleting the current key mid-walk makes get_next_key restart from the
// first key). Entries deleted by someone else meanwhile are skipped.
#pragma once

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace meridian::datapath {

// Appends every key of the map to `keys`, back to back (`key_size` bytes
// each). Returns 0, or the errno that ended the walk early (the keys read
// until then are kept).
inline int CollectMapKeyBytes(int fd, std::size_t key_size, std::vector<std::uint8_t>& keys) {
  std::vector<std::uint8_t> key(key_size), next(key_size);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    keys.insert(keys.end(), next.begin(), next.end());
    key = next;
    prev = key.data();
  }
  return errno == ENOENT ? 0 : errno;
}

// Every key of the map, back to back; a walk that fails ends early.
inline std::vector<std::uint8_t> MapKeyBytes(int fd, std::size_t key_size) {
  std::vector<std::uint8_t> keys;
  CollectMapKeyBytes(fd, key_size, keys);
  return keys;
}

// Every key of the map as K; 0 or the errno that ended the walk early.
template <class K>
int CollectMapKeys(int fd, std::vector<K>& keys) {
  std::vector<std::uint8_t> bytes;
  const int err = CollectMapKeyBytes(fd, sizeof(K), bytes);
  keys.resize(bytes.size() / sizeof(K));
  if (!keys.empty()) std::memcpy(keys.data(), bytes.data(), bytes.size());
  return err;
}

template <class K>
std::vector<K> MapKeys(int fd) {
  std::vector<K> keys;
  CollectMapKeys(fd, keys);
  return keys;
}

// Calls fn(key, value) for every entry of the map.
template <class K, class V, class F>
void ForEachEntry(int fd, F&& fn) {
  for (const K& key : MapKeys<K>(fd)) {
    V value{};
    if (bpf_map_lookup_elem(fd, &key, &value) == 0) fn(key, value);
  }
}

}  // namespace meridian::datapath
