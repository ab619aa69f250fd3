// End to end: the real pvebridge program against the real mock-pveproxy program, with test-viewer
// standing in for remote-viewer (it reads the .vv with GLib and speaks RFB through the bridge).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <ctime>

#include "tests/integration/mock_fixture.h"
#include "tests/mock_pveproxy/totp.h"

namespace pvb::testing {
namespace {

class ConnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-e2e");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) { return dir_->path() + "/" + name; }

  // Token auth, pinned to the mock's certificate.
  std::vector<std::string> args(const MockPveproxy& m, std::vector<std::string> extra) {
    std::vector<std::string> a = {"--host", m.info().host(), "--fingerprint", m.info().fingerprint};
    a.insert(a.begin(), extra.begin(), extra.end());
    return a;
  }
  std::map<std::string, std::string> token_env(const MockPveproxy& m,
                                               std::map<std::string, std::string> extra = {}) {
    extra["PVE_API_TOKEN"] = m.info().api_token;
    return base_env(extra);
  }
  // The viewer report written by test-viewer.
  std::string report() { return read_file(path("viewer.json")); }
  std::vector<std::string> viewer_args() { return {"--viewer", test_viewer_path()}; }

  std::optional<PrivateDir> dir_;
};

std::string event(const RunResult& r, const std::string& name) {
  for (const auto& l : r.out) {
    if (json_get(l, "event") == name) return l;
  }
  return "";
}

TEST_F(ConnectTest, ListShowsGuestsAsTableAndJson) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto table = run_pvebridge(args(m, {"list"}), token_env(m));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  ASSERT_FALSE(table.out.empty());
  EXPECT_NE(table.out[0].find("NODE"), std::string::npos);
  std::string all;
  for (auto& l : table.out) all += l + "\n";
  EXPECT_NE(all.find("web01"), std::string::npos);
  EXPECT_NE(all.find("überwachung"), std::string::npos);
  auto json = run_pvebridge(args(m, {"list", "--json"}), token_env(m));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_EQ(json.out.size(), 1u);
  EXPECT_EQ(json.out[0].front(), '[');
  EXPECT_NE(json.out[0].find(R"("vmid":100)"), std::string::npos);
  EXPECT_NE(json.out[0].find(R"("template":true)"), std::string::npos);
}

TEST_F(ConnectTest, ViewerConnectsThroughTheBridgeAndExitZero) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto env = token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}, {"PVE_PASSWORD", "nope"}});
  auto r = run_pvebridge(args(m, {"connect", "web01", "--json", "--viewer", test_viewer_path(),
                                  "--viewer-arg", "--keys", "--viewer-arg", "3"}),
                         env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string rep = report();
  EXPECT_EQ(json_get(rep, "name"), "web01") << rep;
  EXPECT_EQ(json_get(rep, "nonblank"), "true") << rep;
  EXPECT_EQ(json_get(rep, "vv_mode"), "384") << rep;  // 0600
  EXPECT_EQ(json_get(rep, "env_has_pve"), "false") << rep;
  EXPECT_EQ(json_get(rep, "type"), "vnc");
  // The viewer's command line carries no secret: only flags and the .vv path.
  auto argv = json_get(rep, "argv").value_or("");
  EXPECT_NE(argv.find(".vv"), std::string::npos) << argv;
  std::string listening = event(r, "listening");
  ASSERT_FALSE(listening.empty());
  EXPECT_EQ(json_get(listening, "address"), "127.0.0.1");
  EXPECT_EQ(json_path(listening, "guest.vmid"), "100");
  EXPECT_EQ(json_path(listening, "guest.type"), "qemu");
  std::string vv = json_get(listening, "vv_file").value_or("");
  EXPECT_FALSE(vv.empty());
  EXPECT_FALSE(file_exists(vv)) << "the .vv must be removed at the end";
  std::string closed = event(r, "closed");
  EXPECT_EQ(json_get(closed, "reason"), "viewer_exited");
  EXPECT_GT(std::stoll(json_get(closed, "bytes_from_guest").value_or("0")), 640 * 480);
  EXPECT_GT(std::stoll(json_get(closed, "bytes_to_guest").value_or("0")), 3 * 16);
  EXPECT_FALSE(event(r, "client_connected").empty());
  EXPECT_EQ(json_get(event(r, "viewer_exited"), "code"), "0");
  for (const auto& l : r.out) EXPECT_EQ(l.find(m.info().api_token), std::string::npos);
  EXPECT_EQ(r.err.find(m.info().api_token), std::string::npos);
}

