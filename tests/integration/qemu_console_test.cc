// End to end with independent VNC servers and clients: pvebridge against mock-pveproxy --qemu,
// which relays the console to a real QEMU (qemu-system-x86_64), and against the plain mock with
// its fake VM. vncsnapshot (its own RFB 3.3 and DES) takes the picture through pvebridge's
// listener, so the bytes cross our websocket bridge both ways; the JPEG it saves is read block by
// block to prove it is not blank (and, for the fake VM, that its colour bars arrived in order).
// Also: QEMU's own refusal of an expired console password, and QEMU's lifetime — started at the
// first console, gone when the mock exits, and gone even when the mock is SIGKILLed.
//
// Needs qemu-system-x86 and vncsnapshot (Debian packages); each test skips without them.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/core/platform.h"
#include "engine/rfb/vnc_auth.h"
#include "tests/integration/mock_fixture.h"
#include "tests/integration/qemu_jpeg.h"

namespace pvb::testing {
namespace {

constexpr int kWaitMs = 30000;  // hang guards, not timing assertions

// A pvebridge serving one console with --no-viewer, and what its listening event told.
struct Bridge {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  std::string vv_file;
  std::string password;  // from the .vv file, as a viewer reads it
};

// The value of `key=` in a .vv file, GKeyFile escapes undone (\s \n \t \r \\), as a viewer
// reads it: the generated password may hold a backslash.
std::string vv_value(const std::string& text, const std::string& key) {
  size_t at = text.find("\n" + key + "=");
  if (at == std::string::npos) return "";
  at += key.size() + 2;
  const std::string raw = text.substr(at, text.find('\n', at) - at);
  std::string value;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 == raw.size()) {
      value += raw[i];
      continue;
    }
    const char e = raw[++i];
    value += e == 's' ? ' ' : e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
  }
  return value;
}

// "qemu 100: started /usr/bin/qemu-system-x86_64 (pid 1234)" in the mock's log: 1234.
std::optional<pid_t> qemu_pid(const std::string& log, uint32_t vmid) {
  const std::string marker = "qemu " + std::to_string(vmid) + ": started ";
  size_t at = log.find(marker);
  if (at == std::string::npos) return std::nullopt;
  at = log.find("(pid ", at);
  if (at == std::string::npos) return std::nullopt;
  return static_cast<pid_t>(std::stol(log.substr(at + 5)));
}

// "qemu 100: QEMU 7.2.22 ready, VNC on /tmp/mock-pveproxy-qemu-AbCdEf/100.vnc": that directory.
std::string qemu_dir(const std::string& log) {
  const std::string marker = "ready, VNC on ";
  size_t at = log.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  std::string socket = log.substr(at, log.find('\n', at) - at);
  return socket.substr(0, socket.rfind('/'));
}

// Gone, or a zombie waiting for init to reap it: either way no longer running.
bool process_ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  if (text.empty()) return true;
  size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

bool wait_until(const std::function<bool()>& pred, int timeout_ms = kWaitMs) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling another process
  }
  return true;
}

// Reads the mock's stderr until it contains `needle` (its stdout stays quiet after the ready line,
// so each read_line only pumps the pipes for a moment).
bool wait_for_log(ChildProcess& mock, const std::string& needle, int timeout_ms = kWaitMs) {
  return wait_until(
      [&] {
        mock.read_line(20);
        return mock.stderr_text().find(needle) != std::string::npos;
      },
      timeout_ms);
}

class QemuConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-qemu-e2e");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  void require(const char* program, const char* package) {
    if (find_executable(program).empty()) {
      GTEST_SKIP() << program << " is not installed (Debian: " << package << ")";
    }
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
    return base_env(extra);
  }

  Bridge start_bridge(const MockPveproxy& m, const std::string& guest) {
    Bridge b;
    b.process = start_pvebridge(args(m, {"connect", guest, "--json", "--no-viewer"}), token_env(m));
    auto listening = b.process->wait_for_line("\"listening\"", kWaitMs);
    if (!listening) {
      ADD_FAILURE() << "pvebridge did not listen: " << b.process->stderr_text();
      return b;
    }
    b.port = std::stoi(json_get(*listening, "port").value_or("0"));
    b.vv_file = json_get(*listening, "vv_file").value_or("");
    b.password = vv_value(read_file(b.vv_file), "password");
    EXPECT_EQ(b.password.size(), 8u) << "the generated VNC password";
    return b;
  }

  // vncsnapshot on the bridge's port; the password goes in a vncpasswd-format file, never argv.
  int vncsnapshot(const Bridge& b, const std::string& jpeg) {
    std::array<uint8_t, 8> bytes = vnc_password_file_bytes(b.password);
    const std::string passwd = path("passwd");
    Error e = write_new_private_file(passwd, std::string(bytes.begin(), bytes.end()));
    EXPECT_TRUE(e.ok()) << e.message();
    ChildProcess snap({find_executable("vncsnapshot"), "-passwd", passwd, "-allowblank",
                       "127.0.0.1::" + std::to_string(b.port), jpeg},
                      base_env(), /*pipe_stdin=*/false);
    std::optional<int> code = snap.wait(kWaitMs);
    EXPECT_TRUE(code.has_value()) << "vncsnapshot hung";
    if (code != 0) ADD_FAILURE() << "vncsnapshot: " << snap.stderr_text();
    return code.value_or(-1);
  }

  // The bridge's end once its single client has gone: exit 0, closed by the client.
  void expect_bridge_done(Bridge& b, uint64_t min_bytes_from_guest) {
    std::optional<int> code = b.process->wait(kWaitMs);
    EXPECT_EQ(code, 0) << b.process->stderr_text();
    std::string closed;
    for (const std::string& l : b.process->stdout_lines()) {
      if (json_get(l, "event") == "closed") closed = l;
    }
    EXPECT_EQ(json_get(closed, "reason"), "client_closed") << closed;
    EXPECT_GT(std::stoull(json_get(closed, "bytes_from_guest").value_or("0")), min_bytes_from_guest)
        << closed;
    EXPECT_FALSE(file_exists(b.vv_file));
  }

  // Ends the mock the way tests end it (its stdin closes): exit 0, its QEMUs gone with it.
  void stop_mock(MockPveproxy& m) {
    m.process().close_stdin();
    EXPECT_EQ(m.process().wait(kWaitMs), 0) << m.process().stderr_text();
  }

  std::optional<PrivateDir> dir_;
};

// --- the JPEG reader itself ----------------------------------------------------------------------

// Two hand-made 16x16 greyscale baseline JPEGs (2x2 blocks), one Huffman code per block part.
std::string tiny_jpeg(bool bright_first_block) {
  std::string j = "\xFF\xD8";
  // DQT: table 0, DC quantizer 8 (or 1), every AC quantizer 1.
  j += std::string("\xFF\xDB\x00\x43\x00", 5);
  j += bright_first_block ? '\x08' : '\x01';
  j += std::string(63, '\x01');
  // SOF0: 8 bits, 16x16, one component (id 1, 1x1 sampling, table 0).
  j += std::string("\xFF\xC0\x00\x0B\x08\x00\x10\x00\x10\x01\x01\x11\x00", 13);
  // DHT DC 0: "0" = size 0; in the bright one also "10" = size 7.
  std::string counts(16, '\0');
  counts[0] = 1;
  if (bright_first_block) counts[1] = 1;
  j += std::string("\xFF\xC4\x00", 3) + (bright_first_block ? '\x15' : '\x14') + '\x00' + counts;
  j += bright_first_block ? std::string("\x00\x07", 2) : std::string(1, '\0');
  // DHT AC 0: "0" = end of block.
  std::string ac_counts(16, '\0');
  ac_counts[0] = 1;
  j += std::string("\xFF\xC4\x00\x14\x10", 5) + ac_counts + std::string(1, '\0');
  // SOS: component 1 with tables 0/0, spectral 0..63.
  j += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  if (bright_first_block) {
    // +100, -100, 0, 0: "10" 1100100 "0" | "10" 0011011 "0" | "00" | "00"
    j += std::string("\xB2\x23\x60", 3);
  } else {
    j += std::string(1, '\0');  // four blocks of "0" "0"
  }
  j += "\xFF\xD9";
  return j;
}

