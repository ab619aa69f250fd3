// Reconnect end to end with an independent viewer (issue 14): pvb-vnc-check (libvncclient) through
// `pvebridge connect --no-viewer` while mock-pveproxy cuts the console WebSocket of the first
// consoles (cut_ws, times=K) at random offsets down or after a few bytes up, by RST or by a clean
// Close. The fake VM's screen is frozen, so when the viewer leaves its framebuffer must equal the
// VM's screen (dumped by the mock on SIGUSR1) pixel for pixel; the bridge must report every
// reconnect and end 0. Also: a screen size change across a reconnect reaches the viewer
// (cut_ws=...,resize=WxH), and a guest that stops (cut_ws=...,stop: the console ends and the
// guest's status is `stopped`) ends the session with exit 6 instead of a reconnect loop.
//
// Twenty armed cuts (cut_ws=...,armed,mixed) each followed by a check that the viewer's picture is
// the VM's exact screen again.
//
// Keys typed during the cuts reach the fake VM in order, none stuck (mock-pveproxy
// --fake-vm-key-log); strictly, keys typed while the bridge is between consoles all arrive, after
// the release of a key held across the cut. A 16 bpp viewer keeps its pixel format across cuts.
// The same cuts against a real QEMU (mock-pveproxy --qemu).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

#include "engine/core/platform.h"
#include "tests/integration/mock_fixture.h"
#include "tests/integration/rfb_peers.h"
#include "tests/integration/vga_text_reader.h"

namespace pvb::testing {
namespace {

constexpr char kNodePassword[] = "NODE-PW7";

// A binary PPM (P6, maxval 255) as its size and pixel bytes; width 0 when unreadable.
struct Picture {
  int width = 0;
  int height = 0;
  std::string pixels;
};

Picture read_picture(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::string magic;
  int maxval = 0;
  Picture p;
  if (!(in >> magic >> p.width >> p.height >> maxval) || magic != "P6" || maxval != 255) {
    return Picture{};
  }
  in.get();  // the one whitespace byte before the pixels
  p.pixels.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (p.pixels.size() != static_cast<size_t>(p.width) * p.height * 3) return Picture{};
  return p;
}

class ReconnectViewerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (vnc_check_path().empty()) GTEST_SKIP() << "pvb-vnc-check not built (libvncserver-dev)";
    auto d = PrivateDir::create("pvb-reconnect-e2e");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) { return dir_->path() + "/" + name; }

  // A mock whose fake VM screens stand still at tick 3, dumped into dir on SIGUSR1.
  std::unique_ptr<MockPveproxy> frozen_mock(const std::string& fault) {
    return std::make_unique<MockPveproxy>(std::vector<std::string>{
        "--vnc-password", kNodePassword, "--fake-vm-freeze-at", "3", "--fake-vm-dump-dir",
        dir_->path(), "--fake-vm-key-log", path("keys.log"), "--fault", fault});
  }
  // The fake VM's screen of guest 100 as it is now (asks the mock to dump it).
  Picture vm_screen(MockPveproxy& m) {
    Picture p = try_vm_screen(m, kPeerWaitMs);
    EXPECT_NE(p.width, 0) << "the mock wrote no screen";
    return p;
  }
  // The same without failing: width 0 when no screen came within timeout_ms (a QEMU still
  // starting has none to dump).
  Picture try_vm_screen(MockPveproxy& m, int timeout_ms) {
    const std::string ppm = path("100.ppm");
    std::remove(ppm.c_str());
    m.process().signal(SIGUSR1);
    if (!wait_until([&] { return file_exists(ppm); }, timeout_ms)) return Picture{};
    return read_picture(ppm);
  }

  // Polls until the viewer's framebuffer (pvb-vnc-check writes it to `seen_file` on SIGUSR1)
  // equals guest 100's screen, and returns that screen; width 0 when not within timeout_ms. A
  // screen equal to *not_this is asked for again: it was dumped before the step that changes it
  // (a SIGUSR1 pending with the SIGUSR2 is handled first), so no check passes on an old picture.
  Picture viewer_shows_vm(MockPveproxy& m, ChildProcess& viewer, const std::string& seen_file,
                          const Picture* not_this, int timeout_ms) {
    Picture shown;
    wait_until(
        [&] {
          const Picture vm = try_vm_screen(m, 2000);
          if (not_this != nullptr && vm.pixels == not_this->pixels) return false;
          std::remove(seen_file.c_str());
          viewer.signal(SIGUSR1);
          if (vm.width == 0 || !wait_until([&] { return file_exists(seen_file); }, 5000)) {
            return false;
          }
          const Picture seen = read_picture(seen_file);
          if (seen.width != vm.width || seen.height != vm.height || seen.pixels != vm.pixels) {
            return false;
          }
          shown = vm;
          return true;
        },
        timeout_ms);
    return shown;
  }

