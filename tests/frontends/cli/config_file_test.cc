#include "frontends/cli/config_file.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

Result<ConfigFile> parse(std::string_view text) {
  return parse_config_file(text, "/home/u/.config/pvebridge/config");
}

// The error message of a text that must not parse.
std::string error_of(std::string_view text) {
  auto f = parse(text);
  if (f.ok()) return "accepted";
  EXPECT_EQ(f.error().code(), Errc::usage);
  EXPECT_EQ(f.error().message().find('\n'), std::string::npos);
  return f.error().message();
}

TEST(ConfigFile, ProfilesGlobalsCommentsAndBlanks) {
  auto f = parse(
      "# pvebridge settings\n"
      "default_profile = home\n"
      "\n"
      "tls_backend=mbedtls\n"
      "  [profile home]  \n"
      "\thost = pve1, pve2:8007\n"
      "user = alice@pve   \n"
      "  # indented comment\n"
      "password_command = pass show 'pve/alice #1'\n"
      "[ profile  work.lab-2 ]\r\n"
      "host = 10.0.0.1\r\n"
      "host = 10.0.0.2\r\n");
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(f->default_profile.value, "home");
  EXPECT_EQ(f->default_profile.line, 2);
  ASSERT_EQ(f->global.size(), 1u);
  EXPECT_EQ(f->global[0].key, "tls_backend");
  EXPECT_EQ(f->global[0].value, "mbedtls");
  ASSERT_EQ(f->profiles.size(), 2u);
  const ConfigProfile* home = f->find_profile("home");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(home->line, 5);
  ASSERT_EQ(home->settings.size(), 3u);
  EXPECT_EQ(home->settings[0].value, "pve1, pve2:8007");
  EXPECT_EQ(home->settings[1].value, "alice@pve");
  EXPECT_EQ(home->settings[2].value, "pass show 'pve/alice #1'") << "a '#' inside is no comment";
  EXPECT_EQ(home->settings[2].line, 9);
  const ConfigProfile* work = f->find_profile("work.lab-2");
  ASSERT_NE(work, nullptr);
  ASSERT_EQ(work->settings.size(), 2u) << "host may be repeated";
  EXPECT_EQ(work->settings[1].value, "10.0.0.2") << "CR of CRLF dropped";
  EXPECT_EQ(f->profile_names(), "home, work.lab-2");
  EXPECT_EQ(f->find_profile("HOME"), nullptr) << "profile names are case-sensitive";
}

TEST(ConfigFile, EmptyTextIsAnEmptyConfig) {
  for (std::string_view text : {"", "\n\n", "# nothing\n", "   \t\n"}) {
    auto f = parse(text);
    ASSERT_TRUE(f.ok()) << f.error().message();
    EXPECT_TRUE(f->profiles.empty());
    EXPECT_TRUE(f->global.empty());
    EXPECT_TRUE(f->default_profile.key.empty());
  }
}

TEST(ConfigFile, ErrorsNameFileAndLine) {
  const std::string at = "/home/u/.config/pvebridge/config:";
  EXPECT_EQ(error_of("user = a\nfrobnicate = 1\n"), at + "2: unknown key 'frobnicate'");
  EXPECT_EQ(error_of("\n\njust words\n"),
            at + "3: expected 'key = value', a '[profile NAME]' header or a '#' comment");
  EXPECT_EQ(error_of("[profile a]\n[profile a]\n"),
            at + "2: profile 'a' is defined twice (first on line 1)");
  EXPECT_EQ(error_of("[profile a]\nuser = x\nuser = y\n"),
            at + "3: user given twice in this section (first on line 2)");
  // Found by fuzz_config: a list of words is one line (its --viewer-arg adds up, the key not).
  EXPECT_EQ(error_of("viewer_args = a\nviewer_args = b\n"),
            at + "2: viewer_args given twice in this section (first on line 1)");
  EXPECT_EQ(error_of("[profile a]\ndefault_profile = a\n"),
            at + "2: default_profile belongs at the top of the file, before any [profile]");
  EXPECT_EQ(error_of("default_profile = b\n[profile a]\n"),
            at + "1: default_profile names no profile 'b' (profiles: a)");
  EXPECT_EQ(error_of("default_profile = a\ndefault_profile = a\n[profile a]\n"),
            at + "2: default_profile given twice (first on line 1)");
  EXPECT_EQ(error_of("[work]\n"), at + "1: expected a section header '[profile NAME]'");
  EXPECT_EQ(error_of("[profile]\n"), at + "1: expected a section header '[profile NAME]'");
  EXPECT_EQ(error_of("[profile a\n"), at + "1: expected a section header '[profile NAME]'");
  EXPECT_EQ(error_of("[profile a b]\n"),
            at + "1: a profile name is 1 to 64 letters, digits, '.', '_' or '-'");
  EXPECT_EQ(error_of("User = x\n"),
            at + "1: expected 'key = value', a '[profile NAME]' header or a '#' comment");
  EXPECT_EQ(error_of("user = a\x01b\n"), at + "1: control character or invalid UTF-8");
  EXPECT_EQ(error_of("user = \xff\n"), at + "1: control character or invalid UTF-8");
}

