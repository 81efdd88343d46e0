#include "datapath/bpffs.h"

#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace meridian::datapath {

Status EnsureBpffsMounted(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (mount("bpf", path.c_str(), "bpf", 0, "mode=0700") != 0) {
    return Error{fmt::format("mount bpffs at {}: {}", path, std::strerror(errno))};
  }
  return Status::Ok();
}

std::string NodePinDir(const std::string& bpffs, const std::string& node) {
  return bpffs + "/meridian/" + node;
}

Status ValidateNodeName(const std::string& node) {
  if (node.empty() || node.size() > 63) {
    return Error{fmt::format("node name \"{}\": must be 1-63 characters", node)};
  }
  for (char c : node) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) {
      return Error{fmt::format("node name \"{}\": only [a-z0-9.-] allowed", node)};
    }
  }
  return Status::Ok();
}

}  // namespace meridian::datapath
