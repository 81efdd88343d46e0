#include "sources/manifest_directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <system_error>
#include <utility>

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

ManifestDirectory::ManifestDirectory(std::string dir) : dir_(std::move(dir)) {}

ManifestDirectoryState ManifestDirectory::Reload() {
  ManifestDirectoryState out;
  auto paths = ListManifests(dir_);
  if (!paths.ok()) {
    // Keep serving the last good state; a directory being replaced (or an
    // unmounted volume) must not drop every Service.
    out.snapshot = published_.value_or(model::ResourceSnapshot{});
    out.errors.push_back({dir_, paths.error().message});
    return out;
  }

  // Read every file, then decode the changed ones on every core (each
  // decode depends on its own bytes only), then take the results in order.
  std::map<std::string, FileState> next;
  std::vector<std::pair<const std::string*, FileState*>> to_decode;
  for (const std::string& path : *paths) {
    ReadOutcome read = ReadManifest(path, kMaxFileBytes);
    if (read.kind == ReadOutcome::Kind::kNotAFile) continue;
    auto it = files_.find(path);
    FileState state = it != files_.end() ? std::move(it->second) : FileState{};
    bool decode = false;
    if (read.kind == ReadOutcome::Kind::kError) {
      state.content.reset();
      state.pending.reset();
      state.errors = {{path, FileMessage(path, read.error)}};
    } else {
      decode = TakeContent(state, std::move(read.content));
    }
    auto [slot, inserted] = next.emplace(path, std::move(state));
    if (decode) to_decode.emplace_back(&slot->first, &slot->second);
  }
  std::vector<DecodeResult> decoded(to_decode.size());
  ParallelFor(to_decode.size(), /*min_per_thread=*/2, [&](std::size_t i) {
    decoded[i] = DecodeManifests(*to_decode[i].second->content, *to_decode[i].first);
  });
  for (std::size_t i = 0; i < to_decode.size(); ++i) {
    const std::string& path = *to_decode[i].first;
    FileState& state = *to_decode[i].second;
    ++decoded_files_;
    for (const DecodeError& e : decoded[i].errors) state.errors.push_back({path, e.ToString()});
    if (decoded[i].errors.empty()) state.pending = std::move(decoded[i].objects);
  }
  files_ = std::move(next);  // deleted files, and their objects, leave here

  ResolveConflicts();
  out.snapshot = Snapshot();
  for (const auto& [path, state] : files_) {
    out.errors.insert(out.errors.end(), state.errors.begin(), state.errors.end());
  }
  out.changed = !published_ || *published_ != out.snapshot;
  published_ = out.snapshot;
  return out;
}

bool ManifestDirectory::TakeContent(FileState& state, std::string content) {
  if (state.content == content) return false;  // unchanged: its verdict stands
  state.content = std::move(content);
  state.pending.reset();
  state.errors.clear();
  return !(state.accepted && state.accepted->content == *state.content);  // reverted
}

// Accepts pending contents that conflict with nothing, until none is left
// that can be accepted. Accepted files are never candidates, so the
// incumbent always wins. Repeating the pass lets an object move between two
// files edited together: the file losing it is accepted first, then the file
// gaining it, in one Reload. On the first Reload the pass runs in sorted
// order, so of two conflicting files the later one is rejected.
void ManifestDirectory::ResolveConflicts() {
  internal::ClaimIndex claims;
  for (const auto& [path, state] : files_) {
    if (state.accepted) claims.Add(path, state.accepted->objects);
  }
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& [path, state] : files_) {
      if (!state.pending || !claims.Check(path, *state.pending).empty()) continue;
      if (state.accepted) claims.Remove(state.accepted->objects);
      claims.Add(path, *state.pending);
      state.accepted = Version{*state.content, std::move(*state.pending)};
      state.pending.reset();
      state.errors.clear();  // conflict errors of an earlier Reload
      progress = true;
    }
  }
  for (auto& [path, state] : files_) {
    if (!state.pending) continue;
    state.errors.clear();
    for (const DecodeError& e : claims.Check(path, *state.pending)) {
      state.errors.push_back({path, e.ToString()});
    }
  }
}

model::ResourceSnapshot ManifestDirectory::Snapshot() const {
  model::ResourceSnapshot out;
  for (const auto& [path, state] : files_) {
    if (!state.accepted) continue;
    const auto& objects = state.accepted->objects;
    auto append = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
    append(out.services, objects.services);
    append(out.endpoint_slices, objects.endpoint_slices);
    append(out.service_exports, objects.service_exports);
    append(out.clusters, objects.clusters);
  }
  return out;
}

}  // namespace meridian::sources
