#include "sources/manifest_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <utility>

#include "common/atomic_file.h"
#include "common/parallel_for.h"
#include "common/result.h"
#include "sources/claim_index.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources {
namespace {

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Only manifests count. Hidden names cover editor locks (.#web.yaml), vim
// swap files (.web.yaml.swp), temp files of atomic writers and the ..data
// links of a ConfigMap volume; the extension test covers backups (web.yaml~).
bool IsManifestName(std::string_view name) {
  if (name.empty() || name.front() == '.') return false;
  for (std::string_view ext : {".yaml", ".yml", ".json"}) {
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  }
  return false;
}

std::string FileMessage(const std::string& path, std::string message) {
  return DecodeError{path, -1, "", "", std::move(message)}.ToString();
}

// Manifest paths directly in `dir`, sorted.
Result<std::vector<std::string>> ListManifests(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return Error{fmt::format("{}: cannot read directory: {}", dir, ErrnoText(errno))};
  }
  const std::string prefix = !dir.empty() && dir.back() == '/' ? dir : dir + "/";
  std::set<std::string> paths;
  errno = 0;
  while (const dirent* entry = readdir(d)) {
    if (IsManifestName(entry->d_name)) paths.insert(prefix + entry->d_name);
  }
  const int err = errno;
  closedir(d);
  if (err != 0) return Error{fmt::format("{}: cannot read directory: {}", dir, ErrnoText(err))};
  return std::vector<std::string>(paths.begin(), paths.end());
}

struct ReadOutcome {
  enum class Kind { kContent, kNotAFile, kError } kind;
  std::string content;  // kContent
  std::string error;    // kError
};

// Reads a manifest, following symlinks. A path that vanished since listing,
// or is not a regular file (a directory, a FIFO), is not a manifest.
ReadOutcome ReadManifest(const std::string& path, std::size_t max_bytes) {
  using Kind = ReadOutcome::Kind;
  auto too_big = [&](std::size_t size) {
    return ReadOutcome{Kind::kError, "",
                       fmt::format("file is {} bytes; the limit is {} bytes", size, max_bytes)};
  };
  auto failed = [&](int err) {
    if (err == ENOENT) return ReadOutcome{Kind::kNotAFile, "", ""};
    return ReadOutcome{Kind::kError, "", fmt::format("cannot read: {}", ErrnoText(err))};
  };
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return failed(errno);
  if (!S_ISREG(st.st_mode)) return {Kind::kNotAFile, "", ""};
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    return too_big(static_cast<std::size_t>(st.st_size));
  }

  // O_NONBLOCK: if the path was swapped for a FIFO since stat, do not hang.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return failed(errno);
  ReadOutcome out{Kind::kContent, "", ""};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return {Kind::kNotAFile, "", ""};
  }
  char buf[64 * 1024];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out = failed(errno);
      break;
    }
    if (n == 0) break;
    out.content.append(buf, static_cast<std::size_t>(n));
    if (out.content.size() > max_bytes) {  // grew after stat
      out = too_big(out.content.size());
      break;
    }
  }
  close(fd);
  return out;
}

}  // namespace

ManifestDirectory::ManifestDirectory(std::string dir, std::string owners_file)
    : dir_(std::move(dir)), owners_file_(std::move(owners_file)) {
  LoadOwners();
}

