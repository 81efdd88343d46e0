#include "registry/dir_registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/atomic_file.h"
#include "common/unix_time.h"

namespace meridian::registry {
namespace {

constexpr std::size_t kMaxKeyBytes = 200;
constexpr std::string_view kMagic = "MRR1";
constexpr std::size_t kMaxHeaderBytes = 256;
constexpr char kRevisionFile[] = ".revision";
constexpr char kCompactedFile[] = ".compacted";

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

bool AllowedByte(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '/' || c == '-';
}

// The key as it appears in messages: bytes outside printable ASCII as \xNN.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  return out;
}

// Checks what keys and prefixes share; `what` is "key" or "prefix".
Status ValidateCommon(const std::string& s, const char* what) {
  auto bad = [&](const std::string& reason) {
    return Status(Error{fmt::format("invalid registry {} '{}': {}", what, Printable(s), reason)});
  };
  if (s.rfind(kKeyPrefix, 0) != 0) return bad(fmt::format("must start with {}", kKeyPrefix));
  if (s.size() > kMaxKeyBytes) return bad(fmt::format("longer than {} bytes", kMaxKeyBytes));
  for (char c : s) {
    if (!AllowedByte(c)) {
      return bad(
          fmt::format("byte 0x{:02x} is outside [A-Za-z0-9._/-]", static_cast<unsigned char>(c)));
    }
  }
  if (s.find("..") != std::string::npos) return bad("contains '..'");
  if (s.find("//") != std::string::npos) return bad("has an empty segment");
  return Status::Ok();
}

Result<std::int64_t> ParseInt(std::string_view s, const char* field) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) {
    return Error{fmt::format("header field {} '{}' is not a non-negative integer", field,
                             Printable(s.substr(0, 32)))};
  }
  return v;
}

// The file's bytes, or nullopt if it does not exist.
Result<std::optional<std::string>> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error{fmt::format("open {}: {}", path, ErrnoText(errno))};
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Error{fmt::format("read {}: {}", path, ErrnoText(err))};
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return std::optional<std::string>(std::move(out));
}

}  // namespace

Status ValidateKey(const std::string& key) {
  if (auto s = ValidateCommon(key, "key"); !s) return s;
  if (key.back() == '/' || key.size() == sizeof(kKeyPrefix) - 1) {
    return Error{fmt::format("invalid registry key '{}': has an empty segment", Printable(key))};
  }
  std::string_view rest(key);
  for (std::size_t pos = 0; pos != std::string_view::npos;) {
    std::size_t next = rest.find('/', pos + 1);
    std::string_view seg =
        rest.substr(pos + 1, next == std::string_view::npos ? rest.npos : next - pos - 1);
    if (seg == ".") {
      return Error{fmt::format("invalid registry key '{}': has a '.' segment", Printable(key))};
    }
    pos = next;
  }
  return Status::Ok();
}

Status ValidatePrefix(const std::string& prefix) { return ValidateCommon(prefix, "prefix"); }

// ---------------------------------------------------------------------------
// Record format: one header line, then exactly `length` value bytes:
//   MRR1 <revision> <expiry_ms> <ttl_ms> <tombstone 0|1> <written_ms> <length>\n<value>

std::string DirRegistry::EncodeRecord(const Record& r) {
  std::string out = fmt::format("{} {} {} {} {} {} {}\n", kMagic, r.revision, r.expiry_ms, r.ttl_ms,
                                r.tombstone ? 1 : 0, r.written_ms, r.value.size());
  out += r.value;
  return out;
}