TEST(QemuJpeg, AUniformPictureHasNoSpread) {
  Result<JpegLuma> luma = jpeg_block_luma(tiny_jpeg(false));
  ASSERT_TRUE(luma.ok()) << luma.error().message();
  EXPECT_EQ(luma->width, 16);
  EXPECT_EQ(luma->blocks_x, 2);
  EXPECT_EQ(luma->block_mean, (std::vector<int>{128, 128, 128, 128}));
  EXPECT_EQ(luma_spread(*luma), 0);
}

TEST(QemuJpeg, BlocksLandWhereTheyBelong) {
  Result<JpegLuma> luma = jpeg_block_luma(tiny_jpeg(true));
  ASSERT_TRUE(luma.ok()) << luma.error().message();
  // DC 100 x quantizer 8 / 8 + 128; the next block's -100 brings the prediction back to 0.
  EXPECT_EQ(luma->block_mean, (std::vector<int>{228, 128, 128, 128}));
  EXPECT_EQ(luma->at_pixel(3, 3), 228);
  EXPECT_EQ(luma_spread(*luma), 100);
}

TEST(QemuJpeg, NotAJpegOrCutShortIsAnError) {
  EXPECT_FALSE(jpeg_block_luma("GIF89a").ok());
  std::string cut = tiny_jpeg(true);
  cut.resize(cut.size() - 4);  // the entropy-coded data loses its last byte
  EXPECT_FALSE(jpeg_block_luma(cut).ok());
}

// --- vncsnapshot through pvebridge ---------------------------------------------------------------

TEST_F(QemuConsoleTest, VncsnapshotThroughPvebridgeSeesTheFakeVmsColourBars) {
  require("vncsnapshot", "vncsnapshot");
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  Bridge b = start_bridge(m, "web01");
  ASSERT_NE(b.port, 0);
  ASSERT_EQ(vncsnapshot(b, path("fake.jpg")), 0);
  Result<JpegLuma> luma = jpeg_block_luma(read_file(path("fake.jpg")));
  ASSERT_TRUE(luma.ok()) << luma.error().message();
  EXPECT_EQ(luma->width, 640);
  EXPECT_EQ(luma->height, 480);
  // Eight bars, 80 pixels each over the top two thirds: white, yellow, cyan, green, magenta,
  // red, blue, black — each darker than the one before.
  std::vector<int> bars;
  for (int i = 0; i < 8; ++i) bars.push_back(luma->at_pixel(80 * i + 40, 160));
  EXPECT_GT(bars.front(), 230);
  EXPECT_LT(bars.back(), 25);
  for (size_t i = 1; i < bars.size(); ++i) EXPECT_LT(bars[i], bars[i - 1] - 10) << i;
  expect_bridge_done(b, 640 * 480);
  stop_mock(m);
}

TEST_F(QemuConsoleTest, VncsnapshotThroughPvebridgeSeesQemusScreen) {
  require("qemu-system-x86_64", "qemu-system-x86");
  require("vncsnapshot", "vncsnapshot");
  MockPveproxy m({"--qemu"});
  ASSERT_TRUE(m.ok());
  Bridge b = start_bridge(m, "web01");
  ASSERT_NE(b.port, 0);
  ASSERT_EQ(vncsnapshot(b, path("qemu.jpg")), 0);
  Result<JpegLuma> luma = jpeg_block_luma(read_file(path("qemu.jpg")));
  ASSERT_TRUE(luma.ok()) << luma.error().message();
  // VGA text mode (720x400) once SeaBIOS runs; 640x480 for QEMU's own "not initialized" screen.
  EXPECT_GE(luma->width, 640);
  EXPECT_GE(luma->height, 400);
  EXPECT_GT(luma_spread(*luma), 40) << "a blank screen";
  expect_bridge_done(b, 640 * 400);
  EXPECT_TRUE(wait_for_log(m.process(), "qemu/100: VNC password set in QEMU, expires +30"));
  stop_mock(m);
}