  struct Session {
    int bridge_exit = -1;
    int viewer_exit = -1;
    std::vector<std::string> events;  // the bridge's --json lines
    std::string bridge_err;
    std::string viewer_err;
    Picture seen;  // the viewer's framebuffer when it left
  };
  // `pvebridge connect web01 --no-viewer --json --verbose` on `m`, up to its `listening`: the
  // process, the local port and the .vv's password (port 0 when it never listened).
  struct Bridge {
    std::unique_ptr<ChildProcess> process;
    int port = 0;
    std::string password;
  };
  Bridge start_bridge(MockPveproxy& m) {
    Bridge b;
    b.process = start_pvebridge({"connect", "web01", "--json", "--no-viewer", "--verbose", "--host",
                                 m.info().host(), "--fingerprint", m.info().fingerprint},
                                base_env({{"PVE_API_TOKEN", m.info().api_token}}));
    auto listening = b.process->wait_for_line("\"listening\"", kPeerWaitMs);
    EXPECT_TRUE(listening) << b.process->stderr_text();
    if (!listening) return b;
    b.port = std::stoi(json_get(*listening, "port").value_or("0"));
    b.password = vv_value(read_file(json_get(*listening, "vv_file").value_or("")), "password");
    return b;
  }

  // How many `event` events the bridge has printed so far.
  static size_t event_count(ChildProcess& bridge, const char* event) {
    return event_lines(bridge.stdout_lines(), event).size();
  }
  // On a mock with cut_ws=...,armed: arms the live console's cut and steps the frozen screen
  // (SIGUSR2), again every 300 ms (an offset past this step's update waits for more), until the
  // bridge says `reconnecting` once more than `before` times; returns the new count.
  static size_t arm_until_cut(MockPveproxy& m, ChildProcess& bridge, size_t before) {
    for (int i = 0; i < 100 && event_count(bridge, "reconnecting") == before; ++i) {
      m.process().signal(SIGUSR2);
      bridge.wait_for_line("\"reconnecting\"", 300);
    }
    return event_count(bridge, "reconnecting");
  }

  // pvebridge connect --no-viewer, and pvb-vnc-check through it for `seconds` seconds asking for
  // updates all along, writing its framebuffer to viewer.ppm at the end.
  Session run(MockPveproxy& m, const std::string& encodings, int seconds,
              std::vector<std::string> viewer_flags = {}, const std::string& before_viewer = "") {
    Session s;
    Bridge b = start_bridge(m);
    if (b.port == 0) return s;
    auto& bridge = b.process;
    if (!before_viewer.empty()) {
      EXPECT_TRUE(wait_for_stderr(*bridge, before_viewer)) << bridge->stderr_text();
    }
    std::remove(path("viewer.ppm").c_str());
    std::vector<std::string> flags = {"--encodings",           encodings, "--seconds",
                                      std::to_string(seconds), "--out",   path("viewer.ppm")};
    flags.insert(flags.end(), viewer_flags.begin(), viewer_flags.end());
    s.viewer_exit = run_vnc_check(dir_->path(), b.port, b.password, flags, &s.viewer_err);
    s.bridge_exit = bridge->wait(kPeerWaitMs).value_or(-1);
    s.events = bridge->stdout_lines();
    s.bridge_err = bridge->stderr_text();
    s.seen = read_picture(path("viewer.ppm"));
    return s;
  }