Result<DirRegistry::Record> DirRegistry::DecodeRecord(const std::string& key,
                                                      const std::string& bytes) {
  std::size_t nl = bytes.find('\n');
  if (nl == std::string::npos || nl > kMaxHeaderBytes) {
    return Error{fmt::format("no header line in the first {} bytes (garbage or truncated)",
                             kMaxHeaderBytes)};
  }
  std::string_view header(bytes.data(), nl);
  std::vector<std::string_view> fields;
  for (std::size_t pos = 0;;) {
    std::size_t sp = header.find(' ', pos);
    fields.push_back(header.substr(pos, sp == header.npos ? header.npos : sp - pos));
    if (sp == header.npos) break;
    pos = sp + 1;
  }
  if (fields.size() != 7 || fields[0] != kMagic) {
    return Error{
        fmt::format("header '{}' is not '{} <revision> <expiry_ms> <ttl_ms> <tombstone> "
                    "<written_ms> <length>'",
                    Printable(header.substr(0, 80)), kMagic)};
  }
  static constexpr const char* kNames[] = {"",          "revision",   "expiry_ms", "ttl_ms",
                                           "tombstone", "written_ms", "length"};
  std::int64_t v[7] = {};
  for (int i = 1; i < 7; ++i) {
    auto parsed = ParseInt(fields[i], kNames[i]);
    if (!parsed) return parsed.error();
    v[i] = *parsed;
  }
  if (v[1] == 0) return Error{"header revision is 0"};
  if (v[4] > 1) return Error{fmt::format("header tombstone is {}, not 0 or 1", v[4])};
  std::size_t present = bytes.size() - nl - 1;
  if (static_cast<std::uint64_t>(v[6]) != present) {
    return Error{fmt::format("header says {} value bytes, {} present (truncated or garbage)", v[6],
                             present)};
  }
  if (v[4] == 1 && present != 0) return Error{"tombstone with a value"};
  Record r;
  r.key = key;
  r.value = bytes.substr(nl + 1);
  r.revision = v[1];
  r.expiry_ms = v[2];
  r.ttl_ms = v[3];
  r.tombstone = v[4] == 1;
  r.written_ms = v[5];
  return r;
}

std::string DirRegistry::FileNameForKey(const std::string& key) {
  std::string name = key;
  std::replace(name.begin(), name.end(), '/', '%');
  return name;
}

std::optional<std::string> DirRegistry::KeyForFileName(const std::string& name) {
  if (name.empty() || name[0] != '%') return std::nullopt;
  std::string key = name;
  std::replace(key.begin(), key.end(), '%', '/');
  if (!ValidateKey(key)) return std::nullopt;
  return key;
}

// ---------------------------------------------------------------------------