ManifestDirectoryState ManifestDirectory::Reload() {
  ManifestDirectoryState out;
  auto paths = ListManifests(dir_);
  if (!paths.ok()) {
    // Keep serving the last good state; a directory being replaced (or an
    // unmounted volume) must not drop every Service.
    if (published_) out.snapshot = Snapshot();
    out.errors.push_back({dir_, paths.error().message});
    return out;
  }

  // Read every file, then decode the changed ones on every core (each
  // decode depends on its own bytes only), then take the results in order.
  // Only the bytes to decode are kept, until they are decoded.
  std::map<std::string, FileState> next;
  struct ToDecode {
    const std::string* path;
    FileState* state;
    std::string bytes;
  };
  std::vector<ToDecode> to_decode;
  for (const std::string& path : *paths) {
    ReadOutcome read = ReadManifest(path, kMaxFileBytes);
    if (read.kind == ReadOutcome::Kind::kNotAFile) continue;
    auto it = files_.find(path);
    FileState state = it != files_.end() ? std::move(it->second) : FileState{};
    bool decode = false;
    if (read.kind == ReadOutcome::Kind::kError) {
      state.content.reset();
      state.errors = {{path, FileMessage(path, read.error)}};
    } else {
      decode = TakeContent(state, Digest::Of(read.content));
    }
    auto [slot, inserted] = next.emplace(path, std::move(state));
    if (decode) to_decode.push_back({&slot->first, &slot->second, std::move(read.content)});
  }
  std::vector<DecodeResult> decoded(to_decode.size());
  ParallelFor(to_decode.size(), /*min_per_thread=*/2, [&](std::size_t i) {
    decoded[i] = DecodeManifests(to_decode[i].bytes, *to_decode[i].path);
    std::string().swap(to_decode[i].bytes);
  });
  for (std::size_t i = 0; i < to_decode.size(); ++i) {
    const std::string& path = *to_decode[i].path;
    FileState& state = *to_decode[i].state;
    ++decoded_files_;
    for (const DecodeError& e : decoded[i].errors) state.errors.push_back({path, e.ToString()});
    if (decoded[i].errors.empty()) {
      KeepServed(state);
      state.good = Version{*state.content, std::move(decoded[i].objects)};
      ++state.good_version;
    }
  }
  for (const auto& [path, state] : files_) {
    if (!next.count(path) && ServesAny(state)) {
      served_changed_ = true;  // a file that served objects is gone
    }
  }
  files_ = std::move(next);  // deleted files, and their objects, leave here

  // Reading the owners file failed (reported once), or writing it did
  // (reported until a write succeeds).
  out.errors = std::exchange(owners_errors_, {});
  ResolveConflicts();
  out.errors.insert(out.errors.end(), owners_errors_.begin(), owners_errors_.end());
  for (const auto& [path, state] : files_) {
    out.errors.insert(out.errors.end(), state.errors.begin(), state.errors.end());
    out.errors.insert(out.errors.end(), state.conflicts.begin(), state.conflicts.end());
  }
  out.snapshot = Snapshot();
  out.changed = !published_ || served_changed_;
  published_ = true;
  served_changed_ = false;
  return out;
}

ManifestDirectory::Digest ManifestDirectory::Digest::Of(const std::string& bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return {bytes.size(), h.low64, h.high64};
}

bool ManifestDirectory::TakeContent(FileState& state, const Digest& content) {
  if (state.content == content) return false;  // unchanged: its verdict stands
  state.content = content;
  state.errors.clear();
  return !(state.good && state.good->content == *state.content);  // reverted
}

namespace {

// Calls fn(list, kind) for every kind of object a snapshot holds; kind is
// the list's index (an ObjectId's first member, served_from's index).
template <typename F>
void ForEachKind(F&& fn) {
  fn(&model::ResourceSnapshot::services, 0);
  fn(&model::ResourceSnapshot::endpoint_slices, 1);
  fn(&model::ResourceSnapshot::service_exports, 2);
  fn(&model::ResourceSnapshot::clusters, 3);
  fn(&model::ResourceSnapshot::cluster_properties, 4);
  fn(&model::ResourceSnapshot::nodes, 5);
}

model::ObjectKey KeyOf(const model::Service& o) { return o.meta.key; }
model::ObjectKey KeyOf(const model::EndpointSlice& o) { return o.meta.key; }
model::ObjectKey KeyOf(const model::ServiceExport& o) { return o.meta.key; }
model::ObjectKey KeyOf(const model::Cluster& o) { return o.meta.key; }
model::ObjectKey KeyOf(const model::ClusterProperty& o) { return o.meta.key; }
model::ObjectKey KeyOf(const model::Node& o) { return o.meta.key; }

}  // namespace

// Objects are claimed in two passes, so that who wins a conflict never
// depends on the order files are read in: first every object that is
// served (by the file that serves it), then the new ones in file and
// document order. Kinds claim disjoint identities, so each is resolved on
// its own.
void ManifestDirectory::ResolveConflicts() {
  std::map<ObjectId, std::string> owners;
  for (auto& [path, state] : files_) state.conflicts.clear();
  ForEachKind([&](auto list, int kind) { ResolveKind(list, kind, owners); });
  SaveOwners(std::move(owners));
}

bool ManifestDirectory::ServedWhole(const FileState& state, int kind) {
  const std::uint64_t from = state.served_from[static_cast<std::size_t>(kind)];
  return from != 0 && state.good && from == state.good_version;
}