TEST_F(ConnectTest, VvOnStdinNeverTouchesDisk) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto env = token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  auto r = run_pvebridge(
      args(m, {"connect", "100", "--json", "--vv-stdin", "--viewer", test_viewer_path()}), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_get(report(), "name"), "web01") << report();
  EXPECT_EQ(json_get(report(), "vv_mode"), "-1");
  EXPECT_EQ(json_get(event(r, "listening"), "vv_file"), "null");
}

TEST_F(ConnectTest, FailingViewerExitsNine) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto env = token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  auto r = run_pvebridge(args(m, {"connect", "web01", "--viewer", test_viewer_path(),
                                  "--viewer-arg", "--exit-code", "--viewer-arg", "3"}),
                         env);
  EXPECT_EQ(r.exit_code, 9) << r.err;
}

TEST_F(ConnectTest, MissingViewerNamesThePackage) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"connect", "web01", "--viewer", "/nonexistent/remote-viewer"}),
                         token_env(m));
  EXPECT_EQ(r.exit_code, 9);
  EXPECT_NE(r.err.find("virt-viewer"), std::string::npos) << r.err;
}

TEST_F(ConnectTest, NoViewerServesOneClientThenExitsZero) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto p = start_pvebridge(args(m, {"connect", "pve1/100", "--json", "--no-viewer"}), token_env(m));
  auto listening = p->wait_for_line("\"listening\"", 20000);
  ASSERT_TRUE(listening) << p->stderr_text();
  std::string vv = json_get(*listening, "vv_file").value_or("");
  ASSERT_TRUE(file_exists(vv));
  struct stat st;
  ASSERT_EQ(stat(vv.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string dir = vv.substr(0, vv.rfind('/'));
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::string text = read_file(vv);
  EXPECT_NE(text.find("[virt-viewer]"), std::string::npos);
  EXPECT_NE(text.find("type=vnc"), std::string::npos);
  EXPECT_NE(text.find("host=127.0.0.1"), std::string::npos);
  EXPECT_NE(text.find("port=" + json_get(*listening, "port").value_or("?")), std::string::npos);
  EXPECT_NE(text.find("delete-this-file=1"), std::string::npos);
  EXPECT_NE(text.find("title=web01 (100)"), std::string::npos);
  // The test client reads the .vv itself (as a script would hand it to any viewer).
  ChildProcess viewer({test_viewer_path(), vv},
                      base_env({{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  EXPECT_EQ(viewer.wait(20000), 0);
  EXPECT_EQ(json_get(report(), "name"), "web01") << report();
  auto code = p->wait(20000);
  EXPECT_EQ(code, 0) << p->stderr_text();
  EXPECT_FALSE(file_exists(vv));
  EXPECT_FALSE(file_exists(dir));
  bool saw_closed = false;
  for (auto& l : p->stdout_lines()) {
    if (json_get(l, "event") == "closed") {
      saw_closed = true;
      EXPECT_EQ(json_get(l, "reason"), "client_closed");
    }
  }
  EXPECT_TRUE(saw_closed);
}

TEST_F(ConnectTest, SecondLocalClientIsRefused) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto p = start_pvebridge(args(m, {"connect", "web01", "--json", "--no-viewer"}), token_env(m));
  auto listening = p->wait_for_line("\"listening\"", 20000);
  ASSERT_TRUE(listening) << p->stderr_text();
  std::string vv = json_get(*listening, "vv_file").value_or("");
  ChildProcess first({test_viewer_path(), "--hold", vv},
                     base_env({{"PVB_TEST_VIEWER_OUT", path("first.json")}}));
  ASSERT_TRUE(p->wait_for_line("client_connected", 20000));
  ChildProcess second({test_viewer_path(), vv},
                      base_env({{"PVB_TEST_VIEWER_OUT", path("second.json")}}));
  EXPECT_EQ(second.wait(20000), 0);
  std::string rep = read_file(path("second.json"));
  EXPECT_TRUE(json_get(rep, "error").has_value()) << rep;  // no screen for the intruder
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(20000), 143);
  EXPECT_FALSE(file_exists(vv));
}

TEST_F(ConnectTest, SigintTearsDownAndRemovesVv) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto p = start_pvebridge(args(m, {"connect", "web01", "--json", "--no-viewer"}), token_env(m));
  auto listening = p->wait_for_line("\"listening\"", 20000);
  ASSERT_TRUE(listening);
  std::string vv = json_get(*listening, "vv_file").value_or("");
  EXPECT_TRUE(file_exists(vv));
  p->signal(SIGINT);
  EXPECT_EQ(p->wait(20000), 130);
  EXPECT_FALSE(file_exists(vv));
  bool interrupted = false;
  for (auto& l : p->stdout_lines()) interrupted |= json_get(l, "reason") == "interrupted";
  EXPECT_TRUE(interrupted);
}

TEST_F(ConnectTest, NoClientInTimeExitsTen) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(
      args(m, {"connect", "web01", "--json", "--no-viewer", "--client-wait", "1"}), token_env(m));
  EXPECT_EQ(r.exit_code, 10) << r.err;
  EXPECT_EQ(json_get(event(r, "error"), "code"), "no_client");
  std::string vv = json_get(event(r, "listening"), "vv_file").value_or("");
  EXPECT_FALSE(vv.empty());
  EXPECT_FALSE(file_exists(vv));
}

TEST_F(ConnectTest, VvFileAtUserPath) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  std::string vv = path("mine.vv");
  auto env = token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  auto r = run_pvebridge(
      args(m, {"connect", "web01", "--vv-file", vv, "--viewer", test_viewer_path()}), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_get(report(), "vv_mode"), "384");
  EXPECT_FALSE(file_exists(vv));
  // An existing file is refused, and left alone.
  ASSERT_TRUE(write_new_private_file(vv, "keep me").ok());
  auto again = run_pvebridge(
      args(m, {"connect", "web01", "--vv-file", vv, "--viewer", test_viewer_path()}), env);
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_EQ(read_file(vv), "keep me");
}