// Held for every operation: the in-process mutex, then the flock on
// <dir>/.lock that excludes other processes (and other DirRegistry objects).
class DirRegistry::Lock {
 public:
  explicit Lock(DirRegistry& r) : r_(r), guard_(r.mu_) {
    int rc;
    do {
      rc = flock(r_.lock_fd_, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      status_ = Error{fmt::format("flock {}/.lock: {}", r_.dir_, ErrnoText(errno))};
    }
  }
  ~Lock() {
    if (status_) flock(r_.lock_fd_, LOCK_UN);
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  const Status& status() const { return status_; }

 private:
  DirRegistry& r_;
  std::lock_guard<std::mutex> guard_;
  Status status_;
};

Result<std::unique_ptr<DirRegistry>> DirRegistry::Open(const std::string& dir, Options options) {
  if (dir.empty()) return Error{"registry directory path is empty"};
  std::error_code ec;
  std::filesystem::create_directories(dir + "/keys", ec);
  if (ec) return Error{fmt::format("create registry directory {}/keys: {}", dir, ec.message())};
  std::string lock_path = dir + "/.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error{fmt::format("open {}: {}", lock_path, ErrnoText(errno))};
  return std::unique_ptr<DirRegistry>(new DirRegistry(dir, fd, options));
}

DirRegistry::~DirRegistry() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

Result<std::int64_t> DirRegistry::ReadCounterFile(const std::string& name) {
  std::string path = dir_ + "/" + name;
  auto bytes = ReadFile(path);
  if (!bytes) return bytes.error();
  if (!bytes->has_value()) return std::int64_t{0};
  std::string_view text(**bytes);
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  auto v = ParseInt(text, name.c_str());
  if (!v)
    return Error{fmt::format("registry counter {} is malformed: {}", path, v.error().message)};
  return v;
}

Status DirRegistry::WriteCounterFile(const std::string& name, std::int64_t value) {
  return WriteFileAtomically(dir_ + "/" + name, fmt::format("{}\n", value));
}

Result<std::int64_t> DirRegistry::ReadRevision() { return ReadCounterFile(kRevisionFile); }
Result<std::int64_t> DirRegistry::ReadCompacted() { return ReadCounterFile(kCompactedFile); }

// The counter is persisted before the record that uses it: a crash between
// the two leaves an unused revision, never a reused one.
Result<std::int64_t> DirRegistry::NextRevision() {
  auto current = ReadRevision();
  if (!current) return current.error();
  std::int64_t next = *current + 1;
  if (auto s = WriteCounterFile(kRevisionFile, next); !s) return s.error();
  return next;
}

Result<std::optional<DirRegistry::Record>> DirRegistry::ReadRecord(const std::string& key) {
  std::string path = KeysDir() + "/" + FileNameForKey(key);
  auto bytes = ReadFile(path);
  if (!bytes) return bytes.error();
  if (!bytes->has_value()) return std::optional<Record>();
  auto record = DecodeRecord(key, **bytes);
  if (!record) {
    spdlog::warn("registry: rejecting malformed record {} (key {}): {}", path, key,
                 record.error().message);
    return Error{fmt::format("registry record {} (key {}) is malformed: {}", path, key,
                             record.error().message)};
  }
  return std::optional<Record>(std::move(*record));
}

Status DirRegistry::WriteRecord(const Record& record) {
  return WriteFileAtomically(KeysDir() + "/" + FileNameForKey(record.key), EncodeRecord(record));
}

Status DirRegistry::ExpireIfDue(Record& record, std::int64_t now_ms) {
  if (record.tombstone || record.expiry_ms == 0 || now_ms < record.expiry_ms) return Status::Ok();
  auto rev = NextRevision();
  if (!rev) return rev.error();
  Record tomb{record.key, "", *rev, 0, 0, true, now_ms};
  if (auto s = WriteRecord(tomb); !s) return s;
  spdlog::debug("registry: key {} expired (lease {} ms), deleted at revision {}", record.key,
                record.ttl_ms, *rev);
  record = std::move(tomb);
  return Status::Ok();
}

Result<std::vector<DirRegistry::Record>> DirRegistry::ScanAll() {
  std::string keys_dir = KeysDir();
  DIR* d = opendir(keys_dir.c_str());
  if (d == nullptr) return Error{fmt::format("opendir {}: {}", keys_dir, ErrnoText(errno))};
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  }
  closedir(d);

  std::int64_t now = UnixNowMs();
  std::vector<Record> records;
  for (const std::string& name : names) {
    auto key_of_file = DirRegistry::KeyForFileName(name);
    if (!key_of_file) {
      spdlog::warn("registry: skipping {}/{}: not the file of a valid key", keys_dir, name);
      continue;
    }
    const std::string& key = *key_of_file;
    auto record = ReadRecord(key);
    if (!record) continue;               // logged by ReadRecord; skipped
    if (!record->has_value()) continue;  // removed meanwhile (pruned by an older version)
    Record r = std::move(**record);
    if (auto s = ExpireIfDue(r, now); !s) return s.error();
    records.push_back(std::move(r));
  }
  if (auto s = PruneTombstones(records, now); !s) return s.error();
  return records;
}

Status DirRegistry::PruneTombstones(std::vector<Record>& records, std::int64_t now_ms) {
  std::vector<const Record*> tombs;
  for (const Record& r : records) {
    if (r.tombstone) tombs.push_back(&r);
  }
  std::sort(tombs.begin(), tombs.end(),
            [](const Record* a, const Record* b) { return a->revision < b->revision; });
  std::size_t remove = 0;
  std::int64_t retention = options_.tombstone_retention.count();
  while (remove < tombs.size() && (tombs.size() - remove > options_.max_tombstones ||
                                   now_ms - tombs[remove]->written_ms > retention)) {
    ++remove;
  }
  if (remove == 0) return Status::Ok();

  std::int64_t max_removed = 0;
  std::vector<std::string> removed_keys;
  for (std::size_t i = 0; i < remove; ++i) {
    std::string path = KeysDir() + "/" + FileNameForKey(tombs[i]->key);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Error{fmt::format("unlink {}: {}", path, ErrnoText(errno))};
    }
    max_removed = std::max(max_removed, tombs[i]->revision);
    removed_keys.push_back(tombs[i]->key);
  }
  // Watchers behind max_removed may have missed those deletes.
  auto compacted = ReadCompacted();
  if (!compacted) return compacted.error();
  if (max_removed > *compacted) {
    if (auto s = WriteCounterFile(kCompactedFile, max_removed); !s) return s;
  }
  std::sort(removed_keys.begin(), removed_keys.end());
  std::erase_if(records, [&](const Record& r) {
    return r.tombstone && std::binary_search(removed_keys.begin(), removed_keys.end(), r.key);
  });
  return Status::Ok();
}

