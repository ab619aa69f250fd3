// End to end, the bridge that terminates RFB on both sides (issue 13), against independent VNC
// clients: pvb-vnc-check (libvncclient, the library of Remmina and vncsnapshot) comparing its
// framebuffer pixel for pixel with the fake VM's screen (the mock freezes it and dumps it on
// SIGUSR1), vncsnapshot (its own RFB 3.3 and DES), and a real QEMU behind `mock-pveproxy --qemu`.
// Also the local one-time password (a wrong one is refused, the session survives), `serve` with
// two clients at once, and secret hygiene: the node's ticket and password (the mock hands out a
// fixed one, so it can be looked for) appear in no .vv and no output; the local password only
// with --show-password.
//
// Each test skips when its peer program is not installed (libvncserver-dev at build time for
// pvb-vnc-check, vncsnapshot, qemu-system-x86).
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "engine/core/platform.h"
#include "tests/integration/mock_fixture.h"
#include "tests/integration/qemu_jpeg.h"
#include "tests/integration/rfb_peers.h"

namespace pvb::testing {
namespace {

// The node's VNC password for every console (mock-pveproxy --vnc-password).
constexpr char kNodePassword[] = "NODE-PW7";

class RfbBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-rfb-e2e");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) { return dir_->path() + "/" + name; }
  void require(const std::string& program, const char* package) {
    if (program.empty() || find_executable(program).empty()) {
      GTEST_SKIP() << program << " is not installed (Debian: " << package << ")";
    }
  }
  void require_vnc_check() {
    if (vnc_check_path().empty()) GTEST_SKIP() << "pvb-vnc-check not built (libvncserver-dev)";
  }

  // A mock whose fake VM screens stand still at tick 3 and are dumped into dir on SIGUSR1.
  std::unique_ptr<MockPveproxy> frozen_mock(std::vector<std::string> more = {}) {
    std::vector<std::string> flags = {"--vnc-password",      kNodePassword,
                                      "--fake-vm-freeze-at", "3",
                                      "--fake-vm-dump-dir",  dir_->path()};
    flags.insert(flags.end(), more.begin(), more.end());
    return std::make_unique<MockPveproxy>(flags);
  }
  // The fake VM's screen of guest 100 as it is now, as a PPM path (asks the mock to dump it).
  std::string dump_screen(MockPveproxy& m) {
    const std::string ppm = path("100.ppm");
    std::remove(ppm.c_str());
    m.process().signal(SIGUSR1);
    EXPECT_TRUE(wait_until([&] { return file_exists(ppm); })) << "the mock wrote no screen";
    return ppm;
  }

  std::vector<std::string> args(const MockPveproxy& m, std::vector<std::string> extra) {
    std::vector<std::string> a = {"--host", m.info().host(), "--fingerprint", m.info().fingerprint};
    a.insert(a.begin(), extra.begin(), extra.end());
    return a;
  }
  std::map<std::string, std::string> token_env(const MockPveproxy& m) {
    return base_env({{"PVE_API_TOKEN", m.info().api_token}});
  }

  // A pvebridge that listens (connect --no-viewer, or serve), and what its listening event said.
  struct Bridge {
    std::unique_ptr<ChildProcess> process;
    std::string listening;
    int port = 0;
    std::string vv_file;
    std::string vv_text;
    std::string password;  // from the .vv, as a viewer reads it
  };
  Bridge start_bridge(const MockPveproxy& m, std::vector<std::string> command) {
    Bridge b;
    b.process = start_pvebridge(args(m, command), token_env(m));
    auto listening = b.process->wait_for_line("\"listening\"", kPeerWaitMs);
    if (!listening) {
      ADD_FAILURE() << "pvebridge did not listen: " << b.process->stderr_text();
      return b;
    }
    b.listening = *listening;
    b.port = std::stoi(json_get(*listening, "port").value_or("0"));
    b.vv_file = json_get(*listening, "vv_file").value_or("");
    b.vv_text = read_file(b.vv_file);
    b.password = vv_value(b.vv_text, "password");
    return b;
  }
  // Reads the bridge's output until `count` events named `name` have come.
  bool await_events(Bridge& b, const std::string& name, size_t count) {
    return wait_until([&] {
      b.process->read_line(20);
      return event_lines(b.process->stdout_lines(), name).size() >= count;
    });
  }

