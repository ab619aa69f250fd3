// What a new user tripped over (issue 17), end to end: the real pvebridge against the real
// mock-pveproxy with test-viewer. VNC passwords with every awkward character, across the three
// server generations of vncproxy's generate-password; --start and paused guests said aloud; the
// viewer's own warnings kept off the terminal unless it fails; what --client-wait means; and the
// authentication hints.
#include <gtest/gtest.h>

#include "tests/integration/mock_fixture.h"

namespace pvb::testing {
namespace {

class NewUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-new-user");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) { return dir_->path() + "/" + name; }
  std::vector<std::string> args(const MockPveproxy& m, std::vector<std::string> extra) {
    std::vector<std::string> a = {"--host", m.info().host(), "--fingerprint", m.info().fingerprint};
    a.insert(a.begin(), extra.begin(), extra.end());
    return a;
  }
  std::map<std::string, std::string> token_env(const MockPveproxy& m,
                                               std::map<std::string, std::string> extra = {}) {
    extra["PVE_API_TOKEN"] = m.info().api_token;
    extra["PVB_TEST_VIEWER_OUT"] = path("viewer.json");
    return base_env(extra);
  }
  std::string report() { return read_file(path("viewer.json")); }

  std::optional<PrivateDir> dir_;
};

std::string event(const RunResult& r, const std::string& name) {
  for (const auto& l : r.out) {
    if (json_get(l, "event") == name) return l;
  }
  return "";
}

// --- the VNC password: '!'..'`', through the .vv (GKeyFile) and the viewer's VNC authentication

struct PasswordCase {
  const char* generation;
  const char* password;  // "" = the mock's own (the ticket, for the old generation)
  bool vv_stdin;
};

void PrintTo(const PasswordCase& c, std::ostream* os) {
  *os << c.generation << " '" << c.password << "'" << (c.vv_stdin ? " stdin" : " file");
}

class VncPasswordTest : public NewUserTest, public ::testing::WithParamInterface<PasswordCase> {};

TEST_P(VncPasswordTest, SurvivesTheVvFileAndTheViewer) {
  const PasswordCase& c = GetParam();
  std::vector<std::string> flags = {"--generation", c.generation};
  if (*c.password) flags.insert(flags.end(), {"--vnc-password", c.password});
  MockPveproxy m(flags);
  ASSERT_TRUE(m.ok());
  std::vector<std::string> extra = {"connect", "web01", "--json", "--viewer", test_viewer_path()};
  if (c.vv_stdin) extra.push_back("--vv-stdin");
  for (bool ticket_login : {false, true}) {
    SCOPED_TRACE(ticket_login ? "ticket login" : "API token");
    auto env = ticket_login ? base_env({{"PVE_PASSWORD", m.info().password},
                                        {"PVB_TEST_VIEWER_OUT", path("viewer.json")}})
                            : token_env(m);
    std::vector<std::string> a = args(m, extra);
    if (ticket_login) a.insert(a.end(), {"--user", m.info().user});
    auto r = run_pvebridge(a, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // test-viewer read the password with GLib and passed the guest's VNC authentication with it.
    EXPECT_EQ(json_get(report(), "name"), "web01") << report();
    EXPECT_FALSE(json_get(report(), "error")) << report();
  }
}

INSTANTIATE_TEST_SUITE_P(Generations, VncPasswordTest,
                         ::testing::Values(PasswordCase{"middle", "\\\"':=&#%", false},
                                           PasswordCase{"middle", "?`\\:\\=\"'", true},
                                           PasswordCase{"new", "\\\"':=&#%", true},
                                           PasswordCase{"new", "?`#%&=:\\", false},
                                           PasswordCase{"old", "", false},
                                           PasswordCase{"new", "", false}),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

// --- --start and paused guests ------------------------------------------------------------------

TEST_F(NewUserTest, StartingAGuestIsSaid) {
  MockPveproxy m({"--start-delay-ms", "200"});
  ASSERT_TRUE(m.ok());
  auto human = run_pvebridge(
      args(m, {"connect", "db01", "--start", "--viewer", test_viewer_path()}), token_env(m));
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.err.find("pvebridge: starting db01 (101) on pve1\u2026\n"), std::string::npos)
      << human.err;

  auto json = run_pvebridge(
      args(m, {"connect", "paused-vm", "--start", "--json", "--viewer", test_viewer_path()}),
      token_env(m));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::string starting = event(json, "starting");
  EXPECT_EQ(json_get(starting, "action"), "resume") << starting;
  EXPECT_EQ(json_path(starting, "guest.name"), "paused-vm") << starting;
  EXPECT_EQ(json_path(starting, "guest.vmid"), "105") << starting;
}

TEST_F(NewUserTest, APausedGuestWithoutStartIsSaid) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto human = run_pvebridge(args(m, {"connect", "paused-vm", "--viewer", test_viewer_path()}),
                             token_env(m));
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.err.find("warning: paused-vm (105) on pve1 is paused: its console shows a frozen "
                           "screen (add --start to resume it)"),
            std::string::npos)
      << human.err;
  auto json = run_pvebridge(
      args(m, {"connect", "paused-vm", "--json", "--viewer", test_viewer_path()}), token_env(m));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json_get(event(json, "warning"), "code"), "guest_paused") << event(json, "warning");
}

