// Walking a BPF hash map from user space. Keys are collected first and
// looked up after, so that a caller may delete entries while it walks
// (deleting the current key mid-walk makes get_next_key restart from the
// first key). Entries deleted by someone else meanwhile are skipped.
#pragma once

#include <bpf/bpf.h>

#include <vector>

namespace meridian::datapath {

template <class K>
std::vector<K> MapKeys(int fd) {
  std::vector<K> keys;
  K key{}, next{};
  K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
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