  std::optional<PrivateDir> dir_;
};

// --- libvncclient, exact pictures ---

TEST_F(RfbBridgeTest, LibvncclientSeesTheVmsExactScreenThroughTheSpliceInEveryEncoding) {
  require_vnc_check();
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  Bridge b = start_bridge(*m, {"serve", "web01", "--json"});
  ASSERT_NE(b.port, 0);
  ASSERT_EQ(b.password.size(), 8u);
  std::string err;
  // The first client makes the guest's screen exist in the mock; then it is dumped.
  ASSERT_EQ(run_vnc_check(path(""), b.port, b.password, {"--encodings", "raw"}, &err), 0) << err;
  const std::string screen = dump_screen(*m);
  // Each of the encodings the splice delimits, lossless (no --quality: no JPEG), pixel-exact.
  for (const char* enc : {"tight", "zrle", "hextile", "zlib", "raw", "tight zrle hextile"}) {
    EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password,
                            {"--encodings", enc, "--expect", screen}, &err),
              0)
        << enc << ": " << err;
  }
  // 16 bpp changes the pixel format the delimiter measures with.
  EXPECT_EQ(
      run_vnc_check(dir_->path(), b.port, b.password,
                    {"--encodings", "tight zrle hextile", "--bpp", "16", "--expect", screen}, &err),
      0)
      << err;
  // JPEG (Tight's lossy path) within a tolerance.
  EXPECT_EQ(
      run_vnc_check(
          dir_->path(), b.port, b.password,
          {"--encodings", "tight", "--quality", "8", "--expect", screen, "--tolerance", "8"}, &err),
      0)
      << err;
  b.process->signal(SIGTERM);
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 143) << b.process->stderr_text();
  EXPECT_EQ(event_lines(b.process->stdout_lines(), "client_connected").size(), 9u);
  EXPECT_TRUE(event_lines(b.process->stdout_lines(), "local_auth_failed").empty());
  EXPECT_FALSE(file_exists(b.vv_file)) << "serve removes its .vv at exit";
}

// --- the local password ---

TEST_F(RfbBridgeTest, AWrongLocalPasswordIsRefusedAndTheViewerStillGetsIn) {
  require_vnc_check();
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  Bridge b = start_bridge(*m, {"connect", "web01", "--json", "--no-viewer"});
  ASSERT_NE(b.port, 0);
  ASSERT_EQ(b.password.size(), 8u);
  EXPECT_EQ(json_get(b.listening, "local_auth"), "vnc_password");
  EXPECT_FALSE(json_get(b.listening, "password").has_value()) << b.listening;
  std::string wrong = b.password;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  std::string err;
  EXPECT_EQ(run_vnc_check(dir_->path(), b.port, wrong, {}, &err), 4) << err;  // 4: auth failed
  ASSERT_TRUE(await_events(b, "local_auth_failed", 1)) << b.process->stderr_text();
  const std::string failed = event_line(b.process->stdout_lines(), "local_auth_failed");
  EXPECT_EQ(json_get(failed, "session"), "1") << failed;
  EXPECT_TRUE(json_get(failed, "client").has_value()) << failed;
  EXPECT_FALSE(b.process->wait(100).has_value()) << "the session survives a wrong password";

  const std::string screen = dump_screen(*m);
  EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {"--expect", screen}, &err), 0) << err;
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 0) << b.process->stderr_text();
  EXPECT_EQ(json_get(event_line(b.process->stdout_lines(), "closed"), "reason"), "client_closed");
  EXPECT_EQ(event_lines(b.process->stdout_lines(), "client_connected").size(), 1u);
}

TEST_F(RfbBridgeTest, LocalAuthNoneNeedsNoPassword) {
  require_vnc_check();
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  Bridge b = start_bridge(*m, {"serve", "web01", "--json", "--local-auth", "none"});
  ASSERT_NE(b.port, 0);
  EXPECT_EQ(json_get(b.listening, "local_auth"), "none");
  EXPECT_EQ(b.password, "");
  // libvncclient with no password file at all: security type None must be offered.
  ChildProcess check({vnc_check_path(), "127.0.0.1:" + std::to_string(b.port)}, base_env(),
                     /*pipe_stdin=*/false);
  EXPECT_EQ(check.wait(kPeerWaitMs), 0) << check.stderr_text();
  b.process->signal(SIGINT);
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 130);
}

