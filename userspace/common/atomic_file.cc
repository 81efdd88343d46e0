#include "common/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace meridian {
namespace {

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string DirOf(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("open {}: {}", dir, ErrnoText(errno))};
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return Error{fmt::format("fsync {}: {}", dir, ErrnoText(err))};
  return Status::Ok();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string dir = DirOf(path);
  // Hidden, so a directory reader that skips dot files (the manifest
  // directory, the directory registry) never sees a half-written temp file.
  std::string tmp = dir + "/.tmp-XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("create temp file in {}: {}", dir, ErrnoText(errno))};
  auto fail = [&](const std::string& what) {
    int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return Status(Error{fmt::format("{} {}: {}", what, tmp, ErrnoText(err))});
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write");
    done += static_cast<std::size_t>(n);
  }
  if (fchmod(fd, 0644) != 0) return fail("chmod");
  if (fsync(fd) != 0) return fail("fsync");
  if (close(fd) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Error{fmt::format("close {}: {}", tmp, ErrnoText(err))};
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Error{fmt::format("rename {} -> {}: {}", tmp, path, ErrnoText(err))};
  }
  return FsyncDir(dir);
}

}  // namespace meridian