TEST_F(ConnectTest, TicketLoginWithPassword) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto env =
      base_env({{"PVE_PASSWORD", m.info().password}, {"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  auto r = run_pvebridge(
      args(m, {"connect", "web01", "--user", m.info().user, "--viewer", test_viewer_path()}), env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_get(report(), "name"), "web01");
  EXPECT_EQ(json_get(report(), "env_has_pve"), "false");
}

TEST_F(ConnectTest, WrongPasswordExitsThree) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"list", "--user", "root@pam"}),
                         base_env({{"PVE_PASSWORD", "Zq9-not-the-pw"}}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("authentication failure"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Zq9-not-the-pw"), std::string::npos) << "the password must never show";
}

TEST_F(ConnectTest, TotpTwoFactor) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto key = mock::base32_decode(m.info().totp_secret);
  ASSERT_TRUE(key.has_value());
  std::string code = mock::totp_code(*key, std::time(nullptr));
  auto ok = run_pvebridge(args(m, {"list", "--user", m.info().totp_user}),
                          base_env({{"PVE_PASSWORD", "totp-password"}, {"PVE_OTP", code}}));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto missing = run_pvebridge(args(m, {"list", "--user", m.info().totp_user}),
                               base_env({{"PVE_PASSWORD", "totp-password"}}));
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("--otp"), std::string::npos) << missing.err;
  auto wrong = run_pvebridge(args(m, {"list", "--user", m.info().totp_user, "--otp", "000000"}),
                             base_env({{"PVE_PASSWORD", "totp-password"}}));
  EXPECT_EQ(wrong.exit_code, 3) << wrong.err;
}

TEST_F(ConnectTest, GuestLookupErrors) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto amb = run_pvebridge(args(m, {"connect", "twin", "--no-viewer"}), token_env(m));
  EXPECT_EQ(amb.exit_code, 5);
  EXPECT_NE(amb.err.find("pve2/106 qemu running"), std::string::npos) << amb.err;
  EXPECT_NE(amb.err.find("pve3/107 lxc stopped"), std::string::npos) << amb.err;
  auto tmpl = run_pvebridge(args(m, {"connect", "9000", "--no-viewer"}), token_env(m));
  EXPECT_EQ(tmpl.exit_code, 5);
  EXPECT_NE(tmpl.err.find("template"), std::string::npos);
  auto none = run_pvebridge(args(m, {"connect", "nosuch", "--no-viewer", "--json"}), token_env(m));
  EXPECT_EQ(none.exit_code, 5);
  EXPECT_EQ(json_get(event(none, "error"), "code"), "guest_not_found");
}