// --- a viewer that comes back ---

TEST_F(RfbBridgeTest, AViewerThatReconnectsWhileItsProcessRunsIsServedAgainWithAFreshUpstream) {
  require_vnc_check();
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  // The "viewer" pvebridge launches is a shell that sleeps (the .vv path, appended last, is its
  // $0's first argument); the test's libvncclient connects in its place, twice.
  Bridge b = start_bridge(
      *m, {"connect", "web01", "--json", "--verbose", "--viewer", "/bin/sh", "--viewer-arg", "-c",
           "--viewer-arg", "exec sleep 30", "--viewer-arg", "sh"});
  ASSERT_NE(b.port, 0);
  std::string err;
  ASSERT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {}, &err), 0) << err;
  const std::string screen = dump_screen(*m);
  ASSERT_TRUE(await_events(b, "client_closed", 1)) << b.process->stderr_text();
  EXPECT_FALSE(b.process->wait(100).has_value()) << "the viewer still runs: the bridge waits";
  EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {"--expect", screen}, &err), 0) << err;
  ASSERT_TRUE(await_events(b, "client_closed", 2)) << b.process->stderr_text();
  b.process->signal(SIGTERM);
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 143) << b.process->stderr_text();
  EXPECT_EQ(event_lines(b.process->stdout_lines(), "client_connected").size(), 2u);
  const std::string& log = b.process->stderr_text();
  size_t upstreams = 0;
  for (size_t at = 0; (at = log.find("opening the console WebSocket", at)) != std::string::npos;
       ++at) {
    ++upstreams;
  }
  EXPECT_EQ(upstreams, 2u) << "the reconnect has an upstream (a ticket) of its own\n" << log;
  EXPECT_FALSE(file_exists(b.vv_file));
}

// --- serve ---

TEST_F(RfbBridgeTest, ServeGivesASecondViewerOfTheSameGuestItsOwnSessionAtTheSameTime) {
  require_vnc_check();
  require("vncsnapshot", "vncsnapshot");
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  Bridge b = start_bridge(*m, {"serve", "web01", "--json", "--verbose"});
  ASSERT_NE(b.port, 0);
  EXPECT_EQ(json_get(b.listening, "url"), "vnc://127.0.0.1:" + std::to_string(b.port) + "/");
  std::string err;
  ASSERT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {}, &err), 0) << err;
  const std::string screen = dump_screen(*m);

  // A libvncclient viewer that stays (until we end it), and while it is connected a second one
  // (vncsnapshot) and a third (libvncclient again) of the same guest.
  auto first = start_vnc_check(dir_->path(), b.port, b.password,
                               {"--seconds", "25", "--out", path("first.ppm")});
  ASSERT_TRUE(await_events(b, "client_connected", 2)) << b.process->stderr_text();
  ASSERT_TRUE(wait_for_stderr(*first, "pvb-vnc-check: connected")) << first->stderr_text();
  EXPECT_EQ(run_vncsnapshot(dir_->path(), b.port, b.password, path("second.jpg"), &err), 0) << err;
  EXPECT_TRUE(file_exists(path("second.jpg")));
  EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {"--expect", screen}, &err), 0) << err;
  // The first still has the guest's screen: it writes what it shows on SIGUSR1.
  first->signal(SIGUSR1);
  ASSERT_TRUE(wait_until([&] { return file_exists(path("first.ppm")); })) << first->stderr_text();
  const size_t pixels = 640 * 480 * 3;
  std::string shown = read_file(path("first.ppm")), expected = read_file(screen);
  ASSERT_GE(shown.size(), pixels);
  ASSERT_GE(expected.size(), pixels);
  EXPECT_TRUE(shown.substr(shown.size() - pixels) == expected.substr(expected.size() - pixels))
      << "the first viewer's picture differs from the VM's screen";
  first->signal(SIGTERM);
  first->wait(kPeerWaitMs);
  // The first viewer's client_closed comes after the other two connected: they overlapped.
  ASSERT_TRUE(await_events(b, "client_closed", 4)) << b.process->stderr_text();
  {
    const auto& lines = b.process->stdout_lines();
    int connected_before_first_closed = 0;
    for (const auto& l : lines) {
      if (json_get(l, "event") == "client_connected") ++connected_before_first_closed;
      if (json_get(l, "event") == "client_closed" && json_get(l, "client") == "2") break;
    }
    EXPECT_EQ(connected_before_first_closed, 4) << "clients 3 and 4 came while 2 was connected";
  }

  b.process->signal(SIGTERM);
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 143) << b.process->stderr_text();
  auto connected = event_lines(b.process->stdout_lines(), "client_connected");
  auto closed = event_lines(b.process->stdout_lines(), "client_closed");
  ASSERT_EQ(connected.size(), 4u);
  EXPECT_EQ(closed.size(), 4u);
  std::set<std::string> ids;
  for (const auto& l : connected) ids.insert(json_get(l, "client").value_or(""));
  EXPECT_EQ(ids.size(), 4u) << "each connection has its own id";
  // Every client got its own upstream: one console WebSocket (after its own vncproxy) each.
  const std::string& log = b.process->stderr_text();
  size_t upstreams = 0;
  for (size_t at = 0; (at = log.find("opening the console WebSocket", at)) != std::string::npos;
       ++at) {
    ++upstreams;
  }
  EXPECT_EQ(upstreams, 4u) << log;
  EXPECT_FALSE(file_exists(b.vv_file));
}

