// ManifestDirectory: the desired state read from a directory of manifests,
// with per-file last-good semantics.
//
// A file whose current content has any error (a decode error in any of its
// documents, or a conflict with another file) is rejected as a whole: the
// objects of its last good version stay in the snapshot and an error is
// reported on every Reload until the file is fixed. So a bad edit never takes
// down what the agent already serves. Between files, the incumbent wins: an
// accepted file is never displaced by a file that changed later.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace meridian::sources {

struct FileError {
  std::string file;     // the manifest, or the directory itself
  std::string message;  // full text, starting with the file name
};

struct ManifestDirectoryState {
  model::ResourceSnapshot snapshot;
  std::vector<FileError> errors;
  // The snapshot differs from the one the previous Reload returned. True on
  // the first Reload that could read the directory, so the first state is
  // always applied; false while the directory cannot be read.
  bool changed = false;
};

class ManifestDirectory {
 public:
  // Files above this size are rejected unread.
  static constexpr std::size_t kMaxFileBytes = 4u << 20;

  explicit ManifestDirectory(std::string dir);

  // Rescans the directory now. Reads the regular files (symlinks followed,
  // as in a ConfigMap volume) named *.yaml, *.yml or *.json directly in
  // dir(), skipping hidden ones; only files whose bytes changed are decoded.
  ManifestDirectoryState Reload();

  const std::string& dir() const { return dir_; }

  // How many file contents have been decoded so far. Unchanged files are not
  // decoded again; tests and metrics observe that here.
  std::size_t decoded_files() const { return decoded_files_; }

 private:
  struct Version {
    std::string content;
    model::ResourceSnapshot objects;
  };
  struct FileState {
    // Bytes read by the last Reload; nullopt when the file could not be read.
    std::optional<std::string> content;
    // The version whose objects are in the snapshot, if any.
    std::optional<Version> accepted;
    // Current content decoded without error but not accepted yet because of
    // a conflict; retried on every Reload without decoding again.
    std::optional<model::ResourceSnapshot> pending;
    // Why the current content is rejected (read, decode or conflict errors).
    std::vector<FileError> errors;
  };

  // Takes the bytes just read for a file; true when they must be decoded
  // (changed, and not back to the accepted version).
  static bool TakeContent(FileState& state, std::string content);
  void ResolveConflicts();
  model::ResourceSnapshot Snapshot() const;

  std::string dir_;
  std::map<std::string, FileState> files_;  // by path: sorted order
  std::optional<model::ResourceSnapshot> published_;
  std::size_t decoded_files_ = 0;
};

}  // namespace meridian::sources