  // pvb-vnc-check through `connect --no-viewer` on a mock with cut_ws=...,armed,times=`cuts`:
  // after the first picture, `cuts` times: arm the live console's cut and step the screen
  // (SIGUSR2, again every 300 ms until the cut strikes), wait for `reconnected`, and require the
  // viewer's framebuffer (dumped on SIGUSR1) to come to equal the guest's screen (the mock's
  // SIGUSR1 dump: the fake VM's, or QEMU's screendump) before the next cut. The viewer must stay
  // connected through all of them; the bridge must end 0 and count them.
  // `before_viewer`: a line of the bridge's stderr to wait for before the viewer starts.
  // `screen_changes_each_cut`: the guest's screen steps with every arming (a fake VM, or QEMU's
  // echo guest; not SeaBIOS's own screen).
  void armed_cuts_each_checked(MockPveproxy& m, const std::string& encodings, size_t cuts,
                               bool screen_changes_each_cut,
                               const std::string& before_viewer = "") {
    Bridge b = start_bridge(m);
    ASSERT_NE(b.port, 0);
    auto& bridge = b.process;
    if (!before_viewer.empty()) {
      ASSERT_TRUE(wait_for_stderr(*bridge, before_viewer)) << bridge->stderr_text();
    }
    const std::string seen_file = path("viewer.ppm");
    auto viewer =
        start_vnc_check(dir_->path(), b.port, b.password,
                        {"--encodings", encodings, "--seconds", "600", "--out", seen_file});
    ASSERT_TRUE(viewer && viewer->started());
    ASSERT_TRUE(bridge->wait_for_line("\"client_connected\"", kPeerWaitMs))
        << bridge->stderr_text();

    // The viewer's framebuffer comes to equal the guest's screen, a new one after each cut when
    // the screen steps with every arming.
    Picture last_checked;
    auto viewer_catches_up = [&] {
      Picture shown = viewer_shows_vm(m, *viewer, seen_file,
                                      screen_changes_each_cut ? &last_checked : nullptr, 15000);
      if (shown.width == 0) return false;
      last_checked = std::move(shown);
      return true;
    };
    auto count = [&](const char* event) { return event_count(*bridge, event); };

    ASSERT_TRUE(viewer_catches_up()) << "no first picture\n" << bridge->stderr_text();
    size_t checked = 0;
    while (count("reconnecting") < cuts) {
      const size_t before = count("reconnecting");
      ASSERT_GT(arm_until_cut(m, *bridge, before), before) << "the armed cut never struck\n"
                                                           << bridge->stderr_text();
      while (count("reconnected") < count("reconnecting")) {
        ASSERT_TRUE(bridge->wait_for_line("\"reconnected\"", kPeerWaitMs)) << bridge->stderr_text();
      }
      ++checked;
      ASSERT_TRUE(viewer_catches_up()) << "after cut " << count("reconnected")
                                       << " the viewer's framebuffer is not the guest's screen\n"
                                       << bridge->stderr_text();
    }
    EXPECT_GE(checked, cuts / 2) << "most cuts get a check of their own";
    EXPECT_EQ(viewer->wait(0), std::nullopt) << "the viewer stayed connected through every cut";
    viewer->signal(SIGTERM);
    viewer->wait(kPeerWaitMs);
    EXPECT_EQ(bridge->wait(kPeerWaitMs).value_or(-1), 0) << bridge->stderr_text();
    const std::string closed = event_line(bridge->stdout_lines(), "closed");
    EXPECT_EQ(json_get(closed, "reconnects"), std::to_string(cuts)) << closed;
  }

  std::optional<PrivateDir> dir_;
};

void expect_same_picture(const Picture& seen, const Picture& vm) {
  ASSERT_NE(vm.width, 0) << "no VM screen";
  ASSERT_NE(seen.width, 0) << "the viewer wrote no picture";
  EXPECT_EQ(seen.width, vm.width);
  EXPECT_EQ(seen.height, vm.height);
  EXPECT_TRUE(seen.pixels == vm.pixels) << "the viewer's framebuffer differs from the VM's screen";
}

// Three consoles cut in a row (times=3), then a healthy one; each fault, in one encoding per test.
// ZRLE only on the first session: after a reconnect the bridge leaves it out (its zlib stream
// cannot be reset), so libvncclient then gets Raw, and the picture must still be exact.
class ReconnectViewerCutsTest : public ReconnectViewerTest,
                                public ::testing::WithParamInterface<const char*> {};

