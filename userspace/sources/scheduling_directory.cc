#include "sources/scheduling_directory.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace meridian::sources {

SchedulingDirectory ReadSchedulingDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  SchedulingDirectory out;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto ext = it->path().extension();
    if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(it->path());
    }
  }
  if (ec) {
    out.errors.push_back(fmt::format("{}: {}", dir, ec.message()));
    return out;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      out.errors.push_back(fmt::format("{}: cannot be read", f.string()));
      continue;
    }
    if (auto s = DecodeSchedulingManifests(text.str(), f.string(), out.manifests); !s) {
      out.errors.push_back(s.error().message);
    }
  }
  return out;
}

}  // namespace meridian::sources
