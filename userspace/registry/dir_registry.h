// DirRegistry: the embedded registry backend for one machine. A directory
// holds one record file per key; several processes may share it (every
// operation runs under an flock). Format and locking: docs/registry.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "registry/registry.h"

namespace meridian::registry {

class DirRegistry final : public Registry {
 public:
  struct Options {
    // Tombstones (deleted or expired keys) are kept so ChangesSince can
    // report deletes; beyond these bounds the oldest are forgotten.
    std::size_t max_tombstones = 1024;
    std::chrono::milliseconds tombstone_retention = std::chrono::minutes(10);
  };

  // Opens (creating if needed) the registry rooted at `dir`.
  static Result<std::unique_ptr<DirRegistry>> Open(const std::string& dir, Options options);
  static Result<std::unique_ptr<DirRegistry>> Open(const std::string& dir) {
    return Open(dir, Options{});
  }

  DirRegistry(const DirRegistry&) = delete;
  DirRegistry& operator=(const DirRegistry&) = delete;
  ~DirRegistry() override;

  Result<std::int64_t> Put(const std::string& key, const std::string& value,
                           std::chrono::milliseconds ttl = {}) override;
  Status KeepAlive(const std::string& key) override;
  Result<std::optional<LeaseInfo>> Lease(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<std::optional<KeyValue>> Get(const std::string& key) override;
  Result<std::vector<KeyValue>> List(const std::string& prefix) override;
  Result<bool> CompareAndSwap(const std::string& key, std::int64_t expected_revision,
                              const std::string& value,
                              std::chrono::milliseconds ttl = {}) override;
  Result<std::vector<WatchEvent>> ChangesSince(const std::string& prefix,
                                               std::int64_t since) override;
  std::int64_t CurrentRevision() override;
  // inotify on keys/: a change costs one file read, not a directory scan
  // (see dir_watch.cc).
  Result<std::unique_ptr<WatchStream>> Watch(const std::string& prefix,
                                             std::int64_t since) override;

  // The directory holding one record file per key (flat: '/' in a key is
  // '%' in its file name), for tools and tests.
  std::string KeysDir() const { return dir_ + "/keys"; }
  // The record file name of a valid key.
  static std::string FileNameForKey(const std::string& key);
  // The key of a record file name; nullopt for other files (temporaries).
  static std::optional<std::string> KeyForFileName(const std::string& name);

  // One record file, decoded.
  struct Record {
    std::string key;
    std::string value;
    std::int64_t revision = 0;
    std::int64_t expiry_ms = 0;   // ms since the Unix epoch, 0 = no lease
    std::int64_t ttl_ms = 0;      // lease length, for KeepAlive
    bool tombstone = false;       // deleted (or expired) at `revision`
    std::int64_t written_ms = 0;  // when the record was written
  };
  static std::string EncodeRecord(const Record& record);
  // Error says why the bytes are not a record.
  static Result<Record> DecodeRecord(const std::string& key, const std::string& bytes);
  // The record of `key` as a watcher must see it: an expired lease is
  // turned into a tombstone first. nullopt if there is no file.
  Result<std::optional<Record>> ReadForWatch(const std::string& key);

 private:
  DirRegistry(std::string dir, int lock_fd, Options options)
      : dir_(std::move(dir)), lock_fd_(lock_fd), options_(options) {}

  class Lock;
  // Reads the record of `key`: nullopt if there is none, error if unreadable
  // or malformed (logged).
  Result<std::optional<Record>> ReadRecord(const std::string& key);
  // The live record of `key` (Get, Lease): validated, read under the lock,
  // an expired one turned into a tombstone; nullopt if missing or deleted.
  Result<std::optional<Record>> ReadLive(const std::string& key);
  Status WriteRecord(const Record& record);
  Result<std::int64_t> ReadRevision();
  // Bumps and persists the global revision counter; returns the new value.
  Result<std::int64_t> NextRevision();
  // If `record` is live but past its expiry, turns it into a tombstone.
  Status ExpireIfDue(Record& record, std::int64_t now_ms);
  // Every well-formed record (expired ones turned into tombstones);
  // malformed files are logged and skipped.
  Result<std::vector<Record>> ScanAll();
  // Forgets tombstones beyond the bounds in options_, raising .compacted.
  Status PruneTombstones(std::vector<Record>& records, std::int64_t now_ms);
  Result<std::int64_t> ReadCompacted();
  Status WriteCounterFile(const std::string& name, std::int64_t value);
  Result<std::int64_t> ReadCounterFile(const std::string& name);

  std::string dir_;
  int lock_fd_ = -1;
  Options options_;
  std::mutex mu_;  // flock does not exclude threads sharing lock_fd_
};

}  // namespace meridian::registry
