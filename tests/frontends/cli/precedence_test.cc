// The command line beats the environment, which beats the config file, group by group (issue 17):
// for every pair of levels and every group (credentials, trust, hosts), whichever alternative the
// higher level gives replaces the lower level's whole group; two alternatives of a group at the
// same level are an error naming both.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "frontends/cli/options.h"

namespace pvb {
namespace {

const std::string kConfigPath = "/home/u/.config/pvebridge/config";
const char* kLevelNames[] = {"file", "environment", "command line"};

std::string fingerprint_of(int level) {
  std::string byte = "A" + std::to_string(level);
  std::string f = byte;
  for (int i = 1; i < 32; ++i) f += ":" + byte;
  return f;
}

// What one level says: arguments, variables, config lines.
struct Levels {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> file;  // key -> value (one line each)

  Result<CliOptions> parse() const {
    std::string text;
    for (const auto& [k, v] : file) text += k + " = " + v + "\n";
    std::map<std::string, std::string> vars = env;
    vars["HOME"] = "/home/u";
    vars["DISPLAY"] = ":0";
    EnvLookup lookup = [vars](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    ConfigLoader loader = [text](const std::string& path) -> Result<std::optional<UserFile>> {
      if (path != kConfigPath) return std::optional<UserFile>();
      return std::optional<UserFile>(UserFile{text, false, false});
    };
    std::vector<std::string> a = {"list"};
    a.insert(a.end(), args.begin(), args.end());
    return parse_command_line(a, lookup, loader);
  }
};

// One alternative of a group: how each level gives it (0 file, 1 environment, 2 command line;
// an empty `where` when that level cannot), and what the options then hold.
struct Alternative {
  std::string name;
  std::string where[3];  // as an error names it
  std::function<void(Levels&, int level)> give;
  std::function<void(const CliOptions&, int level)> expect_only;  // this one, from that level
};

struct Group {
  std::string name;
  std::vector<Alternative> alternatives;
};

std::vector<Group> groups() {
  Alternative token{"token",
                    {"token_id", "PVE_API_TOKEN", "--api-token"},
                    [](Levels& l, int level) {
                      std::string n = std::to_string(level);
                      if (level == 0) {
                        l.file["token_id"] = "u@pam!t0";
                        l.file["token_secret"] = "s0";
                      } else if (level == 1) {
                        l.env["PVE_API_TOKEN"] = "u@pam!t1=s1";
                      } else {
                        l.args.insert(l.args.end(), {"--api-token", "u@pam!t2=s2"});
                      }
                    },
                    [](const CliOptions& o, int level) {
                      std::string n = std::to_string(level);
                      EXPECT_EQ(o.api_token.value_or(""), "u@pam!t" + n + "=s" + n);
                      EXPECT_EQ(o.user, "");
                      EXPECT_FALSE(o.password);
                    }};
  Alternative user{"user",
                   {"user", "PVE_USER", "--user"},
                   [](Levels& l, int level) {
                     std::string u = "u" + std::to_string(level) + "@pve";
                     if (level == 0) l.file["user"] = u;
                     if (level == 1) l.env["PVE_USER"] = u;
                     if (level == 2) l.args.insert(l.args.end(), {"--user", u});
                   },
                   [](const CliOptions& o, int level) {
                     EXPECT_EQ(o.user, "u" + std::to_string(level) + "@pve");
                     EXPECT_FALSE(o.api_token);
                     EXPECT_EQ(o.token_id, "");
                   }};
  Alternative fingerprint{"fingerprint",
                          {"fingerprint", "PVE_FINGERPRINT", "--fingerprint"},
                          [](Levels& l, int level) {
                            if (level == 0) l.file["fingerprint"] = fingerprint_of(0);
                            if (level == 1) l.env["PVE_FINGERPRINT"] = fingerprint_of(1);
                            if (level == 2) {
                              l.args.insert(l.args.end(), {"--fingerprint", fingerprint_of(2)});
                            }
                          },
                          [](const CliOptions& o, int level) {
                            EXPECT_EQ(o.fingerprints,
                                      std::vector<std::string>{fingerprint_of(level)});
                            EXPECT_EQ(o.ca_file, "");
                            EXPECT_FALSE(o.insecure);
                          }};
  Alternative ca{"ca_file",
                 {"ca_file", "PVE_CA_FILE", "--ca-file"},
                 [](Levels& l, int level) {
                   std::string f = "/ca" + std::to_string(level) + ".pem";
                   if (level == 0) l.file["ca_file"] = f;
                   if (level == 1) l.env["PVE_CA_FILE"] = f;
                   if (level == 2) l.args.insert(l.args.end(), {"--ca-file", f});
                 },
                 [](const CliOptions& o, int level) {
                   EXPECT_EQ(o.ca_file, "/ca" + std::to_string(level) + ".pem");
                   EXPECT_TRUE(o.fingerprints.empty());
                   EXPECT_FALSE(o.insecure);
                 }};
  Alternative insecure{"insecure",
                       {"", "", "--insecure"},
                       [](Levels& l, int) { l.args.push_back("--insecure"); },
                       [](const CliOptions& o, int) {
                         EXPECT_TRUE(o.insecure);
                         EXPECT_TRUE(o.fingerprints.empty());
                         EXPECT_EQ(o.ca_file, "");
                       }};
  Alternative host{"host",
                   {"host", "PVE_HOST", "--host"},
                   [](Levels& l, int level) {
                     std::string h = "h" + std::to_string(level);
                     if (level == 0) l.file["host"] = h;
                     if (level == 1) l.env["PVE_HOST"] = h;
                     if (level == 2) l.args.insert(l.args.end(), {"--host", h});
                   },
                   [](const CliOptions& o, int level) {
                     ASSERT_EQ(o.hosts.size(), 1u);
                     EXPECT_EQ(o.hosts[0].host, "h" + std::to_string(level));
                   }};
  return {
      {"credentials", {token, user}}, {"trust", {fingerprint, ca, insecure}}, {"hosts", {host}}};
}

// A host and a user in the file, so that every case has what a command needs.
Levels base() {
  Levels l;
  l.file["host"] = "base-host";
  l.file["user"] = "base@pve";
  return l;
}

TEST(Precedence, HigherLevelReplacesTheWholeGroup) {
  for (const Group& g : groups()) {
    for (int high = 1; high <= 2; ++high) {
      for (int low = 0; low < high; ++low) {
        for (const Alternative& a : g.alternatives) {
          if (a.where[high].empty()) continue;
          for (const Alternative& b : g.alternatives) {
            if (b.where[low].empty()) continue;
            SCOPED_TRACE(g.name + ": " + a.name + " from the " + kLevelNames[high] + " over " +
                         b.name + " from the " + kLevelNames[low]);
            Levels l = base();
            if (g.name == "credentials" && low == 0) l.file.erase("user");  // b is the file's
            b.give(l, low);
            a.give(l, high);
            auto o = l.parse();
            ASSERT_TRUE(o.ok()) << o.error().message();
            a.expect_only(*o, high);
          }
        }
      }
    }
  }
}

TEST(Precedence, TwoAlternativesAtOneLevelConflict) {
  for (const Group& g : groups()) {
    for (int level = 0; level <= 2; ++level) {
      for (size_t i = 0; i < g.alternatives.size(); ++i) {
        for (size_t j = i + 1; j < g.alternatives.size(); ++j) {
          const Alternative& a = g.alternatives[i];
          const Alternative& b = g.alternatives[j];
          if (a.where[level].empty() || b.where[level].empty()) continue;
          SCOPED_TRACE(g.name + ": " + a.name + " and " + b.name + " from the " +
                       kLevelNames[level]);
          Levels l = base();
          if (level == 0) l.file.erase("user");  // the file's own user is not the case here
          a.give(l, level);
          b.give(l, level);
          auto o = l.parse();
          ASSERT_FALSE(o.ok());
          const std::string m = o.error().message();
          EXPECT_NE(m.find(a.where[level]), std::string::npos) << m;
          EXPECT_NE(m.find(b.where[level]), std::string::npos) << m;
          if (level == 1) {
            EXPECT_NE(m.find("are both set"), std::string::npos) << m;
          }
          if (level == 0) {
            EXPECT_EQ(m.rfind(kConfigPath + ":", 0), 0u) << m;
          }
        }
      }
    }
  }
  // As the issue words it.
  Levels l = base();
  l.env = {{"PVE_API_TOKEN", "u@pam!t=s"}, {"PVE_USER", "alice"}};
  EXPECT_EQ(l.parse().error().message(),
            "PVE_API_TOKEN and PVE_USER are both set: unset one, or override them with an option");
}

// The case of the issue: PVE_USER/PVE_PASSWORD exported, a token for the odd command.
TEST(Precedence, TokenOnTheCommandLineOverExportedUserAndPassword) {
  Levels l;
  l.env = {{"PVE_HOST", "pve1"},
           {"PVE_USER", "alice"},
           {"PVE_PASSWORD", "pw"},
           {"PVE_CA_FILE", "/ca.pem"}};
  l.args = {"--api-token", "u@pam!t=s", "--fingerprint", fingerprint_of(2)};
  auto o = l.parse();
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->api_token.value_or(""), "u@pam!t=s");
  EXPECT_EQ(o->user, "");
  EXPECT_FALSE(o->password);
  EXPECT_EQ(o->ca_file, "");
  // PVE_PASSWORD is still dropped from the viewer's environment.
  EXPECT_NE(std::find(o->secret_env_names.begin(), o->secret_env_names.end(), "PVE_PASSWORD"),
            o->secret_env_names.end());
}

// A password source below stays with a user named again above it, and only with that user.
TEST(Precedence, PasswordStaysWithItsUser) {
  Levels l;
  l.file = {{"host", "h"}, {"user", "alice@pve"}, {"password_file", "/alice.pw"}};
  l.env["PVE_USER"] = "alice@pve";
  auto same = l.parse();
  ASSERT_TRUE(same.ok()) << same.error().message();
  EXPECT_EQ(same->password_file, "/alice.pw");
  l.env["PVE_USER"] = "bob@pve";
  auto other = l.parse();
  ASSERT_TRUE(other.ok()) << other.error().message();
  EXPECT_EQ(other->user, "bob@pve");
  EXPECT_EQ(other->password_file, "");
  // PVE_PASSWORD names no user: it is the password of whichever user is named.
  Levels e;
  e.env = {{"PVE_HOST", "h"}, {"PVE_PASSWORD", "pw"}};
  e.args = {"--user", "carol"};
  auto carol = e.parse();
  ASSERT_TRUE(carol.ok()) << carol.error().message();
  EXPECT_EQ(carol->password.value_or(""), "pw");
}

// The realm hint after a failed login ("@pam" was assumed) follows the user that counts, from
// whichever level gave it.
TEST(Precedence, RealmDefaultedFollowsTheUserThatCounts) {
  Levels l;
  l.file = {{"host", "h"}, {"user", "alice"}, {"password_file", "/alice.pw"}};
  auto file = l.parse();
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->user, "alice@pam");
  EXPECT_TRUE(file->user_realm_defaulted);
  l.env["PVE_USER"] = "alice@pve";
  auto env = l.parse();
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_FALSE(env->user_realm_defaulted);
  l.args = {"--user", "bob"};
  auto cli = l.parse();
  ASSERT_TRUE(cli.ok()) << cli.error().message();
  EXPECT_TRUE(cli->user_realm_defaulted);
  l.args = {"--api-token", "u@pam!t=s"};
  auto token = l.parse();
  ASSERT_TRUE(token.ok()) << token.error().message();
  EXPECT_FALSE(token->user_realm_defaulted);
}

}  // namespace
}  // namespace pvb