// ---------------------------------------------------------------------------

Result<std::int64_t> DirRegistry::Put(const std::string& key, const std::string& value,
                                      std::chrono::milliseconds ttl) {
  if (auto s = ValidateKey(key); !s) return s.error();
  if (ttl.count() < 0) return Error{fmt::format("registry Put {}: negative ttl", key)};
  Lock lock(*this);
  if (!lock.status()) return lock.status().error();
  auto rev = NextRevision();
  if (!rev) return rev.error();
  std::int64_t now = UnixNowMs();
  Record r{key, value, *rev, ttl.count() > 0 ? now + ttl.count() : 0, ttl.count(), false, now};
  if (auto s = WriteRecord(r); !s) return s.error();
  return *rev;
}

Status DirRegistry::KeepAlive(const std::string& key) {
  if (auto s = ValidateKey(key); !s) return s;
  Lock lock(*this);
  if (!lock.status()) return lock.status();
  auto record = ReadRecord(key);
  if (!record) return record.error();
  if (!record->has_value() || (*record)->tombstone) {
    return Error{fmt::format("registry KeepAlive {}: no such key", key)};
  }
  Record& r = **record;
  std::int64_t now = UnixNowMs();
  if (auto s = ExpireIfDue(r, now); !s) return s;
  if (r.tombstone) return Error{fmt::format("registry KeepAlive {}: the lease has expired", key)};
  if (r.ttl_ms == 0) return Status::Ok();  // no lease to renew
  r.expiry_ms = now + r.ttl_ms;
  r.written_ms = now;
  return WriteRecord(r);
}

Status DirRegistry::Delete(const std::string& key) {
  if (auto s = ValidateKey(key); !s) return s;
  Lock lock(*this);
  if (!lock.status()) return lock.status();
  auto record = ReadRecord(key);
  // A malformed record is replaced by a tombstone, which repairs it.
  if (record && (!record->has_value() || (*record)->tombstone)) return Status::Ok();
  std::int64_t now = UnixNowMs();
  if (record) {
    Record& r = **record;
    if (auto s = ExpireIfDue(r, now); !s) return s;
    if (r.tombstone) return Status::Ok();  // it had expired: already deleted
  }
  auto rev = NextRevision();
  if (!rev) return rev.error();
  if (auto s = WriteRecord(Record{key, "", *rev, 0, 0, true, now}); !s) return s;
  auto all = ScanAll();  // prunes tombstones beyond the bounds
  if (!all) return all.error();
  return Status::Ok();
}

Result<std::optional<DirRegistry::Record>> DirRegistry::ReadLive(const std::string& key) {
  if (auto s = ValidateKey(key); !s) return s.error();
  Lock lock(*this);
  if (!lock.status()) return lock.status().error();
  auto record = ReadRecord(key);
  if (!record) return record.error();
  if (!record->has_value() || (*record)->tombstone) return std::optional<Record>();
  if (auto s = ExpireIfDue(**record, UnixNowMs()); !s) return s.error();
  if ((*record)->tombstone) return std::optional<Record>();
  return record;
}

Result<std::optional<KeyValue>> DirRegistry::Get(const std::string& key) {
  auto record = ReadLive(key);
  if (!record) return record.error();
  if (!*record) return std::optional<KeyValue>();
  Record& r = **record;
  return std::optional<KeyValue>(KeyValue{r.key, std::move(r.value), r.revision});
}

Result<std::optional<LeaseInfo>> DirRegistry::Lease(const std::string& key) {
  auto record = ReadLive(key);
  if (!record) return record.error();
  if (!*record || (*record)->ttl_ms == 0) return std::optional<LeaseInfo>();
  const Record& r = **record;
  const std::int64_t now = UnixNowMs();
  return std::optional<LeaseInfo>(LeaseInfo{
      .ttl = std::chrono::milliseconds(r.ttl_ms),
      .remaining = std::chrono::milliseconds(std::max<std::int64_t>(0, r.expiry_ms - now))});
}