template <typename T>
const std::vector<T>& ManifestDirectory::ServedList(const FileState& state,
                                                    std::vector<T> model::ResourceSnapshot::*list,
                                                    int kind) {
  return ServedWhole(state, kind) ? state.good->objects.*list : state.served.*list;
}

bool ManifestDirectory::ServesAny(const FileState& state) {
  bool any = false;
  ForEachKind([&](auto list, int kind) { any = any || !ServedList(state, list, kind).empty(); });
  return any;
}

void ManifestDirectory::KeepServed(FileState& state) {
  ForEachKind([&](auto list, int kind) {
    // Served whole from the version about to go: served holds it now (and
    // served_from, the old version's number, no longer says "whole").
    if (ServedWhole(state, kind)) state.served.*list = std::move(state.good->objects.*list);
  });
}

template <typename T>
void ManifestDirectory::ResolveKind(std::vector<T> model::ResourceSnapshot::*list, int kind,
                                    std::map<ObjectId, std::string>& owners) {
  enum class Verdict { kPending, kServed, kPreviousServed, kRejected };
  internal::ClaimIndex claims;
  std::map<std::string, std::vector<Verdict>> verdicts;
  std::map<std::string, std::vector<T>> served;
  auto reject = [](FileState& state, const std::string& path, std::vector<DecodeError> errors,
                   bool kept_previous) {
    for (DecodeError& e : errors) {
      if (kept_previous) e.message += "; its previous version is still served";
      state.conflicts.push_back({path, e.ToString()});
    }
  };
  // The version this file served of `key` (its `i`th object now), if any.
  // Served objects keep their document order, so the one at the same index
  // is the usual answer; a search (which made this quadratic in a file's
  // objects: 10k services in 20 files cost ~150 ms per reload) only when
  // documents moved.
  auto served_before = [&](const FileState& state, const model::ObjectKey& key,
                           std::size_t i) -> const T* {
    const std::vector<T>& before = ServedList(state, list, kind);
    if (i < before.size() && KeyOf(before[i]) == key) return &before[i];
    auto it =
        std::find_if(before.begin(), before.end(), [&](const T& o) { return KeyOf(o) == key; });
    return it == before.end() ? nullptr : &*it;
  };
  auto incumbent = [&](const std::string& path, const T& obj) {
    auto owner = owners_.find({kind, KeyOf(obj)});
    return owner != owners_.end() && owner->second == path;
  };
  // Served objects that did not change claim first: an edit elsewhere can
  // never take their identities away.
  for (auto& [path, state] : files_) {
    if (!state.good) continue;
    const std::vector<T>& objects = state.good->objects.*list;
    std::vector<Verdict>& v = verdicts[path];
    v.assign(objects.size(), Verdict::kPending);
    // served holds this very version whole: every object is unchanged.
    const bool whole = ServedWhole(state, kind);
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (!incumbent(path, objects[i])) continue;
      if (!whole) {
        const T* before = served_before(state, KeyOf(objects[i]), i);
        if (before == nullptr || !(*before == objects[i])) continue;
      }
      if (claims.Claim(path, objects[i]).empty()) v[i] = Verdict::kServed;
    }
  }
  // Then served objects that changed (or, after a restart, all of them).
  for (auto& [path, state] : files_) {
    if (!state.good) continue;
    const std::vector<T>& objects = state.good->objects.*list;
    std::vector<Verdict>& v = verdicts[path];
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (v[i] != Verdict::kPending || !incumbent(path, objects[i])) continue;
      const ObjectId id{kind, KeyOf(objects[i])};
      auto errors = claims.Claim(path, objects[i]);
      if (errors.empty()) {
        v[i] = Verdict::kServed;
        continue;
      }
      // Its new version conflicts: keep the one this file served, if it
      // still fits (it does unless another incumbent changed too).
      const T* prev = served_before(state, id.second, i);
      const bool kept = prev != nullptr && claims.Claim(path, *prev).empty();
      if (kept) served[path].push_back(*prev);
      v[i] = kept ? Verdict::kPreviousServed : Verdict::kRejected;
      reject(state, path, std::move(errors), kept);
    }
  }
  std::vector<std::pair<FileState*, std::vector<T>>> rebuilt;
  std::vector<FileState*> whole_now;  // served whole from `good` from now on
  for (auto& [path, state] : files_) {
    if (!state.good) continue;
    const std::vector<T>& objects = state.good->objects.*list;
    std::vector<Verdict>& v = verdicts[path];
    bool all_served = true;
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (v[i] == Verdict::kPending) {
        auto errors = claims.Claim(path, objects[i]);
        v[i] = errors.empty() ? Verdict::kServed : Verdict::kRejected;
        reject(state, path, std::move(errors), false);
      }
      all_served = all_served && v[i] == Verdict::kServed;
      if (v[i] == Verdict::kServed || v[i] == Verdict::kPreviousServed) {
        owners[{kind, KeyOf(objects[i])}] = path;
      }
    }
    std::uint64_t& from = state.served_from[static_cast<std::size_t>(kind)];
    if (all_served && from == state.good_version) continue;  // served whole already
    if (all_served) {
      // From now on served from `good`, without a copy: the one in served
      // goes after the loop (the claims point into the served lists).
      if (!(objects == ServedList(state, list, kind))) served_changed_ = true;
      whole_now.push_back(&state);
      from = state.good_version;
      continue;
    }
    // Document order, so an unchanged directory gives an equal snapshot.
    std::vector<T> out;
    auto kept = served[path].begin();
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (v[i] == Verdict::kServed) out.push_back(objects[i]);
      if (v[i] == Verdict::kPreviousServed) out.push_back(std::move(*kept++));
    }
    // Taken after the loop, for the same reason. Unchanged, it is taken
    // all the same when it was served from `good` (served must hold it now).
    const bool changed = !(out == ServedList(state, list, kind));
    if (changed || from == state.good_version) {
      served_changed_ = served_changed_ || changed;
      rebuilt.emplace_back(&state, std::move(out));
    }
    from = 0;
  }
  for (auto& [state, out] : rebuilt) state->served.*list = std::move(out);
  for (FileState* state : whole_now) std::vector<T>().swap(state->served.*list);
  for (auto& [path, state] : files_) {
    if (state.good || (state.served.*list).empty()) continue;
    (state.served.*list).clear();
    served_changed_ = true;
  }
}

