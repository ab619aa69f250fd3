// End to end, daily use: the pvebridge program with a config file and profiles (secrets from a
// file or a command, precedence, refusals) and `list` filters and formats, against the real
// mock-pveproxy program. Each test has its own HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "tests/integration/mock_fixture.h"

namespace pvb::testing {
namespace {

class DailyUseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-daily");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    ASSERT_TRUE(mock_.ok());
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::string config_path() const { return path("xdg-config/pvebridge/config"); }
  std::string cache_path() const { return path("xdg-cache/pvebridge/guests"); }

  // Writes a file of this test with this mode, creating its directory.
  std::string write(const std::string& p, const std::string& text, mode_t mode = 0600) {
    EXPECT_EQ(replace_private_file(p, text).code(), Errc::ok);  // (parents made 0700)
    chmod(p.c_str(), mode);
    return p;
  }
  void config(const std::string& text, mode_t mode = 0600) { write(config_path(), text, mode); }

  // An environment with nothing of the user's: no PVE_* variables, our own XDG directories.
  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    extra.emplace("HOME", path("home"));
    extra.emplace("XDG_CONFIG_HOME", path("xdg-config"));
    extra.emplace("XDG_CACHE_HOME", path("xdg-cache"));
    return base_env(extra);
  }

  // "root@pam!pvebridge" and its secret, from the mock's whole token.
  std::string token_id() const { return info().api_token.substr(0, info().api_token.find('=')); }
  std::string token_secret() const {
    return info().api_token.substr(info().api_token.find('=') + 1);
  }
  const MockInfo& info() const { return mock_.info(); }

  // A profile that reaches the mock with its API token read from a private file.
  std::string token_profile(const std::string& name) {
    write(path("token"), token_secret() + "\n");
    return "[profile " + name + "]\nhost = " + info().host() +
           "\nfingerprint = " + info().fingerprint + "\ntoken_id = " + token_id() +
           "\ntoken_file = " + path("token") + "\n";
  }

  MockPveproxy mock_;
  std::optional<PrivateDir> dir_;
};

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

