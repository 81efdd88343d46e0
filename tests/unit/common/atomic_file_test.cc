#include "common/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "temp_dir.h"

namespace meridian {
namespace {

using test_support::TempDir;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AtomicFileTest, ReplacesTheFileAndLeavesNoTempFile) {
  TempDir tmp;
  ASSERT_TRUE(WriteFileAtomically(tmp.Path("status.json"), "one\n"));
  ASSERT_TRUE(WriteFileAtomically(tmp.Path("status.json"), "two\n"));
  EXPECT_EQ(Read(tmp.Path("status.json")), "two\n");
  struct stat st {};
  ASSERT_EQ(stat(tmp.Path("status.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFileTest, MissingDirectoryIsAnErrorNamingIt) {
  TempDir tmp;
  auto s = WriteFileAtomically(tmp.Path("no/such/status.json"), "x");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message.rfind("create temp file in " + tmp.Path("no/such") + ": ", 0), 0u)
      << s.error().message;
}

}  // namespace
}  // namespace meridian
