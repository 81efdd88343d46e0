// WriteFileAtomically: the one way Meridian replaces a file that another
// process (or our own restart) reads: status.json, the manifest owners
// file, directory-registry records. A reader sees the old bytes or the new
// ones, never a torn file, and after a crash the new bytes are on disk.
#pragma once

#include <string>

#include "common/result.h"

namespace meridian {

// Writes `bytes` to a temp file in the target's directory, fsyncs it,
// renames it over `path` and fsyncs the directory. Mode 0644.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace meridian