TEST_F(RfbBridgeTest, ServeGivesEachGuestItsOwnEndpointPasswordAndVv) {
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  auto p = start_pvebridge(args(*m, {"serve", "web01", "überwachung", "--json"}), token_env(*m));
  std::vector<std::string> listening;
  ASSERT_TRUE(wait_until([&] {
    p->read_line(20);
    listening = event_lines(p->stdout_lines(), "listening");
    return listening.size() == 2;
  })) << p->stderr_text();
  std::set<std::string> ports, passwords, files;
  for (size_t i = 0; i < 2; ++i) {
    const std::string vv = json_get(listening[i], "vv_file").value_or("");
    ports.insert(json_get(listening[i], "port").value_or(""));
    files.insert(vv);
    passwords.insert(vv_value(read_file(vv), "password"));
    // test-viewer reads each .vv as remote-viewer does and must land on that .vv's guest.
    const std::string out = path("viewer-" + std::to_string(i) + ".json");
    ChildProcess viewer({test_viewer_path(), vv}, base_env({{"PVB_TEST_VIEWER_OUT", out}}),
                        /*pipe_stdin=*/false);
    EXPECT_EQ(viewer.wait(kPeerWaitMs), 0) << viewer.stderr_text();
    EXPECT_EQ(json_get(read_file(out), "name"), json_path(listening[i], "guest.name"))
        << read_file(out);
  }
  EXPECT_EQ(ports.size(), 2u);
  EXPECT_EQ(passwords.size(), 2u) << "a password per endpoint";
  EXPECT_EQ(files.size(), 2u);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(kPeerWaitMs), 143);
  for (const auto& f : files) EXPECT_FALSE(file_exists(f)) << f;
}

// --- secret hygiene ---

// Neither the node's VNC password nor any VNC ticket in `text`.
void expect_no_node_secret(const std::string& text, const std::string& what) {
  EXPECT_EQ(text.find(kNodePassword), std::string::npos) << "the node's password in " << what;
  EXPECT_EQ(text.find("PVEVNC:"), std::string::npos) << "a VNC ticket in " << what;
}

