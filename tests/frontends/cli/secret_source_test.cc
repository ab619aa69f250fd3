// Secrets from commands and files (password_command, token_file, ...), with the platform
// functions under them: run_and_capture and read_user_file. Real processes and files.
#include "frontends/cli/secret_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "engine/core/platform.h"

namespace pvb {
namespace {

class SecretSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-secret-test");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string file(const std::string& name, const std::string& content, int mode) {
    std::string path = dir_->path() + "/" + name;
    EXPECT_TRUE(write_new_private_file(path, content).ok());
    chmod(path.c_str(), static_cast<mode_t>(mode));
    return path;
  }
  std::optional<PrivateDir> dir_;
};

TEST_F(SecretSourceTest, FirstLineOfTheOutputIsTheSecret) {
  auto s = secret_from_command({"printf", "s3cret value\\nsecond line\\n"}, "password_command");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(*s, "s3cret value");
  auto crlf = secret_from_command({"printf", "pw\\r\\n"}, "password_command");
  ASSERT_TRUE(crlf.ok());
  EXPECT_EQ(*crlf, "pw");
  auto no_newline = secret_from_command({"printf", "%s", "last"}, "password_command");
  ASSERT_TRUE(no_newline.ok());
  EXPECT_EQ(*no_newline, "last");
}

TEST_F(SecretSourceTest, NoShellUnlessAskedFor) {
  // Each word is one argument, taken literally.
  auto literal = secret_from_command({"printf", "%s\\n", "$HOME;*"}, "password_command");
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(*literal, "$HOME;*");
  auto shell = secret_from_command({"sh", "-c", "echo one | tr o O"}, "password_command");
  ASSERT_TRUE(shell.ok());
  EXPECT_EQ(*shell, "One");
}

TEST_F(SecretSourceTest, FailuresAreAuthErrorsThatNeverQuoteTheOutput) {
  auto failed = secret_from_command({"sh", "-c", "echo leaked-Zq7; exit 3"}, "password_command");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Errc::auth);
  EXPECT_EQ(failed.error().message(), "password_command (sh) failed with exit status 3");

  auto killed =
      secret_from_command({"sh", "-c", "echo leaked-Zq7; kill -TERM $$"}, "token_command");
  ASSERT_FALSE(killed.ok());
  EXPECT_EQ(killed.error().code(), Errc::auth);
  EXPECT_NE(killed.error().message().find("token_command (sh) was killed by signal 15"),
            std::string::npos);
  EXPECT_EQ(killed.error().message().find("leaked"), std::string::npos);

  auto empty = secret_from_command({"sh", "-c", "echo; echo second"}, "password_command");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code(), Errc::auth);
  EXPECT_EQ(empty.error().message(), "password_command (sh) printed no secret on its first line");
}

TEST_F(SecretSourceTest, MissingProgramIsAConfigurationError) {
  auto s = secret_from_command({"/nonexistent/pass", "show"}, "password_command");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::usage);
  EXPECT_EQ(s.error().message(),
            "password_command: command '/nonexistent/pass' not found or not executable");
  auto none = secret_from_command({}, "password_command");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Errc::usage);
}

TEST_F(SecretSourceTest, CommandGetsNoPveVariables) {
  setenv("PVE_PASSWORD", "env-secret", 1);
  setenv("PVEBRIDGE_PROFILE", "lab", 1);
  setenv("PVB_TEST_VISIBLE", "visible", 1);
  auto s = secret_from_command(
      {"sh", "-c", "echo \"${PVE_PASSWORD:-none}/${PVEBRIDGE_PROFILE:-none}/$PVB_TEST_VISIBLE\""},
      "password_command");
  unsetenv("PVE_PASSWORD");
  unsetenv("PVEBRIDGE_PROFILE");
  unsetenv("PVB_TEST_VISIBLE");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(*s, "none/none/visible");
}

TEST_F(SecretSourceTest, HugeOutputIsCutAndNeverBlocksTheCommand) {
  // 1 MiB on one line: the command must be able to write it all (we keep reading) and exit 0.
  auto run = run_and_capture({"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' a; exit 7"}, {},
                             64 * 1024);
  ASSERT_TRUE(run.ok()) << run.error().message();
  EXPECT_EQ(run->out.size(), 64u * 1024);
  EXPECT_EQ(run->exit_code, 7);
  EXPECT_EQ(run->term_signal, 0);
}

TEST_F(SecretSourceTest, TokenSecretFromFileOrCommand) {
  const std::string id = "root@pam!pvebridge";
  auto bare = token_secret(id, file("bare", "abc-123\n", 0600), {});
  ASSERT_TRUE(bare.ok()) << bare.error().message();
  EXPECT_EQ(*bare, "abc-123");
  auto whole = token_secret(id, file("whole", id + "=def-456\n", 0600), {});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, "def-456") << "the whole token as Proxmox shows it";
  auto cmd = token_secret(id, "", {"printf", "ghi-789\\n"});
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(*cmd, "ghi-789");

  std::string shared = file("shared", "abc\n", 0644);
  auto readable = token_secret(id, shared, {});
  ASSERT_FALSE(readable.ok());
  EXPECT_EQ(readable.error().code(), Errc::usage);
  EXPECT_EQ(readable.error().message(),
            "token file " + shared + " is accessible by other users; run: chmod 600 " + shared);
  auto just_id = token_secret(id, file("just-id", id + "=\n", 0600), {});
  ASSERT_FALSE(just_id.ok());
  EXPECT_NE(just_id.error().message().find("holds no secret"), std::string::npos);
}

TEST_F(SecretSourceTest, UserFileSaysWhoElseMayTouchIt) {
  auto missing = read_user_file(dir_->path() + "/none", 1024);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto under_a_file = read_user_file(file("plain", "x", 0600) + "/config", 1024);
  ASSERT_TRUE(under_a_file.ok());
  EXPECT_FALSE(under_a_file->has_value());

  auto own = read_user_file(file("own", "host = h\n", 0600), 1024);
  ASSERT_TRUE(own.ok());
  ASSERT_TRUE(own->has_value());
  EXPECT_EQ((*own)->text, "host = h\n");
  EXPECT_FALSE((*own)->readable_by_others);
  EXPECT_FALSE((*own)->writable_by_others);
  auto readable = read_user_file(file("readable", "", 0644), 1024);
  ASSERT_TRUE(readable.ok() && readable->has_value());
  EXPECT_TRUE((*readable)->readable_by_others);
  EXPECT_FALSE((*readable)->writable_by_others);
  auto writable = read_user_file(file("writable", "", 0620), 1024);
  ASSERT_TRUE(writable.ok() && writable->has_value());
  EXPECT_FALSE((*writable)->readable_by_others);
  EXPECT_TRUE((*writable)->writable_by_others);

  auto dir = read_user_file(dir_->path(), 1024);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().message(), dir_->path() + " is not a regular file");
  auto big = read_user_file(file("big", std::string(2000, 'x'), 0600), 1024);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("too large"), std::string::npos);
}

}  // namespace
}  // namespace pvb
