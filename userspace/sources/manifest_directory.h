// ManifestDirectory: the desired state read from a directory of manifests,
// with per-file last-good semantics and per-object conflicts.
//
// A file whose current content has a decode error in any of its documents
// is rejected as a whole: the objects of its last good version stay in the
// snapshot and an error is reported on every Reload until the file is
// fixed. So a bad edit never takes down what the agent already serves.
//
// Conflicts (two objects defining the same Service, VIP, slice, export or
// cluster) reject only the objects involved, never the rest of their file.
// The incumbent wins: an object that is served keeps being served by the
// file that served it, in its previous version if its new one conflicts.
// Who serves what is remembered in `owners_file`, so a restart serves
// exactly what was served before it, whatever the files' names; among new
// objects, the file that sorts first wins.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
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

  // `owners_file`: where the owner of every served object is remembered
  // across restarts (written atomically when it changes); empty: nowhere,
  // and the first Reload resolves conflicts in file order.
  explicit ManifestDirectory(std::string dir, std::string owners_file = "");

  // Rescans the directory now. Reads the regular files (symlinks followed,
  // as in a ConfigMap volume) named *.yaml, *.yml or *.json directly in
  // dir(), skipping hidden ones; only files whose bytes changed are decoded.
  ManifestDirectoryState Reload();

  const std::string& dir() const { return dir_; }

  // How many file contents have been decoded so far. Unchanged files are not
  // decoded again; tests and metrics observe that here.
  std::size_t decoded_files() const { return decoded_files_; }

 private:
  // An object's identity: its kind (the index of its list in a snapshot)
  // and its namespace/name.
  using ObjectId = std::pair<int, model::ObjectKey>;

  // What a file's bytes were, without keeping them (at 10k services the
  // files' bytes were 28 MB of the agent's heap): their size and XXH3
  // 128-bit hash. Two contents with one digest would need a 128-bit
  // collision; only then would a change go unnoticed.
  struct Digest {
    std::size_t size = 0;
    std::uint64_t low = 0, high = 0;
    static Digest Of(const std::string& bytes);
    bool operator==(const Digest&) const = default;
  };
  struct Version {
    Digest content;
    model::ResourceSnapshot objects;
  };
  struct FileState {
    // Bytes read by the last Reload; nullopt when the file could not be read.
    std::optional<Digest> content;
    // The last content that decoded without error: its objects are the
    // file's candidates.
    std::optional<Version> good;
    // Why the current content is rejected (read or decode errors).
    std::vector<FileError> errors;
    // The objects of this file in the snapshot, and why others are not.
    // A kind whose served_from is the good version is served whole from
    // `good`, and its list here is empty (ServedList): the usual case, in
    // which the decoded objects are held once, not twice (at 10k services
    // the copy was ~27 MB).
    model::ResourceSnapshot served;
    std::vector<FileError> conflicts;
    // Counts the good versions (0: none yet). served_from[kind] is the good
    // version whose list of that kind is served whole (0: not so): a file
    // that changed nothing is not copied again on every reload.
    std::uint64_t good_version = 0;
    std::array<std::uint64_t, 6> served_from{};
  };

  // Whether `state` serves its objects of `kind` whole, from `good`.
  static bool ServedWhole(const FileState& state, int kind);
  // The objects of `kind` (its list in a snapshot) that `state` serves.
  template <typename T>
  static const std::vector<T>& ServedList(const FileState& state,
                                          std::vector<T> model::ResourceSnapshot::*list, int kind);
  // Whether `state` serves any object.
  static bool ServesAny(const FileState& state);
  // Before `state.good` is replaced: the kinds served whole from it keep
  // their objects (moved to `served`).
  static void KeepServed(FileState& state);

  // Takes the digest of the bytes just read for a file; true when they
  // must be decoded (changed, and not back to the good version).
  static bool TakeContent(FileState& state, const Digest& content);
  void ResolveConflicts();
  template <typename T>
  void ResolveKind(std::vector<T> model::ResourceSnapshot::*list, int kind,
                   std::map<ObjectId, std::string>& owners);
  model::ResourceSnapshot Snapshot() const;
  void LoadOwners();
  void SaveOwners(std::map<ObjectId, std::string> owners);

  std::string dir_;
  std::string owners_file_;
  std::map<std::string, FileState> files_;  // by path: sorted order
  std::map<ObjectId, std::string> owners_;  // served object -> its file
  std::vector<FileError> owners_errors_;    // reading or writing owners_file_
  bool rewrite_owners_ = false;             // owners_file_ is unreadable or unwritten
  // A snapshot was returned (its objects are the files' `served`).
  bool published_ = false;
  // Some file's served objects changed since the last snapshot returned:
  // set where they change (a file's served list rebuilt unequal, a file
  // with objects gone), so no reload compares whole snapshots.
  bool served_changed_ = true;
  std::size_t decoded_files_ = 0;
};

}  // namespace meridian::sources