TEST_F(RfbBridgeTest, ConnectKeepsTheNodesTicketAndPasswordOutOfTheVvAndEveryOutput) {
  require_vnc_check();
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  Bridge b = start_bridge(*m, {"connect", "web01", "--json", "--verbose", "--no-viewer"});
  ASSERT_NE(b.port, 0);
  ASSERT_EQ(b.password.size(), 8u);
  EXPECT_NE(b.password, kNodePassword);
  expect_no_node_secret(b.vv_text, "the .vv");
  std::string err;
  EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {}, &err), 0) << err;
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 0) << b.process->stderr_text();
  const std::string out = all_output(*b.process);
  EXPECT_NE(out.find("vncproxy"), std::string::npos) << "--verbose shows the protocol steps";
  expect_no_node_secret(out, "pvebridge's output");
  EXPECT_EQ(out.find(b.password), std::string::npos)
      << "the local password without --show-password";
  // The human output of a launched viewer's session (test-viewer reads the .vv, speaks RFB).
  auto r =
      run_pvebridge(args(*m, {"connect", "web01", "--verbose", "--viewer", test_viewer_path()}),
                    base_env({{"PVE_API_TOKEN", m->info().api_token},
                              {"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_get(read_file(path("viewer.json")), "nonblank"), "true");
  expect_no_node_secret(all_output(r), "pvebridge's human output");
  expect_no_node_secret(read_file(path("viewer.json")), "the viewer's view (argv, .vv)");
}

TEST_F(RfbBridgeTest, ServeShowsTheLocalPasswordOnlyWithShowPassword) {
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  {
    Bridge b = start_bridge(*m, {"serve", "web01", "--json", "--verbose"});
    ASSERT_EQ(b.password.size(), 8u);
    expect_no_node_secret(b.vv_text, "serve's .vv");
    if (!vnc_check_path().empty()) {
      std::string err;
      EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {}, &err), 0) << err;
      ASSERT_TRUE(await_events(b, "client_closed", 1));
    }
    b.process->signal(SIGTERM);
    EXPECT_EQ(b.process->wait(kPeerWaitMs), 143);
    const std::string out = all_output(*b.process);
    EXPECT_EQ(out.find(b.password), std::string::npos) << out;
    expect_no_node_secret(out, "serve's output");
  }
  {
    Bridge b = start_bridge(*m, {"serve", "web01", "--json", "--show-password"});
    ASSERT_EQ(b.password.size(), 8u);
    EXPECT_EQ(json_get(b.listening, "password"), b.password) << b.listening;
    b.process->signal(SIGTERM);
    EXPECT_EQ(b.process->wait(kPeerWaitMs), 143);
    expect_no_node_secret(all_output(*b.process), "serve --show-password's output");
  }
  {
    // The human form: "console of ... vnc://127.0.0.1:PORT/  .vv file PATH  password XXXXXXXX".
    auto p = start_pvebridge(args(*m, {"serve", "web01", "--show-password"}), token_env(*m));
    ASSERT_TRUE(wait_for_stderr(*p, "  password ")) << p->stderr_text();
    std::string text = p->stderr_text();
    const size_t from = text.rfind('\n', text.find("vnc://")) + 1;
    std::optional<std::string> line = text.substr(from, text.find('\n', from) - from);
    const size_t at = line->find(".vv file ");
    ASSERT_NE(at, std::string::npos) << *line;
    std::string vv = line->substr(at + 9);
    vv = vv.substr(0, vv.find("  "));
    const std::string password = vv_value(read_file(vv), "password");
    ASSERT_EQ(password.size(), 8u) << vv;
    EXPECT_NE(line->find("password " + password), std::string::npos) << *line;
    p->signal(SIGINT);
    EXPECT_EQ(p->wait(kPeerWaitMs), 130);
    EXPECT_FALSE(file_exists(vv));
  }
}

TEST_F(RfbBridgeTest, PassthroughHandsTheViewerTheNodesPasswordAndNothingElseLeaks) {
  require("vncsnapshot", "vncsnapshot");
  auto m = frozen_mock();
  ASSERT_TRUE(m->ok());
  Bridge b =
      start_bridge(*m, {"connect", "web01", "--json", "--verbose", "--no-viewer", "--passthrough"});
  ASSERT_NE(b.port, 0);
  EXPECT_EQ(json_get(b.listening, "local_auth"), "node_password");
  EXPECT_EQ(b.password, kNodePassword) << "the old byte pipe: the viewer answers the node";
  EXPECT_EQ(b.vv_text.find("PVEVNC:"), std::string::npos);
  std::string err;
  EXPECT_EQ(run_vncsnapshot(dir_->path(), b.port, b.password, path("pt.jpg"), &err), 0) << err;
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 0) << b.process->stderr_text();
  expect_no_node_secret(all_output(*b.process), "--passthrough's output");
}