TEST(ConfigFile, MalformedLinesNeverQuoteTheirText) {
  // A mistyped secret line must not end up on the screen or in a log.
  for (std::string_view text : {"password: hunter2-Zq7\n", "hunter2-Zq7\n", "= hunter2-Zq7\n",
                                "pass word = hunter2-Zq7\n"}) {
    std::string e = error_of(text);
    EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  }
}

TEST(ConfigFile, SecondSameProfileSectionIsRefusedNotMerged) {
  EXPECT_NE(error_of("[profile a]\nuser = x\n[profile b]\n[profile a]\n").find("defined twice"),
            std::string::npos);
}

TEST(ConfigFile, InlineSecretsAreFound) {
  auto f = parse("[profile a]\nuser = x\n[profile b]\nuser = y\npassword = pw\n");
  ASSERT_TRUE(f.ok());
  const ConfigSetting* s = f->first_inline_secret();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->key, "password");
  EXPECT_EQ(s->line, 5);
  auto g = parse("token_secret = abc\n[profile a]\npassword_file = f\n");
  ASSERT_TRUE(g.ok());
  ASSERT_NE(g->first_inline_secret(), nullptr);
  EXPECT_EQ(g->first_inline_secret()->key, "token_secret");
  auto none = parse("[profile a]\npassword_file = f\npassword_command = x\n");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->first_inline_secret(), nullptr);
  EXPECT_TRUE(config_key_is_secret("password"));
  EXPECT_TRUE(config_key_is_secret("token_secret"));
  EXPECT_FALSE(config_key_is_secret("password_file"));
}

std::vector<std::string> keys_in_force(const ConfigFile& f, const char* profile) {
  std::vector<std::string> keys;
  for (const auto& s : settings_in_force(f, profile ? f.find_profile(profile) : nullptr)) {
    keys.push_back(s.key + "=" + s.value);
  }
  return keys;
}

TEST(ConfigFile, ProfileOverridesTopLevelPerKeyAndPerGroup) {
  auto f = parse(
      "user = root@pam\n"
      "password_file = /pw\n"
      "fingerprint = AA\n"
      "host = pve0\n"
      "timeout = 5\n"
      "viewer = v0\n"
      "[profile token]\n"
      "token_id = a@pve!t\n"
      "token_file = /t\n"
      "viewer = v1\n"
      "[profile ca]\n"
      "ca_file = /ca.pem\n"
      "host = pve9\n"
      "[profile plain]\n");
  ASSERT_TRUE(f.ok()) << f.error().message();
  // A token replaces the top-level user and its password; other keys one by one.
  EXPECT_EQ(keys_in_force(*f, "token"),
            (std::vector<std::string>{"fingerprint=AA", "host=pve0", "timeout=5",
                                      "token_id=a@pve!t", "token_file=/t", "viewer=v1"}));
  // A CA replaces the top-level fingerprints; hosts replace hosts.
  EXPECT_EQ(keys_in_force(*f, "ca"),
            (std::vector<std::string>{"user=root@pam", "password_file=/pw", "timeout=5",
                                      "viewer=v0", "ca_file=/ca.pem", "host=pve9"}));
  EXPECT_EQ(keys_in_force(*f, "plain").size(), 6u);
  EXPECT_EQ(keys_in_force(*f, nullptr).size(), 6u);
}

TEST(SplitWords, BlanksQuotesAndEscapes) {
  auto w = split_words(R"(  pass show  'pve/my key' "say \"hi\" \\o/" a\ b c'd'"e"  )");
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(*w, (std::vector<std::string>{"pass", "show", "pve/my key", R"(say "hi" \o/)", "a b",
                                          "cde"}));
  auto empty_word = split_words("a '' b");
  ASSERT_TRUE(empty_word.ok());
  EXPECT_EQ(*empty_word, (std::vector<std::string>{"a", "", "b"}));
  auto none = split_words("   ");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto literal = split_words(R"('$HOME' "*" ~ a;b|c)");
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(*literal, (std::vector<std::string>{"$HOME", "*", "~", "a;b|c"})) << "no shell";
}

TEST(SplitWords, UnbalancedQuotesAreErrorsThatQuoteNothing) {
  for (std::string_view bad : {"echo 'secret-Zq7", "echo \"secret-Zq7", "secret-Zq7\\"}) {
    auto w = split_words(bad);
    ASSERT_FALSE(w.ok()) << bad;
    EXPECT_EQ(w.error().code(), Errc::usage);
    EXPECT_EQ(w.error().message().find("secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace pvb