model::ResourceSnapshot ManifestDirectory::Snapshot() const {
  model::ResourceSnapshot out;
  for (const auto& [path, state] : files_) {
    ForEachKind([&](auto list, int kind) {
      const auto& from = ServedList(state, list, kind);
      (out.*list).insert((out.*list).end(), from.begin(), from.end());
    });
  }
  return out;
}

// The owners file: {"owners": [[kind, namespace, name, file], ...]}. A
// missing file is a first start; an unreadable one is reported once and
// conflicts are then resolved in file order.
void ManifestDirectory::LoadOwners() {
  if (owners_file_.empty()) return;
  std::ifstream in(owners_file_);
  if (!in) return;
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const auto* list = j.is_object() && j.contains("owners") ? &j["owners"] : nullptr;
  bool ok = list != nullptr && list->is_array();
  std::map<ObjectId, std::string> owners;
  for (std::size_t i = 0; ok && i < list->size(); ++i) {
    const auto& e = (*list)[i];
    ok = e.is_array() && e.size() == 4 && e[0].is_number_integer() && e[1].is_string() &&
         e[2].is_string() && e[3].is_string();
    if (ok) {
      owners[{e[0].get<int>(), {e[1].get<std::string>(), e[2].get<std::string>()}}] =
          e[3].get<std::string>();
    }
  }
  if (!ok) {
    rewrite_owners_ = true;
    owners_errors_.push_back(
        {owners_file_, fmt::format("{}: not a manifest owners file; ignored (conflicts are "
                                   "resolved in file order until it is rewritten)",
                                   owners_file_)});
    return;
  }
  owners_ = std::move(owners);
}

void ManifestDirectory::SaveOwners(std::map<ObjectId, std::string> owners) {
  const bool changed = owners != owners_;
  owners_ = std::move(owners);
  if (owners_file_.empty() || (!changed && !rewrite_owners_)) return;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, file] : owners_) {
    list.push_back({id.first, id.second.ns, id.second.name, file});
  }
  nlohmann::json j = {{"owners", std::move(list)}};
  // Names that are not UTF-8 are replaced: such an entry no longer matches
  // its file, which then simply competes as a new one after a restart.
  auto written = WriteFileAtomically(
      owners_file_, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  rewrite_owners_ = !written;
  if (!written) owners_errors_.push_back({owners_file_, written.error().message});
}

}  // namespace meridian::sources