// --- a real QEMU ---

TEST_F(RfbBridgeTest, QemuServesTwoViewersAtOnceThroughServe) {
  require("qemu-system-x86_64", "qemu-system-x86");
  require("vncsnapshot", "vncsnapshot");
  require_vnc_check();
  MockPveproxy m({"--qemu", "--vnc-password", kNodePassword});
  ASSERT_TRUE(m.ok());
  Bridge b = start_bridge(m, {"serve", "web01", "--json"});
  ASSERT_NE(b.port, 0);
  // QEMU starts with the first console at 640x480 and switches to SeaBIOS's 720x400 text mode
  // moments later; libvncclient 0.9.14 cannot follow that switch (it ignores QEMU's
  // ExtendedDesktopSize with screen id 0, see tests/fake_vm/README.md). So the clients below come
  // once QEMU is in text mode (each probe is a client of its own).
  std::string err;
  ASSERT_TRUE(wait_until([&] {
    run_vnc_check(dir_->path(), b.port, b.password, {}, &err);
    return err.find(", 720x400") != std::string::npos;
  })) << err;
  // libvncclient stays connected while vncsnapshot takes its own picture of the same guest.
  auto first = start_vnc_check(dir_->path(), b.port, b.password,
                               {"--seconds", "25", "--out", path("qemu-first.ppm")});
  ASSERT_TRUE(wait_for_stderr(*first, "pvb-vnc-check: connected")) << first->stderr_text();
  EXPECT_EQ(run_vncsnapshot(dir_->path(), b.port, b.password, path("qemu.jpg"), &err), 0) << err;
  Result<JpegLuma> luma = jpeg_block_luma(read_file(path("qemu.jpg")));
  ASSERT_TRUE(luma.ok()) << luma.error().message();
  EXPECT_GT(luma_spread(*luma), 40) << "vncsnapshot saw a blank screen";
  // The first viewer shows SeaBIOS's text too (it writes its picture on each SIGUSR1; the text
  // may come after the mode switch, so ask until it is there).
  std::set<std::string> colours;
  EXPECT_TRUE(wait_until([&] {
    std::remove(path("qemu-first.ppm").c_str());
    first->signal(SIGUSR1);
    if (!wait_until([&] { return file_exists(path("qemu-first.ppm")); }, 2000)) return false;
    const std::string ppm = read_file(path("qemu-first.ppm"));
    colours.clear();
    for (size_t i = ppm.size() > 640 * 400 * 3 ? ppm.size() - 640 * 400 * 3 : 0;
         i + 3 <= ppm.size() && colours.size() < 3; i += 3) {
      colours.insert(ppm.substr(i, 3));
    }
    return colours.size() >= 2;
  })) << "the first viewer's screen stayed blank: "
      << first->stderr_text();
  first->signal(SIGTERM);
  first->wait(kPeerWaitMs);
  b.process->signal(SIGTERM);
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 143) << b.process->stderr_text();
  // The probes, then the two viewers at once: each its own client.
  auto connected = event_lines(b.process->stdout_lines(), "client_connected");
  ASSERT_GE(connected.size(), 3u);
  EXPECT_TRUE(event_lines(b.process->stdout_lines(), "error").empty());
  expect_no_node_secret(all_output(*b.process), "serve's output");
  m.process().close_stdin();
  EXPECT_EQ(m.process().wait(kPeerWaitMs), 0) << m.process().stderr_text();
}