TEST_F(ConnectTest, StoppedGuestNeedsStart) {
  MockPveproxy m({"--start-delay-ms", "200"});
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"connect", "db01", "--no-viewer"}), token_env(m));
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("--start"), std::string::npos) << r.err;
  auto env = token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  auto s =
      run_pvebridge(args(m, {"connect", "db01", "--start", "--viewer", test_viewer_path()}), env);
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(json_get(report(), "name"), "db01") << report();
}

TEST_F(ConnectTest, ContainerConsole) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto env = token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  auto r = run_pvebridge(args(m, {"connect", "ct-web", "--viewer", test_viewer_path()}), env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_get(report(), "name"), "ct-web") << report();
}

TEST_F(ConnectTest, FailsOverToTheNextHost) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(
      {"list", "--host", "127.0.0.1:1," + m.info().host(), "--fingerprint", m.info().fingerprint},
      token_env(m));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto none = run_pvebridge(
      {"list", "--host", "127.0.0.1:1,127.0.0.1:2", "--fingerprint", m.info().fingerprint},
      token_env(m));
  EXPECT_EQ(none.exit_code, 7) << none.err;
  EXPECT_NE(none.err.find("no host answered"), std::string::npos) << none.err;
}

TEST_F(ConnectTest, TlsVerification) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  const std::string wrong = m.info().other_fingerprint();
  auto pin =
      run_pvebridge({"list", "--host", m.info().host(), "--fingerprint", wrong}, token_env(m));
  EXPECT_EQ(pin.exit_code, 4) << pin.err;
  EXPECT_NE(pin.err.find(m.info().fingerprint), std::string::npos) << pin.err;
  auto ca = run_pvebridge({"list", "--host", m.info().host(), "--ca-file", m.info().ca_file},
                          token_env(m));
  EXPECT_EQ(ca.exit_code, 0) << ca.err;
  auto system = run_pvebridge({"list", "--host", m.info().host()}, token_env(m));
  EXPECT_EQ(system.exit_code, 4) << system.err;
  auto insecure = run_pvebridge({"list", "--host", m.info().host(), "--insecure"}, token_env(m));
  EXPECT_EQ(insecure.exit_code, 0) << insecure.err;
  EXPECT_NE(insecure.err.find("warning"), std::string::npos);
}

TEST_F(ConnectTest, WebsocketDroppedMidSession) {
  MockPveproxy m({"--fault", "drop_ws_after=100000"});
  ASSERT_TRUE(m.ok());
  auto env = token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  // The loss as such, without a reconnect (reconnect_test.cc covers those): the mock drops
  // every console.
  auto r = run_pvebridge(args(m, {"connect", "web01", "--json", "--reconnect", "0", "--viewer",
                                  test_viewer_path(), "--viewer-arg", "--hold"}),
                         env);
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_EQ(json_get(event(r, "closed"), "reason"), "server_closed");
}

TEST_F(ConnectTest, VerboseOutputCarriesNoSecret) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto env =
      base_env({{"PVE_PASSWORD", m.info().password}, {"PVB_TEST_VIEWER_OUT", path("viewer.json")}});
  auto r = run_pvebridge(args(m, {"connect", "web01", "--verbose", "--json", "--user",
                                  m.info().user, "--viewer", test_viewer_path()}),
                         env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("vncproxy"), std::string::npos) << "verbose shows the protocol steps";
  std::string all = r.err;
  for (auto& l : r.out) all += l + "\n";
  EXPECT_EQ(all.find(m.info().password), std::string::npos);
  EXPECT_EQ(all.find("PVE:"), std::string::npos) << "an API ticket leaked";
  EXPECT_EQ(all.find("PVEVNC:"), std::string::npos) << "a VNC ticket leaked";
  EXPECT_EQ(all.find("CSRFPreventionToken:"), std::string::npos);
  auto tok = run_pvebridge(args(m, {"list", "--verbose"}), token_env(m));
  ASSERT_EQ(tok.exit_code, 0) << tok.err;
  std::string secret = m.info().api_token.substr(m.info().api_token.find('=') + 1);
  EXPECT_EQ(tok.err.find(secret), std::string::npos);
  for (auto& l : tok.out) EXPECT_EQ(l.find(secret), std::string::npos);
}

}  // namespace
}  // namespace pvb::testing