TEST_F(DailyUseTest, DefaultProfileWithTokenFromAFile) {
  config("default_profile = lab\n" + token_profile("lab"));
  auto r = run_pvebridge({"list", "--format", "vmid,name"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(joined(r.out).find("100\tweb01\n"), std::string::npos) << joined(r.out);
}

TEST_F(DailyUseTest, ProfileByOptionOrEnvironmentAndConfigByOption) {
  std::string other = path("elsewhere.conf");
  write(other, token_profile("lab"));
  auto r =
      run_pvebridge({"--config", other, "--profile", "lab", "list", "--format", "vmid"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  auto e = run_pvebridge({"list", "--format", "vmid"},
                         env({{"PVEBRIDGE_CONFIG", other}, {"PVEBRIDGE_PROFILE", "lab"}}));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out, r.out);
}

TEST_F(DailyUseTest, PasswordFromACommandNeverShows) {
  write(path("pw"), info().password + "\n");
  config("[profile pw]\nhost = " + info().host() + "\nca_file = " + info().ca_file +
         "\nuser = " + info().user + "\npassword_command = cat " + path("pw") + "\n");
  auto r = run_pvebridge({"--profile", "pw", "list", "--verbose", "--json"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(joined(r.out).find("\"web01\""), std::string::npos);
  EXPECT_NE(r.err.find("config file: " + config_path() + " (profile pw)"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(info().password), std::string::npos) << "the password leaked";
  EXPECT_EQ(joined(r.out).find(info().password), std::string::npos);
}

TEST_F(DailyUseTest, FailingPasswordCommandExitsThree) {
  config("host = " + info().host() + "\nfingerprint = " + info().fingerprint +
         "\nuser = " + info().user + "\npassword_command = sh -c 'echo locked >&2; exit 4'\n");
  auto r = run_pvebridge({"list"}, env());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("locked"), std::string::npos) << "its stderr passes through: " << r.err;
  EXPECT_NE(r.err.find("password_command (sh) failed with exit status 4"), std::string::npos)
      << r.err;
  config("host = " + info().host() + "\nfingerprint = " + info().fingerprint +
         "\nuser = " + info().user + "\npassword_command = /nonexistent/pass show pve\n");
  auto missing = run_pvebridge({"list"}, env());
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

TEST_F(DailyUseTest, CommandLineBeatsEnvironmentBeatsFile) {
  // The file names a host where nothing listens, and another certificate.
  std::string wrong_fp;
  for (int i = 0; i < 32; ++i) wrong_fp += i ? ":AB" : "AB";
  config("host = 127.0.0.1:1\ntimeout = 3\nfingerprint = " + wrong_fp + "\ntoken_id = " +
         token_id() + "\ntoken_command = printf '%s\\n' " + token_secret() + "\n");
  auto file_only = run_pvebridge({"list"}, env());
  EXPECT_EQ(file_only.exit_code, 7) << "the file's host is used: " << file_only.err;

  auto by_env = run_pvebridge(
      {"list"}, env({{"PVE_HOST", info().host()}, {"PVE_FINGERPRINT", info().fingerprint}}));
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;

  auto by_cli =
      run_pvebridge({"list", "--host", info().host(), "--fingerprint", info().fingerprint},
                    env({{"PVE_HOST", "127.0.0.1:1"}}));
  EXPECT_EQ(by_cli.exit_code, 0) << by_cli.err;

  // The file's wrong fingerprint is used when nothing else chose the trust: exit 4.
  auto wrong_trust = run_pvebridge({"list"}, env({{"PVE_HOST", info().host()}}));
  EXPECT_EQ(wrong_trust.exit_code, 4) << wrong_trust.err;
}

TEST_F(DailyUseTest, ViewerAndItsArgumentsFromTheProfile) {
  config(token_profile("v") + "viewer = " + test_viewer_path() + "\nviewer_args = --keys 3\n");
  auto r = run_pvebridge({"connect", "web01", "--profile", "v", "--json"},
                         env({{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string rep = read_file(path("viewer.json"));
  EXPECT_EQ(json_get(rep, "name"), "web01") << rep;
  EXPECT_NE(json_get(rep, "argv").value_or("").find("--keys"), std::string::npos) << rep;
  EXPECT_EQ(json_get(rep, "env_has_pve"), "false") << rep;
}

TEST_F(DailyUseTest, ConfigMistakesExitTwoWithFileAndLine) {
  config("[profile a]\nhost = h\ncolour = blue\n");
  auto unknown = run_pvebridge({"list", "--profile", "a"}, env());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find(config_path() + ":3: unknown key 'colour'"), std::string::npos)
      << unknown.err;

  config("[profile a]\nhost = h\n");
  auto no_profile = run_pvebridge({"list", "--profile", "b"}, env());
  EXPECT_EQ(no_profile.exit_code, 2);
  EXPECT_NE(no_profile.err.find("no profile 'b' in " + config_path() + " (profiles: a)"),
            std::string::npos)
      << no_profile.err;

  auto json = run_pvebridge({"list", "--profile", "b", "--json"}, env());
  EXPECT_EQ(json.exit_code, 2);
  ASSERT_EQ(json.out.size(), 1u);
  EXPECT_EQ(json_get(json.out[0], "event"), "error");
}

TEST_F(DailyUseTest, InlineSecretNeedsAPrivateFile) {
  std::string text = "host = " + info().host() + "\nfingerprint = " + info().fingerprint +
                     "\ntoken_id = " + token_id() + "\ntoken_secret = " + token_secret() + "\n";
  config(text, 0644);
  auto shared = run_pvebridge({"list"}, env());
  EXPECT_EQ(shared.exit_code, 2);
  EXPECT_NE(shared.err.find("run chmod 600 " + config_path()), std::string::npos) << shared.err;
  EXPECT_EQ(shared.err.find(token_secret()), std::string::npos);
  config(text, 0600);
  auto private_file = run_pvebridge({"list"}, env());
  EXPECT_EQ(private_file.exit_code, 0) << private_file.err;
  config(text, 0620);
  auto writable = run_pvebridge({"list"}, env());
  EXPECT_EQ(writable.exit_code, 2);
  EXPECT_NE(writable.err.find("chmod go-w"), std::string::npos) << writable.err;
}

TEST_F(DailyUseTest, ListFiltersAndFormats) {
  config(token_profile("lab"));
  auto list = [&](std::vector<std::string> args) {
    std::vector<std::string> a = {"--profile", "lab", "list"};
    a.insert(a.end(), args.begin(), args.end());
    auto r = run_pvebridge(a, env());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return joined(r.out);
  };
  EXPECT_EQ(list({"--node", "pve1", "--type", "lxc", "--format", "vmid,name,node,type"}),
            "200\tct-web\tpve1\tlxc\n");
  EXPECT_EQ(list({"--tag", "web", "--format", "vmid,tags"}), "100\tprod,web\n200\tweb\n");
  EXPECT_EQ(list({"--pool", "production", "--status", "running", "--format", "vmid"}),
            "100\n200\n");
  EXPECT_EQ(list({"--status", "paused", "--format", "vmid,name,status"}),
            "105\tpaused-vm\tpaused\n");
  EXPECT_EQ(list({"--status", "template", "--format", "vmid,template"}), "9000\t1\n");
  EXPECT_EQ(list({"ct-*", "db?1", "--format", "vmid"}), "101\n200\n201\n");
  EXPECT_EQ(list({"nothing-matches*", "--format", "vmid"}), "");
  std::string table = list({"--type", "lxc"});
  EXPECT_EQ(table.rfind("NODE", 0), 0u) << table;
  EXPECT_NE(table.find("ct-web"), std::string::npos);
  EXPECT_EQ(table.find("web01"), std::string::npos);
  std::string json = list({"web*", "--json"});
  EXPECT_NE(json.find("\"vmid\":100"), std::string::npos) << json;
  EXPECT_EQ(json.find("\"vmid\":200"), std::string::npos) << json;

  // No match: no table (stdout is no terminal here), a note on stderr, exit 0.
  auto none = run_pvebridge({"--profile", "lab", "list", "nothing-matches*"}, env());
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(joined(none.out), "");
  EXPECT_NE(none.err.find("no guests match"), std::string::npos) << none.err;
  // --json: the lock and the template status, as the table shows them.
  std::string templates = list({"--status", "template", "--json"});
  EXPECT_NE(templates.find("\"status\":\"template\""), std::string::npos) << templates;

  auto bad = run_pvebridge({"--profile", "lab", "list", "--format", "vmid,ip"}, env());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown field 'ip'"), std::string::npos) << bad.err;
}

TEST_F(DailyUseTest, FilteredListKeepsEveryGuestInTheCompletionCache) {
  config(token_profile("lab"));
  auto full = run_pvebridge({"--profile", "lab", "list"}, env());
  ASSERT_EQ(full.exit_code, 0) << full.err;
  std::string everything = read_file(cache_path());
  ASSERT_FALSE(everything.empty());
  auto filtered = run_pvebridge({"--profile", "lab", "list", "web01"}, env());
  ASSERT_EQ(filtered.exit_code, 0) << filtered.err;
  EXPECT_EQ(filtered.out.size(), 2u) << "header and web01";
  EXPECT_EQ(read_file(cache_path()), everything);
  EXPECT_NE(everything.find("101\tdb01\tpve1\n"), std::string::npos) << everything;
  EXPECT_GE(std::count(everything.begin(), everything.end(), '\n'), 10);
}

}  // namespace
}  // namespace pvb::testing