// --exclusive asks the node for an exclusive session (ClientInit shared=0): QEMU (share=
// allow-exclusive, its default) then drops its other clients. Without it, the two above coexist.
TEST_F(RfbBridgeTest, QemuDropsTheOtherViewerWhenServeIsExclusive) {
  require("qemu-system-x86_64", "qemu-system-x86");
  require_vnc_check();
  MockPveproxy m({"--qemu"});
  ASSERT_TRUE(m.ok());
  Bridge b = start_bridge(m, {"serve", "web01", "--json", "--exclusive"});
  ASSERT_NE(b.port, 0);
  std::string err;
  ASSERT_TRUE(wait_until([&] {  // QEMU in text mode first (see the test above)
    run_vnc_check(dir_->path(), b.port, b.password, {}, &err);
    return err.find(", 720x400") != std::string::npos;
  })) << err;
  auto first = start_vnc_check(dir_->path(), b.port, b.password, {"--seconds", "25"});
  ASSERT_TRUE(wait_for_stderr(*first, "pvb-vnc-check: connected")) << first->stderr_text();
  EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {}, &err), 0) << err;
  // 5: the connection was lost (long before its 25 s were up).
  EXPECT_EQ(first->wait(kPeerWaitMs), 5) << first->stderr_text();
  EXPECT_FALSE(b.process->wait(100).has_value()) << "serve outlives its clients";
  b.process->signal(SIGTERM);
  EXPECT_EQ(b.process->wait(kPeerWaitMs), 143) << b.process->stderr_text();
  m.process().close_stdin();
  EXPECT_EQ(m.process().wait(kPeerWaitMs), 0);
}

// connect prepares its upstream before the viewer arrives: the node's ServerInit may go stale
// before the viewer comes (QEMU says 640x480, then switches to 720x400 as SeaBIOS starts). The
// prepared upstream asks the node for size changes while it waits, so the viewer's ServerInit
// has the current size. libvncclient shows why it matters: 0.9.14 ignores QEMU's
// ExtendedDesktopSize (screen id 0) and then fails on the first 720-wide rectangle.
TEST_F(RfbBridgeTest, ConnectToAFreshQemuServesLibvncclientTheCurrentSize) {
  require("qemu-system-x86_64", "qemu-system-x86");
  require_vnc_check();
  MockPveproxy m({"--qemu"});
  ASSERT_TRUE(m.ok());
  Bridge b = start_bridge(m, {"connect", "web01", "--json", "--no-viewer", "--verbose"});
  ASSERT_NE(b.port, 0);
  // The viewer comes once the prepared upstream has seen QEMU switch modes.
  ASSERT_TRUE(wait_for_stderr(*b.process, "the node's screen is now 720x400"))
      << b.process->stderr_text();
  std::string err;
  EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {"--seconds", "2"}, &err), 0) << err;
  EXPECT_NE(err.find(", 720x400"), std::string::npos) << err;
  m.process().close_stdin();
  m.process().wait(kPeerWaitMs);
}

// A viewer already connected when QEMU switches modes (640x480, then SeaBIOS's 720x400 text)
// follows the switch. QEMU announces it in an ExtendedDesktopSize rectangle naming its screen 0,
// which libvncclient 0.9.14 (Remmina, KRDC, Veyon) takes for "no screen": it kept 640x480 and
// dropped the connection on the first 720-wide rectangle. The bridge names the screen 1.
TEST_F(RfbBridgeTest, LibvncclientFollowsQemuSwitchingModesUnderIt) {
  require("qemu-system-x86_64", "qemu-system-x86");
  require_vnc_check();
  bool exercised = false;
  for (int attempt = 0; attempt < 3 && !exercised; ++attempt) {
    MockPveproxy m({"--qemu"});
    ASSERT_TRUE(m.ok());
    Bridge b = start_bridge(m, {"connect", "web01", "--json", "--no-viewer", "--verbose"});
    ASSERT_NE(b.port, 0);
    std::string err;
    EXPECT_EQ(run_vnc_check(dir_->path(), b.port, b.password, {"--seconds", "3"}, &err), 0)
        << err << "\n"
        << b.process->stderr_text();
    EXPECT_NE(err.find(", 720x400, "), std::string::npos) << "ended at QEMU's text mode\n" << err;
    exercised = err.find(", 640x480") != std::string::npos;
    m.process().close_stdin();
    m.process().wait(kPeerWaitMs);
  }
  if (!exercised) GTEST_SKIP() << "QEMU had switched modes before the viewer came, 3 times";
}

}  // namespace
}  // namespace pvb::testing
