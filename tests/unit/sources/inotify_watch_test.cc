#include "sources/inotify_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace meridian::sources {
namespace {

namespace fs = std::filesystem;

class InotifyWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "meridian-inotify-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Waits (bounded) until the watch fd is readable, as the agent's loop does.
  static bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 2000) == 1;
  }

  std::string dir_;
};

TEST_F(InotifyWatchTest, CreatingAFileIsAChange) {
  auto watch = InotifyWatch::Create(dir_);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  EXPECT_GE(watch->fd(), 0);
  EXPECT_TRUE(fcntl(watch->fd(), F_GETFL) & O_NONBLOCK);
  EXPECT_FALSE(watch->Drain());  // nothing yet, and it does not block

  std::ofstream(dir_ + "/web.yaml") << "kind: Service\n";
  ASSERT_TRUE(Readable(watch->fd()));
  EXPECT_TRUE(watch->Drain());
  EXPECT_FALSE(watch->Drain());  // all events were consumed
}

TEST_F(InotifyWatchTest, RenameAndDeleteAreChanges) {
  std::ofstream(dir_ + "/.web.yaml.tmp") << "kind: Service\n";
  auto watch = InotifyWatch::Create(dir_);
  ASSERT_TRUE(watch.ok()) << watch.error().message;

  fs::rename(dir_ + "/.web.yaml.tmp", dir_ + "/web.yaml");
  ASSERT_TRUE(Readable(watch->fd()));
  EXPECT_TRUE(watch->Drain());

  fs::remove(dir_ + "/web.yaml");
  ASSERT_TRUE(Readable(watch->fd()));
  EXPECT_TRUE(watch->Drain());
}

TEST_F(InotifyWatchTest, MovedWatchKeepsItsFd) {
  auto watch = InotifyWatch::Create(dir_);
  ASSERT_TRUE(watch.ok());
  const int fd = watch->fd();
  InotifyWatch moved = std::move(*watch);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_EQ(watch->fd(), -1);
  std::ofstream(dir_ + "/a.yaml") << "";
  ASSERT_TRUE(Readable(moved.fd()));
  EXPECT_TRUE(moved.Drain());
}

TEST_F(InotifyWatchTest, MissingDirectoryIsAnError) {
  auto watch = InotifyWatch::Create(dir_ + "/nope");
  ASSERT_FALSE(watch.ok());
  EXPECT_EQ(watch.error().message,
            dir_ + "/nope: cannot watch directory: No such file or directory");
}

}  // namespace
}  // namespace meridian::sources