TEST_P(ReconnectViewerCutsTest, LibvncclientStaysConnectedThroughCutsAndEndsWithTheVmsExactScreen) {
  for (const char* fault : {"cut_ws=random:40000,rst,times=3", "cut_ws=random:40000,times=3",
                            "cut_ws=up:90,rst,times=3", "cut_ws=up:90,times=3"}) {
    SCOPED_TRACE(fault);
    auto m = frozen_mock(fault);
    ASSERT_TRUE(m->ok());
    Session s = run(*m, GetParam(), 4);
    EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
    EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
    EXPECT_EQ(event_lines(s.events, "reconnected").size(), 3u) << s.bridge_err;
    const std::string closed = event_line(s.events, "closed");
    EXPECT_EQ(json_get(closed, "reason"), "client_closed") << closed;
    EXPECT_EQ(json_get(closed, "reconnects"), "3") << closed;
    expect_same_picture(s.seen, vm_screen(*m));
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, ReconnectViewerCutsTest,
                         ::testing::Values("tight", "zrle", "hextile"));

// The VM's picture as a 5-6-5 viewer holds it (pvb-vnc-check --bpp 16 reduces each channel to its
// bits and writes it back scaled to 8: the same arithmetic).
Picture as_rgb565(Picture p) {
  for (size_t i = 0; i < p.pixels.size(); ++i) {
    const uint32_t max = i % 3 == 1 ? 63 : 31;
    const uint32_t v = static_cast<uint8_t>(p.pixels[i]);
    const uint32_t reduced = (v * max + 127) / 255;
    p.pixels[i] = static_cast<char>((reduced * 255 + max / 2) / max);
  }
  return p;
}

// A viewer whose pixel format is not the node's (16 bpp, 5-6-5, against the fake VM's 32): each
// new console starts in its own format, so the bridge must replay the viewer's SetPixelFormat
// before any update, or the viewer reads 32-bit pixels as 16-bit ones and its picture (or its
// parser) breaks. Three cuts down by RST (Tight), then three up by a Close (Hextile); the picture
// must be the VM's, reduced to 5-6-5, exactly.
TEST_F(ReconnectViewerTest, AViewerInAnotherPixelFormatKeepsItAcrossReconnects) {
  const std::pair<const char*, const char*> cases[] = {{"cut_ws=random:20000,rst,times=3", "tight"},
                                                       {"cut_ws=up:90,times=3", "hextile"}};
  for (const auto& [fault, encodings] : cases) {
    SCOPED_TRACE(std::string(fault) + " " + encodings);
    auto m = frozen_mock(fault);
    ASSERT_TRUE(m->ok());
    Session s = run(*m, encodings, 3, {"--bpp", "16"});
    EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
    EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
    EXPECT_EQ(json_get(event_line(s.events, "closed"), "reconnects"), "3") << s.bridge_err;
    expect_same_picture(s.seen, as_rgb565(vm_screen(*m)));
  }
}

// Twenty cuts, each checked as it happens (cut_ws=random:3000,armed,mixed,times=20): the test
// arms the cut of the live console and steps the frozen fake VM screen (SIGUSR2) until the cut
// strikes inside the update that carries the new picture (down, at a random offset, by RST or a
// Close) or inside the viewer's next request (up); then, once the bridge says `reconnected`,
// libvncclient's framebuffer (dumped on SIGUSR1) must come to equal the VM's screen exactly
// before the next cut is armed. The viewer stays connected all along and the bridge counts 20.
TEST_P(ReconnectViewerCutsTest, TwentyCutsEachFollowedByTheVmsExactScreen) {
  constexpr size_t kCuts = 20;
  auto m = frozen_mock("cut_ws=random:3000,armed,mixed,times=" + std::to_string(kCuts));
  ASSERT_TRUE(m->ok());
  armed_cuts_each_checked(*m, GetParam(), kCuts, true);
}

// Keys typed while the consoles are cut (each of the first three 600 ms after it opened, while
// libvncclient types one key every 100 ms): the fake VM gets them in the order typed, none twice,
// every press with its release (nothing stuck). A key the bridge had already written to the
// console being cut may be lost with it (it cannot know what the node read), at most one per cut
// at this typing pace.
TEST_F(ReconnectViewerTest, KeysTypedThroughCutsArriveInOrderAndNoneSticks) {
  const std::string typed = "abcdefghijklmnopqrstuvwxy";
  for (const char* fault : {"cut_ws=time:600,rst,times=3", "cut_ws=time:600,times=3"}) {
    SCOPED_TRACE(fault);
    std::remove(path("keys.log").c_str());
    auto m = frozen_mock(fault);
    ASSERT_TRUE(m->ok());
    Session s = run(*m, "tight", 5, {"--type", typed, "--key-interval-ms", "100"});
    EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
    EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
    EXPECT_EQ(event_lines(s.events, "reconnected").size(), 3u) << s.bridge_err;

    const std::string log = read_file(path("keys.log"));
    std::istringstream lines(log);
    std::string vmid, what, keysym;
    std::string pressed;  // the keys pressed, in arrival order
    std::set<uint32_t> down;
    while (lines >> vmid >> what >> keysym) {
      EXPECT_EQ(vmid, "100");
      const uint32_t key = static_cast<uint32_t>(std::stoul(keysym, nullptr, 16));
      if (what == "down") {
        EXPECT_EQ(down.count(key), 0u) << "pressed twice without a release: " << keysym;
        down.insert(key);
        pressed.push_back(static_cast<char>(key));
      } else {
        down.erase(key);
      }
    }
    EXPECT_TRUE(down.empty()) << "keys left down:\n" << log;
    // In order and none twice: the keys pressed are a subsequence of the typed text.
    size_t at = 0;
    for (char c : pressed) {
      at = typed.find(c, at);
      ASSERT_NE(at, std::string::npos) << "out of order or repeated: " << pressed;
      ++at;
    }
    EXPECT_GE(pressed.size() + 3, typed.size()) << "pressed: " << pressed;
    ASSERT_FALSE(pressed.empty());
    EXPECT_EQ(pressed.back(), typed.back()) << pressed;
  }
}

// The strict form of the "keys typed during a cut arrive after it, in order, none stuck":
// Shift_L is held down (pressed after the first picture, never released by the viewer); the
// console is cut; once the bridge has said `reconnecting` (the link is known lost, so nothing can
// be in flight to the dead console) the viewer types ten keys, all while the reconnect waits out
// three refused vncproxy calls (0.25 + 0.5 + 1 s of backoff). The guest's key log must then be
// exactly: Shift_L down (first session), Shift_L up (the bridge, on the new session, before the
// kept keys), then every typed key pressed and released in order. Nothing lost, nothing twice,
// nothing stuck. Down by a Close and up by an RST.
TEST_F(ReconnectViewerTest, KeysTypedWhileReconnectingAllArriveAfterTheHeldKeyIsReleased) {
  const std::string typed = "pvebridge!";
  for (const char* cut : {"cut_ws=down:1,armed", "cut_ws=up:1,armed,rst"}) {
    SCOPED_TRACE(cut);
    const std::string key_log = path("keys.log");
    std::remove(key_log.c_str());
    MockPveproxy m({"--vnc-password", kNodePassword, "--fake-vm-freeze-at", "3",
                    "--fake-vm-key-log", key_log, "--fault", cut, "--fault", "refuse_vncproxy=3"});
    ASSERT_TRUE(m.ok());
    Bridge b = start_bridge(m);
    ASSERT_NE(b.port, 0);
    auto& bridge = b.process;
    auto viewer = start_vnc_check(dir_->path(), b.port, b.password,
                                  {"--encodings", "tight", "--seconds", "600", "--hold", "0xffe1",
                                   "--type", typed, "--type-on-signal"});
    ASSERT_TRUE(viewer && viewer->started());
    const std::string shift_down = "100 down 0x0000ffe1\n";
    ASSERT_TRUE(wait_until([&] { return read_file(key_log) == shift_down; }, kPeerWaitMs))
        << "the held key never reached the guest\n"
        << viewer->stderr_text() << bridge->stderr_text();

    auto count = [&](const char* event) { return event_count(*bridge, event); };
    ASSERT_EQ(arm_until_cut(m, *bridge, 0), 1u) << bridge->stderr_text();
    viewer->signal(SIGUSR2);
    ASSERT_TRUE(wait_for_stderr(*viewer, "typed 10 keys")) << viewer->stderr_text();
    // What makes this test strict: every key went out while the bridge was between consoles
    // (every event it has printed so far read, not only those a wait has come across).
    bridge->read_available();
    ASSERT_EQ(count("reconnected"), 0u) << "the reconnect was over before the typing\n"
                                        << bridge->stderr_text();
    ASSERT_TRUE(bridge->wait_for_line("\"reconnected\"", kPeerWaitMs)) << bridge->stderr_text();

    std::string want = shift_down + "100 up 0x0000ffe1\n";
    for (char c : typed) {
      char line[64];
      std::snprintf(line, sizeof line, "100 down 0x%08x\n100 up 0x%08x\n", c, c);
      want += line;
    }
    wait_until([&] { return read_file(key_log).size() >= want.size(); }, kPeerWaitMs);
    EXPECT_EQ(read_file(key_log), want);
    EXPECT_EQ(viewer->wait(0), std::nullopt) << "the viewer stayed connected";
    viewer->signal(SIGTERM);
    viewer->wait(kPeerWaitMs);
    EXPECT_EQ(bridge->wait(kPeerWaitMs).value_or(-1), 0) << bridge->stderr_text();
    EXPECT_EQ(json_get(event_line(bridge->stdout_lines(), "closed"), "reconnects"), "1");
  }
}

// The guest's screen goes from 640x480 to 800x600 while its console is down: the new console's
// ServerInit has the new size, and libvncclient (which announces DesktopSize and
// ExtendedDesktopSize) must be told and end with the whole new screen.
// It found that the ExtendedDesktopSize rectangle write_resize() synthesised gave its screen id
// 0, which libvncclient 0.9.14 (Debian 12) ignores: it kept 640x480 and dropped the connection
// on the first rectangle of the new screen. The bridge now says id 1 (as the fake VM does).
TEST_F(ReconnectViewerTest, AScreenSizeChangeAcrossAReconnectReachesTheViewer) {
  for (const char* fault :
       {"cut_ws=random:40000,rst,resize=800x600", "cut_ws=random:40000,resize=800x600"}) {
    for (const char* encodings : {"tight", "hextile"}) {
      SCOPED_TRACE(std::string(encodings) + " / " + fault);
      auto m = frozen_mock(fault);
      ASSERT_TRUE(m->ok());
      Session s = run(*m, encodings, 3);
      EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
      EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
      EXPECT_EQ(event_lines(s.events, "reconnected").size(), 1u) << s.bridge_err;
      Picture vm = vm_screen(*m);
      EXPECT_EQ(vm.width, 800);
      expect_same_picture(s.seen, vm);
    }
  }
}

// The guest powers off: the node ends its console and status/current says `stopped`. That is not
// a network loss: the session ends with exit 6 (not running) at once, no reconnect loop.
TEST_F(ReconnectViewerTest, AGuestThatStopsEndsTheSessionWithNotRunning) {
  for (const char* fault : {"cut_ws=random:40000,rst,stop", "cut_ws=random:40000,stop"}) {
    SCOPED_TRACE(fault);
    auto m = frozen_mock(fault);
    ASSERT_TRUE(m->ok());
    // The viewer would stay 20 s; the bridge must end well before, taking the viewer with it.
    Session s = run(*m, "tight", 20);
    EXPECT_EQ(s.bridge_exit, 6) << s.bridge_err;
    EXPECT_NE(s.viewer_exit, 0) << "the viewer's connection ends with the session";
    EXPECT_TRUE(event_lines(s.events, "reconnected").empty()) << s.bridge_err;
    EXPECT_LE(event_lines(s.events, "reconnecting").size(), 1u) << s.bridge_err;
  }
}

// The same cuts with a real QEMU behind the console (mock-pveproxy --qemu: SeaBIOS's 720x400 text
// screen): libvncclient stays connected through three cut consoles in each encoding and ends with
// QEMU's whole screen (its size, and not one flat colour: the picture was redrawn after the cuts).
TEST_F(ReconnectViewerTest, LibvncclientStaysConnectedToARealQemuThroughCuts) {
  if (find_executable("qemu-system-x86_64").empty()) {
    GTEST_SKIP() << "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
  }
  // Cuts after a few bytes up: QEMU sends only what changes, so a count of bytes down may never
  // be reached. The viewer comes once the bridge has seen QEMU switch to its text mode.
  const std::pair<const char*, const char*> runs[] = {{"tight", "cut_ws=up:90,rst,times=3"},
                                                      {"zrle", "cut_ws=up:90,times=3"},
                                                      {"hextile", "cut_ws=up:90,rst,times=3"}};
  for (const auto& [encodings, fault] : runs) {
    SCOPED_TRACE(std::string(encodings) + " / " + fault);
    MockPveproxy m({"--qemu", "--vnc-password", kNodePassword, "--fault", fault});
    ASSERT_TRUE(m.ok());
    Session s = run(m, encodings, 4, {}, "the node's screen is now 720x400");
    EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
    EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
    EXPECT_EQ(event_lines(s.events, "reconnected").size(), 3u) << s.bridge_err;
    EXPECT_EQ(s.seen.width, 720) << s.viewer_err;
    EXPECT_EQ(s.seen.height, 400) << s.viewer_err;
    bool flat = true;
    for (size_t i = 3; i < s.seen.pixels.size() && flat; ++i) {
      flat = s.seen.pixels[i] == s.seen.pixels[i % 3];
    }
    EXPECT_FALSE(flat) << "the viewer's picture is one flat colour";
    m.process().close_stdin();
    m.process().wait(kPeerWaitMs);
  }
}

// The same with a real QEMU behind the console, running the echo guest (mock-pveproxy
// --qemu-echo-guest: a 720x400 text screen without a cursor, which changes only when a key is
// typed, and each SIGUSR2 types one over QMP). Each cut is followed by an exact comparison of
// libvncclient's framebuffer with QEMU's own screendump (QMP, on SIGUSR1) that must also differ
// from the last one checked: QEMU repainted what changed across the cut. Six cuts: down by RST
// and by a Close inside an update (the echoed keys' updates carry them), up by RST and by a
// Close inside a request, and again.
TEST_F(ReconnectViewerTest, EachCutToARealQemuIsFollowedByQemusExactScreen) {
  if (find_executable("qemu-system-x86_64").empty()) {
    GTEST_SKIP() << "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
  }
  for (const char* encodings : {"tight", "zrle"}) {
    SCOPED_TRACE(encodings);
    MockPveproxy m({"--qemu-echo-guest", "--vnc-password", kNodePassword, "--fake-vm-dump-dir",
                    dir_->path(), "--fault", "cut_ws=random:120,armed,mixed,times=6"});
    ASSERT_TRUE(m.ok());
    // The viewer comes once QEMU has switched to its text mode: libvncclient 0.9.14 cannot
    // follow QEMU's own size change (it ignores ExtendedDesktopSize screen id 0; see
    // rfb_bridge_test's ConnectToAFreshQemuServesLibvncclientTheCurrentSize).
    armed_cuts_each_checked(m, encodings, 6, true, "the node's screen is now 720x400");
    m.process().close_stdin();
    m.process().wait(kPeerWaitMs);
  }
}

// The strict keys test against a real QEMU running the echo guest: the keys must show on its
// screen, in order, once each. The console is cut; once the bridge has said `reconnecting`, the
// viewer types "pvebridge" while the reconnect waits out three refused vncproxy calls; the kept
// keys then go to QEMU's new VNC connection (QEMU turns them into PS/2 scancodes, SeaBIOS into
// characters, the guest echoes them). The row under the banner must then read the letters the
// cut's steps typed over QMP (one per SIGUSR2: "a", then "b", ...) followed by "pvebridge",
// read with the banner's own glyphs (VgaTextReader). A held key is not part of it: QEMU lifts a
// client's keys itself when its VNC connection ends. Down by a Close and up by an RST.
TEST_F(ReconnectViewerTest, KeysTypedWhileReconnectingShowOnARealQemuInOrder) {
  if (find_executable("qemu-system-x86_64").empty()) {
    GTEST_SKIP() << "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
  }
  const std::string typed = "pvebridge";
  for (const char* cut : {"cut_ws=down:1,armed", "cut_ws=up:1,armed,rst"}) {
    SCOPED_TRACE(cut);
    MockPveproxy m({"--qemu-echo-guest", "--vnc-password", kNodePassword, "--fake-vm-dump-dir",
                    dir_->path(), "--fault", cut, "--fault", "refuse_vncproxy=3"});
    ASSERT_TRUE(m.ok());
    Bridge b = start_bridge(m);
    ASSERT_NE(b.port, 0);
    auto& bridge = b.process;
    ASSERT_TRUE(wait_for_stderr(*bridge, "the node's screen is now 720x400"))
        << bridge->stderr_text();
    // The guest has booted once its banner can be read off QEMU's screen.
    std::optional<VgaTextReader> reader;
    ASSERT_TRUE(wait_until(
        [&] {
          const Picture p = try_vm_screen(m, 2000);
          reader = VgaTextReader::from_banner(p.width, p.height, p.pixels);
          return reader.has_value();
        },
        kPeerWaitMs))
        << "the echo guest's banner never showed";
    const std::string seen_file = path("viewer.ppm");
    auto viewer = start_vnc_check(dir_->path(), b.port, b.password,
                                  {"--encodings", "tight", "--seconds", "600", "--type", typed,
                                   "--type-on-signal", "--out", seen_file});
    ASSERT_TRUE(viewer && viewer->started());
    // The viewer types only once it has had a whole update: the cut must not come before.
    ASSERT_NE(viewer_shows_vm(m, *viewer, seen_file, nullptr, kPeerWaitMs).width, 0)
        << "the viewer never showed QEMU's screen\n"
        << bridge->stderr_text();

    auto count = [&](const char* event) { return event_count(*bridge, event); };
    ASSERT_EQ(arm_until_cut(m, *bridge, 0), 1u) << bridge->stderr_text();
    viewer->signal(SIGUSR2);
    ASSERT_TRUE(wait_for_stderr(*viewer, "typed 9 keys")) << viewer->stderr_text();
    bridge->read_available();
    ASSERT_EQ(count("reconnected"), 0u) << "the reconnect was over before the typing\n"
                                        << bridge->stderr_text();
    ASSERT_TRUE(bridge->wait_for_line("\"reconnected\"", kPeerWaitMs)) << bridge->stderr_text();

    std::string shown;
    wait_until(
        [&] {
          const Picture p = try_vm_screen(m, 2000);
          shown = reader->row_text(p.pixels, reader->banner_row() + 1);
          return shown.size() > typed.size() && shown.find(typed) != std::string::npos;
        },
        kPeerWaitMs);
    // The steps' letters (at least the one that struck the cut), then every typed key once.
    const size_t steps = shown.size() > typed.size() ? shown.size() - typed.size() : 0;
    EXPECT_GE(steps, 1u) << shown;
    EXPECT_EQ(shown, std::string("abcde").substr(0, std::min<size_t>(steps, 5)) + typed)
        << "QEMU's row under the banner";
    EXPECT_EQ(viewer->wait(0), std::nullopt) << "the viewer stayed connected";
    viewer->signal(SIGTERM);
    viewer->wait(kPeerWaitMs);
    EXPECT_EQ(bridge->wait(kPeerWaitMs).value_or(-1), 0) << bridge->stderr_text();
    EXPECT_EQ(json_get(event_line(bridge->stdout_lines(), "closed"), "reconnects"), "1");
    m.process().close_stdin();
    m.process().wait(kPeerWaitMs);
  }
}

// The reader itself, on a synthetic screen: each letter a distinct pattern, the banner on row 2.
TEST(VgaTextReader, ReadsARowWithTheBannersGlyphs) {
  const int width = 720, height = 400;
  std::string rgb(size_t{3} * width * height, '\0');
  auto draw = [&](int row, int column, char c) {
    if (c == ' ') return;
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 9; ++x) {
        const size_t at = (size_t(row * 16 + y) * width + column * 9 + x) * 3;
        rgb[at] = static_cast<char>(c);  // a pattern per letter: its code, then its row
        rgb[at + 1] = static_cast<char>(y + x);
      }
    }
  };
  auto write = [&](int row, const std::string& text) {
    for (size_t i = 0; i < text.size(); ++i) draw(row, static_cast<int>(i), text[i]);
  };
  EXPECT_FALSE(VgaTextReader::from_banner(width, height, rgb).has_value()) << "a blank screen";
  write(0, "SeaBIOS (version 1.16.2)");
  write(2, kEchoGuestBanner);
  write(3, "abpvebridge");
  write(4, "xyz");
  std::optional<VgaTextReader> r = VgaTextReader::from_banner(width, height, rgb);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->banner_row(), 2);
  EXPECT_EQ(r->row_text(rgb, 2), kEchoGuestBanner);
  EXPECT_EQ(r->row_text(rgb, 3), "abpvebridge");
  EXPECT_EQ(r->row_text(rgb, 4), "?y?") << "letters the banner lacks";
  EXPECT_EQ(r->row_text(rgb, 5), "");
  // Two letters drawn alike in the banner: it is no dictionary.
  draw(2, 1, 'p');  // "ppebridge ..."
  EXPECT_FALSE(VgaTextReader::from_banner(width, height, rgb).has_value());
}

}  // namespace
}  // namespace pvb::testing