TEST_F(QemuConsoleTest, TestViewerThroughPvebridgeReadsQemusDesktop) {
  require("qemu-system-x86_64", "qemu-system-x86");
  MockPveproxy m({"--qemu"});
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"connect", "web01", "--json", "--viewer", test_viewer_path()}),
                         token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string report = read_file(path("viewer.json"));
  EXPECT_EQ(json_get(report, "name"), "QEMU (web01)") << report;  // QEMU's, not the fake VM's
  EXPECT_EQ(json_get(report, "nonblank"), "true") << report;
  stop_mock(m);
}

// --- the password's life and QEMU's
// ----------------------------------------------------------------

TEST_F(QemuConsoleTest, QemuRefusesAnExpiredConsolePassword) {
  require("qemu-system-x86_64", "qemu-system-x86");
  // Expired as soon as the websocket connects: expire_password "now".
  MockPveproxy m({"--qemu", "--vnc-password-life-s", "-1"});
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"connect", "web01", "--json", "--viewer", test_viewer_path()}),
                         token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  std::string report = read_file(path("viewer.json"));
  EXPECT_TRUE(json_get(report, "error").has_value()) << report;
  EXPECT_FALSE(json_get(report, "name").has_value()) << report;
  EXPECT_TRUE(wait_for_log(m.process(), "expires now"));
  stop_mock(m);
}

TEST_F(QemuConsoleTest, QemuStartsAtTheFirstConsoleAndEndsWithTheMock) {
  require("qemu-system-x86_64", "qemu-system-x86");
  MockPveproxy m({"--qemu"});
  ASSERT_TRUE(m.ok());
  wait_for_log(m.process(), "listening on", 5000);
  EXPECT_FALSE(qemu_pid(m.process().stderr_text(), 100)) << "started before any console";
  auto r = run_pvebridge(args(m, {"connect", "web01", "--json", "--viewer", test_viewer_path()}),
                         token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_for_log(m.process(), "ready, VNC on "));  // logged after the pid
  std::optional<pid_t> pid = qemu_pid(m.process().stderr_text(), 100);
  ASSERT_TRUE(pid);
  EXPECT_FALSE(process_ended(*pid));
  const std::string dir = qemu_dir(m.process().stderr_text());
  ASSERT_FALSE(dir.empty());
  EXPECT_TRUE(file_exists(dir + "/100.qmp"));
  m.process().signal(SIGTERM);
  EXPECT_EQ(m.process().wait(kWaitMs), 0) << m.process().stderr_text();
  EXPECT_TRUE(process_ended(*pid));
  EXPECT_FALSE(file_exists(dir)) << "the sockets' directory is removed at exit";
}

TEST_F(QemuConsoleTest, QemuDiesWithAMockThatIsKilled) {
  require("qemu-system-x86_64", "qemu-system-x86");
  MockPveproxy m({"--qemu"});
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"connect", "web01", "--json", "--viewer", test_viewer_path()}),
                         token_env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(wait_for_log(m.process(), "ready, VNC on "));  // logged after the pid
  std::optional<pid_t> pid = qemu_pid(m.process().stderr_text(), 100);
  ASSERT_TRUE(pid);
  // No cleanup code runs in a SIGKILLed mock: PR_SET_PDEATHSIG ends its QEMU.
  const std::string dir = qemu_dir(m.process().stderr_text());
  m.process().signal(SIGKILL);
  m.process().wait(kWaitMs);
  EXPECT_TRUE(wait_until([&] { return process_ended(*pid); }));
  // What a killed mock cannot remove itself.
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  const std::string& ca = m.info().ca_file;
  std::filesystem::remove_all(ca.substr(0, ca.rfind('/')), ec);
}

TEST(QemuMockProgram, AMissingQemuIsACleanStartFailure) {
  ChildProcess mock({PVB_MOCK_PVEPROXY_PATH, "--qemu-binary", "/nonexistent/qemu-system-x86_64"},
                    base_env(), /*pipe_stdin=*/false);
  EXPECT_EQ(mock.wait(kWaitMs), 1);
  EXPECT_TRUE(mock.stdout_lines().empty()) << "a ready line without its QEMU";
  EXPECT_NE(mock.stderr_text().find("apt-get install qemu-system-x86"), std::string::npos)
      << mock.stderr_text();
}

}  // namespace
}  // namespace pvb::testing