Result<std::optional<DirRegistry::Record>> DirRegistry::ReadForWatch(const std::string& key) {
  if (auto s = ValidateKey(key); !s) return s.error();
  Lock lock(*this);
  if (!lock.status()) return lock.status().error();
  auto record = ReadRecord(key);
  if (!record) return record.error();
  if (record->has_value()) {
    if (auto s = ExpireIfDue(**record, UnixNowMs()); !s) return s.error();
  }
  return record;
}

Result<std::vector<KeyValue>> DirRegistry::List(const std::string& prefix) {
  if (auto s = ValidatePrefix(prefix); !s) return s.error();
  Lock lock(*this);
  if (!lock.status()) return lock.status().error();
  auto all = ScanAll();
  if (!all) return all.error();
  std::vector<KeyValue> out;
  for (Record& r : *all) {
    if (!r.tombstone && r.key.rfind(prefix, 0) == 0) {
      out.push_back(KeyValue{r.key, std::move(r.value), r.revision});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  return out;
}

Result<bool> DirRegistry::CompareAndSwap(const std::string& key, std::int64_t expected_revision,
                                         const std::string& value, std::chrono::milliseconds ttl) {
  if (auto s = ValidateKey(key); !s) return s.error();
  if (ttl.count() < 0) return Error{fmt::format("registry CompareAndSwap {}: negative ttl", key)};
  if (expected_revision < 0) {
    return Error{fmt::format("registry CompareAndSwap {}: negative expected revision", key)};
  }
  Lock lock(*this);
  if (!lock.status()) return lock.status().error();
  auto record = ReadRecord(key);
  if (!record) return record.error();  // malformed: cannot compare safely
  std::int64_t now = UnixNowMs();
  std::int64_t current = 0;
  if (record->has_value()) {
    Record& r = **record;
    if (auto s = ExpireIfDue(r, now); !s) return s.error();
    if (!r.tombstone) current = r.revision;
  }
  if (current != expected_revision) return false;
  auto rev = NextRevision();
  if (!rev) return rev.error();
  Record next{key, value, *rev, ttl.count() > 0 ? now + ttl.count() : 0, ttl.count(), false, now};
  if (auto s = WriteRecord(next); !s) return s.error();
  return true;
}

Result<std::vector<WatchEvent>> DirRegistry::ChangesSince(const std::string& prefix,
                                                          std::int64_t since) {
  if (auto s = ValidatePrefix(prefix); !s) return s.error();
  if (since < 0) return Error{fmt::format("registry ChangesSince {}: negative revision", prefix)};
  Lock lock(*this);
  if (!lock.status()) return lock.status().error();
  auto all = ScanAll();
  if (!all) return all.error();
  auto compacted = ReadCompacted();
  if (!compacted) return compacted.error();
  if (since < *compacted) {
    return Error{fmt::format(
        "registry {}: changes since revision {} are compacted (deletes up to revision {} were "
        "forgotten); List again and watch from CurrentRevision()",
        dir_, since, *compacted)};
  }
  std::vector<WatchEvent> out;
  for (Record& r : *all) {
    if (r.revision <= since || r.key.rfind(prefix, 0) != 0) continue;
    if (r.tombstone) {
      out.push_back(WatchEvent{WatchEvent::Type::kDelete, KeyValue{r.key, "", r.revision}});
    } else {
      out.push_back(
          WatchEvent{WatchEvent::Type::kPut, KeyValue{r.key, std::move(r.value), r.revision}});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const WatchEvent& a, const WatchEvent& b) { return a.kv.revision < b.kv.revision; });
  return out;
}

std::int64_t DirRegistry::CurrentRevision() {
  // .revision is replaced atomically: reading it needs no lock.
  auto rev = ReadRevision();
  if (!rev) {
    spdlog::error("registry {}: {}", dir_, rev.error().message);
    return 0;
  }
  return *rev;
}

}  // namespace meridian::registry