// --- the viewer's standard error ----------------------------------------------------------------

TEST_F(NewUserTest, TheViewersWarningsShowOnlyWhenItFails) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  const std::string warning = "(remote-viewer:4242): Gtk-WARNING **: cannot open display: :0";
  auto fine = run_pvebridge(args(m, {"connect", "web01", "--viewer", test_viewer_path(),
                                     "--viewer-arg", "--warn", "--viewer-arg", warning}),
                            token_env(m));
  ASSERT_EQ(fine.exit_code, 0) << fine.err;
  EXPECT_EQ(fine.err.find("Gtk-WARNING"), std::string::npos) << fine.err;

  auto failed = run_pvebridge(
      args(m, {"connect", "web01", "--viewer", test_viewer_path(), "--viewer-arg", "--warn",
               "--viewer-arg", warning, "--viewer-arg", "--exit-code", "--viewer-arg", "3"}),
      token_env(m));
  EXPECT_EQ(failed.exit_code, 9) << failed.err;
  EXPECT_NE(failed.err.find("viewer exited with code 3; its last messages:\n  " + warning + "\n"),
            std::string::npos)
      << failed.err;

  auto verbose =
      run_pvebridge(args(m, {"connect", "web01", "--verbose", "--viewer", test_viewer_path(),
                             "--viewer-arg", "--warn", "--viewer-arg", warning}),
                    token_env(m));
  ASSERT_EQ(verbose.exit_code, 0) << verbose.err;
  EXPECT_NE(verbose.err.find("viewer: " + warning), std::string::npos) << verbose.err;
}

// --- --client-wait ------------------------------------------------------------------------------

TEST_F(NewUserTest, ClientWaitSaysWhatHappened) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"connect", "web01", "--no-viewer", "--client-wait", "1"}),
                         token_env(m));
  EXPECT_EQ(r.exit_code, 10) << r.err;
  EXPECT_NE(r.err.find("error: no local client connected within 1 s (the --client-wait limit)\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("expired"), std::string::npos) << "the password had 29 s left: " << r.err;
}

// --- the wrong server ---------------------------------------------------------------------------

TEST_F(NewUserTest, AnotherHttpsServerIsNoProxmox) {
  MockPveproxy m({"--fault", "not_proxmox"});
  ASSERT_TRUE(m.ok());
  auto token = run_pvebridge(args(m, {"list"}), token_env(m));
  EXPECT_EQ(token.exit_code, 7) << token.err;
  EXPECT_NE(token.err.find("error: " + m.info().host() +
                           " is not a Proxmox VE API (GET /version: 404 File not found)"),
            std::string::npos)
      << token.err;
  auto login =
      run_pvebridge(args(m, {"list", "--user", "root@pam"}), base_env({{"PVE_PASSWORD", "x"}}));
  EXPECT_EQ(login.exit_code, 7) << login.err;
  EXPECT_NE(login.err.find(" is not a Proxmox VE API (POST /access/ticket: 404 File not found)"),
            std::string::npos)
      << login.err;
}

// --- authentication hints -----------------------------------------------------------------------

TEST_F(NewUserTest, AuthenticationFailuresSayWhatToCheck) {
  MockPveproxy m({"--auth-fail-delay-ms", "0"});
  ASSERT_TRUE(m.ok());
  auto realm = run_pvebridge(args(m, {"list", "--user", "alice"}),
                             base_env({{"PVE_PASSWORD", "alice-password"}}));
  EXPECT_EQ(realm.exit_code, 3) << realm.err;
  EXPECT_NE(realm.err.find("login as alice@pam failed"), std::string::npos) << realm.err;
  EXPECT_NE(realm.err.find("the realm defaulted to @pam"), std::string::npos) << realm.err;
  EXPECT_NE(realm.err.find("alice@pve"), std::string::npos) << realm.err;

  std::string token = m.info().api_token;
  token = token.substr(0, token.find('=') + 1) + "11111111-2222-3333-4444-555555555555";
  auto secret = run_pvebridge(args(m, {"list"}), base_env({{"PVE_API_TOKEN", token}}));
  EXPECT_EQ(secret.exit_code, 3) << secret.err;
  EXPECT_NE(secret.err.find("rejected (wrong secret, or the token was removed)"), std::string::npos)
      << secret.err;
  EXPECT_EQ(secret.err.find("11111111"), std::string::npos) << secret.err;
}

}  // namespace
}  // namespace pvb::testing
