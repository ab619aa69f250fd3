#include "engine/core/platform.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace pvb {
namespace {

TEST(PrivateDir, IsPrivateAndRemoved) {
  std::string path;
  {
    auto d = PrivateDir::create("pvb-test");
    ASSERT_TRUE(d.ok()) << d.error().message();
    path = d->path();
    EXPECT_EQ(file_mode(path), 0700);
    ASSERT_TRUE(write_new_private_file(path + "/f", "x").ok());
  }
  EXPECT_EQ(file_mode(path), -1);
}

TEST(PrivateFile, CreatedNew0600AndNeverOverwritten) {
  auto d = PrivateDir::create("pvb-test");
  ASSERT_TRUE(d.ok());
  std::string f = d->path() + "/console.vv";
  ASSERT_TRUE(write_new_private_file(f, "secret").ok());
  EXPECT_EQ(file_mode(f), 0600);
  Error again = write_new_private_file(f, "other");
  EXPECT_EQ(again.code(), Errc::usage);
  EXPECT_NE(again.detail().find("refusing to overwrite"), std::string::npos);
  std::ifstream in(f);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "secret");
  remove_file(f);
  EXPECT_EQ(file_mode(f), -1);
}

TEST(SecretFile, RefusesFilesOthersCanRead) {
  auto d = PrivateDir::create("pvb-test");
  ASSERT_TRUE(d.ok());
  std::string f = d->path() + "/pw";
  ASSERT_TRUE(write_new_private_file(f, "hunter2\n").ok());
  auto ok = read_secret_file(f);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "hunter2");
  chmod(f.c_str(), 0644);
  auto bad = read_secret_file(f);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail().find("chmod 600"), std::string::npos);
  EXPECT_EQ(bad.error().detail().find("hunter2"), std::string::npos);
}

TEST(Environment, DropsSecretsKeepsTheRest) {
  setenv("PVE_PASSWORD", "s3cret", 1);
  setenv("PVE_HOST", "pve1", 1);
  setenv("MY_TOKEN_FILE", "x", 1);
  setenv("PVB_TEST_KEEP", "kept", 1);
  auto env = filtered_environment({"PVE_"}, {"MY_TOKEN_FILE"});
  bool kept = false;
  for (const auto& kv : env) {
    EXPECT_NE(kv.rfind("PVE_", 0), 0u) << kv;
    EXPECT_NE(kv.rfind("MY_TOKEN_FILE=", 0), 0u) << kv;
    kept |= kv == "PVB_TEST_KEEP=kept";
  }
  EXPECT_TRUE(kept);
}

TEST(FindExecutable, SearchesPath) {
  EXPECT_EQ(find_executable("sh").empty(), false);
  EXPECT_EQ(find_executable("definitely-not-a-program-pvb"), "");
  EXPECT_EQ(find_executable("/bin/sh"), "/bin/sh");
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

TEST(CacheFile, ReplacedAtomicallyAndPrivate) {
  auto d = PrivateDir::create("pvb-test");
  ASSERT_TRUE(d.ok());
  setenv("XDG_CACHE_HOME", d->path().c_str(), 1);
  std::string dir = user_cache_dir("pvebridge");
  EXPECT_EQ(dir, d->path() + "/pvebridge");
  ASSERT_TRUE(replace_private_file(dir + "/guests", "100\tweb01\tpve1\n").ok());
  ASSERT_TRUE(replace_private_file(dir + "/guests", "101\tdb01\tpve2\n").ok());
  EXPECT_EQ(file_mode(dir + "/guests"), 0600);
  auto content = read_secret_file(dir + "/guests");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, "101\tdb01\tpve2");
  unsetenv("XDG_CACHE_HOME");
}

TEST(DataDir, XdgDataHomeOnlyWhenAbsolute) {
  const char* home = std::getenv("HOME");
  setenv("XDG_DATA_HOME", "/srv/data", 1);
  EXPECT_EQ(user_data_dir("pvebridge"), "/srv/data/pvebridge");
  setenv("XDG_DATA_HOME", "relative/data", 1);  // the XDG spec says to ignore it
  if (home && *home == '/') {
    EXPECT_EQ(user_data_dir("pvebridge"), std::string(home) + "/.local/share/pvebridge");
  }
  unsetenv("XDG_DATA_HOME");
  if (home && *home == '/') {
    EXPECT_EQ(user_data_dir("pvebridge"), std::string(home) + "/.local/share/pvebridge");
  }
}

TEST(PrivateFileReplace, CreatesMissingDirectoriesPrivate) {
  auto d = PrivateDir::create("pvb-test");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(chmod(d->path().c_str(), 0755), 0);  // an existing directory is left as it is
  const std::string file = d->path() + "/a/b/known_hosts";
  ASSERT_TRUE(replace_private_file(file, "x\n").ok());
  EXPECT_EQ(file_mode(file), 0600);
  EXPECT_EQ(file_mode(d->path() + "/a"), 0700);
  EXPECT_EQ(file_mode(d->path() + "/a/b"), 0700);
  EXPECT_EQ(file_mode(d->path()), 0755);
  ASSERT_TRUE(write_new_private_file(d->path() + "/plain", "x").ok());
  Error e = replace_private_file(d->path() + "/plain/f", "x");  // a file where a directory goes
  EXPECT_EQ(e.code(), Errc::io) << e.message();
}

TEST(PromptLine, NeedsATerminal) {
  // Under a test runner without a controlling terminal the question cannot be asked; with one,
  // this test has nothing to check without typing.
  if (access("/dev/tty", R_OK | W_OK) == 0) {
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY);
    if (fd >= 0) {
      close(fd);
      GTEST_SKIP() << "a terminal is attached";
    }
  }
  auto r = prompt_line("question? ");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::usage);
}

}  // namespace
}  // namespace pvb
