// The fake-vm program over real TCP: vncsnapshot (an independent RFB client with its own DES)
// takes pictures of it, our RfbTestClient connects to it, and its process lifecycle works.
#include <gtest/gtest.h>
#include <unistd.h>
#include <uv.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/loop.h"
#include "engine/rfb/vnc_auth.h"
#include "tests/fake_vm/fake_screen.h"
#include "tests/fake_vm/framebuffer.h"
#include "tests/fake_vm/rfb_client.h"
#include "transports/tcp/tcp_transport.h"

namespace pvb {
namespace {

namespace fs = std::filesystem;

// A child process with its stdout and stderr captured (and stdin a pipe we can close).
class ChildProcess {
 public:
  ChildProcess(Loop& loop, const std::vector<std::string>& argv, bool pipe_stdin = false)
      : loop_(loop), s_(new State) {
    uv_pipe_init(loop.raw(), &s_->in, 0);
    uv_pipe_init(loop.raw(), &s_->out, 0);
    uv_pipe_init(loop.raw(), &s_->err, 0);
    s_->open = 3;
    for (uv_pipe_t* p : {&s_->in, &s_->out, &s_->err}) p->data = s_;
    uv_stdio_container_t stdio[3];
    stdio[0].flags =
        pipe_stdin ? static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE) : UV_IGNORE;
    stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&s_->in);
    stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&s_->out);
    stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&s_->err);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    uv_process_options_t options{};
    options.file = args[0];
    options.args = args.data();
    options.stdio_count = 3;
    options.stdio = stdio;
    options.exit_cb = [](uv_process_t* p, int64_t status, int signal) {
      auto* s = static_cast<State*>(p->data);
      s->exited = true;
      s->exit_status = status;
      s->term_signal = signal;
    };
    s_->process.data = s_;
    spawn_error_ = uv_spawn(loop.raw(), &s_->process, &options);
    s_->open += 1;  // the process handle is initialized even when spawning failed
    if (spawn_error_ != 0) {
      s_->exited = true;
      return;
    }
    s_->stdin_open = pipe_stdin;
    for (uv_pipe_t* p : {&s_->out, &s_->err}) {
      uv_read_start(reinterpret_cast<uv_stream_t*>(p), &State::alloc, &State::read);
    }
  }

  ~ChildProcess() {
    if (!s_->exited) {
      uv_process_kill(&s_->process, SIGKILL);
      loop_.run_until([&] { return s_->exited; });
    }
    s_->orphaned = true;
    for (uv_handle_t* h :
         {reinterpret_cast<uv_handle_t*>(&s_->in), reinterpret_cast<uv_handle_t*>(&s_->out),
          reinterpret_cast<uv_handle_t*>(&s_->err), reinterpret_cast<uv_handle_t*>(&s_->process)}) {
      if (!uv_is_closing(h)) uv_close(h, &State::closed);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int spawn_error() const { return spawn_error_; }
  bool exited() const { return s_->exited; }
  // Exited, and everything it wrote to stdout and stderr has been read.
  bool finished() const {
    return s_->exited && (spawn_error_ != 0 || (s_->out_eof && s_->err_eof));
  }
  int64_t exit_status() const { return s_->exit_status; }
  int term_signal() const { return s_->term_signal; }
  const std::string& out() const { return s_->out_text; }
  const std::string& err() const { return s_->err_text; }
  void kill(int signum) { uv_process_kill(&s_->process, signum); }
  void close_stdin() {
    if (!s_->stdin_open) return;
    s_->stdin_open = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&s_->in), &State::closed);
  }

 private:
  // libuv handles stay alive until their close callbacks, possibly after this object.
  struct State {
    uv_process_t process;
    uv_pipe_t in, out, err;
    int open = 0;
    bool orphaned = false;
    bool exited = false;
    bool stdin_open = false;
    bool out_eof = false, err_eof = false;
    int64_t exit_status = -1;
    int term_signal = 0;
    std::string out_text, err_text;
    char buffer[4096];

    static void alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
      auto* s = static_cast<State*>(h->data);
      *buf = uv_buf_init(s->buffer, sizeof s->buffer);
    }
    static void read(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
      auto* s = static_cast<State*>(stream->data);
      const bool is_out = stream == reinterpret_cast<uv_stream_t*>(&s->out);
      if (n < 0) {
        uv_read_stop(stream);
        (is_out ? s->out_eof : s->err_eof) = true;
        return;
      }
      std::string& text = is_out ? s->out_text : s->err_text;
      text.append(buf->base, static_cast<size_t>(n));
    }
    static void closed(uv_handle_t* h) {
      auto* s = static_cast<State*>(h->data);
      if (--s->open == 0 && s->orphaned) delete s;
    }
  };

  Loop& loop_;
  State* s_;
  int spawn_error_ = 0;
};

// Runs the loop until pred() or until a generous guard expires (a hang guard, not a timing
// assertion: every awaited event normally comes in milliseconds).
bool await(Loop& loop, const std::function<bool()>& pred) {
  bool expired = false;
  Timer guard(loop);
  guard.start(30000, [&] { expired = true; });
  loop.run_until([&] { return pred() || expired; });
  return pred();
}

std::optional<std::string> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "fake-vm-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Width and height from a JPEG's start-of-frame marker, or nullopt if there is none.
std::optional<std::pair<int, int>> jpeg_size(const std::string& jpg) {
  if (jpg.size() < 4 || static_cast<uint8_t>(jpg[0]) != 0xFF ||
      static_cast<uint8_t>(jpg[1]) != 0xD8) {
    return std::nullopt;
  }
  size_t i = 2;
  while (i + 9 < jpg.size()) {
    if (static_cast<uint8_t>(jpg[i]) != 0xFF) return std::nullopt;
    const auto marker = static_cast<uint8_t>(jpg[i + 1]);
    const size_t length = static_cast<uint8_t>(jpg[i + 2]) << 8 | static_cast<uint8_t>(jpg[i + 3]);
    if (marker >= 0xC0 && marker <= 0xC3) {
      auto u16 = [&](size_t at) {
        return static_cast<uint8_t>(jpg[at]) << 8 | static_cast<uint8_t>(jpg[at + 1]);
      };
      return std::make_pair(u16(i + 7), u16(i + 5));
    }
    i += 2 + length;
  }
  return std::nullopt;
}

// fake-vm started with the given arguments, its port read from the JSON line it prints.
struct FakeVmProcess {
  std::unique_ptr<ChildProcess> child;
  uint16_t port = 0;

  FakeVmProcess(Loop& loop, std::vector<std::string> args, bool pipe_stdin = false) {
    args.insert(args.begin(), PVB_FAKE_VM_PATH);
    child = std::make_unique<ChildProcess>(loop, args, pipe_stdin);
    EXPECT_EQ(child->spawn_error(), 0);
    bool ready = await(
        loop, [&] { return child->out().find('\n') != std::string::npos || child->finished(); });
    const std::string& line = child->out();
    const std::string key = "{\"port\":";
    if (!ready || line.compare(0, key.size(), key) != 0) {
      ADD_FAILURE() << "fake-vm did not report its port; stdout: " << line
                    << " stderr: " << child->err();
      return;
    }
    port = static_cast<uint16_t>(std::stoi(line.substr(key.size())));
  }
};

// Independent RFB clients run against the fake-vm program.
class InteropTest : public ::testing::Test {
 protected:
  Loop loop_;
  TempDir dir_;
};

class VncsnapshotInterop : public InteropTest {
 protected:
  void SetUp() override {
    vncsnapshot_ = find_in_path("vncsnapshot");
    if (!vncsnapshot_) GTEST_SKIP() << "vncsnapshot is not installed";
    ASSERT_FALSE(dir_.path.empty());
  }

  fs::path write_password_file(const std::string& password) {
    std::array<uint8_t, 8> bytes = vnc_password_file_bytes(password);
    fs::path p = dir_.path / "passwd";
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return p;
  }

  // Runs vncsnapshot to completion; returns it for its exit status and output.
  std::unique_ptr<ChildProcess> snapshot(uint16_t port, std::optional<fs::path> passwd,
                                         const fs::path& out) {
    std::vector<std::string> args = {*vncsnapshot_};
    if (passwd) {
      args.push_back("-passwd");
      args.push_back(passwd->string());
    }
    for (const char* a : {"-allowblank", "-encodings", "raw"}) args.push_back(a);
    args.push_back("127.0.0.1::" + std::to_string(port));
    args.push_back(out.string());
    auto child = std::make_unique<ChildProcess>(loop_, args);
    EXPECT_EQ(child->spawn_error(), 0);
    EXPECT_TRUE(await(loop_, [&] { return child->finished(); })) << "vncsnapshot hung";
    return child;
  }

  void expect_picture(const ChildProcess& run, const fs::path& out, int width, int height) {
    EXPECT_EQ(run.exit_status(), 0) << "stdout: " << run.out() << "\nstderr: " << run.err();
    std::string jpg = read_file(out);
    ASSERT_GT(jpg.size(), 1000u);
    std::optional<std::pair<int, int>> size = jpeg_size(jpg);
    ASSERT_TRUE(size) << "not a JPEG";
    EXPECT_EQ(size->first, width);
    EXPECT_EQ(size->second, height);
  }

  std::optional<std::string> vncsnapshot_;
};

TEST_F(VncsnapshotInterop, PictureWithTheRightPassword) {
  FakeVmProcess vm(loop_,
                   {"--listen", "127.0.0.1:0", "--password", "Pr0xm0x!", "--name", "snap-guest"});
  ASSERT_NE(vm.port, 0);
  fs::path out = dir_.path / "out.jpg";
  auto run = snapshot(vm.port, write_password_file("Pr0xm0x!"), out);
  expect_picture(*run, out, 640, 480);
  EXPECT_TRUE(await(loop_, [&] {
    return vm.child->err().find("authenticated") != std::string::npos;
  })) << vm.child->err();
}

TEST_F(VncsnapshotInterop, PictureOverRfb33AndCustomSize) {
  FakeVmProcess vm(loop_, {"--password", "old-vnc", "--rfb", "3.3", "--size", "320x200"});
  ASSERT_NE(vm.port, 0);
  fs::path out = dir_.path / "out33.jpg";
  auto run = snapshot(vm.port, write_password_file("old-vnc"), out);
  expect_picture(*run, out, 320, 200);
}

TEST_F(VncsnapshotInterop, PictureWithoutAuthentication) {
  FakeVmProcess vm(loop_, {"--no-auth", "--name", "open"});
  ASSERT_NE(vm.port, 0);
  fs::path out = dir_.path / "open.jpg";
  auto run = snapshot(vm.port, std::nullopt, out);
  expect_picture(*run, out, 640, 480);
}

TEST_F(VncsnapshotInterop, WrongPasswordIsRefused) {
  FakeVmProcess vm(loop_, {"--password", "correct1"});
  ASSERT_NE(vm.port, 0);
  fs::path out = dir_.path / "denied.jpg";
  auto run = snapshot(vm.port, write_password_file("wrong-pw"), out);
  EXPECT_NE(run->exit_status(), 0);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(await(loop_, [&] {
    return vm.child->err().find("wrong VNC password") != std::string::npos;
  })) << vm.child->err();
  // The password itself never appears in the log.
  EXPECT_EQ(vm.child->err().find("correct1"), std::string::npos);
}

// Net::VNC (libnet-vnc-perl's vnccapture) is a second independent client, and the one that
// speaks RFB 3.8 like QEMU's real peers (vncsnapshot stops at 3.3): its own DES (Crypt::DES), its
// own SetPixelFormat for 32 and 16 bpp. Its "P8" output is raw RGBA, compared pixel for pixel.
class NetVncInterop : public InteropTest {
 protected:
  void SetUp() override {
    vnccapture_ = find_in_path("vnccapture");
    if (!vnccapture_) GTEST_SKIP() << "vnccapture (libnet-vnc-perl) is not installed";
    ASSERT_FALSE(dir_.path.empty());
  }

  std::unique_ptr<ChildProcess> capture(uint16_t port, const std::string& password, int depth,
                                        const fs::path& out) {
    auto child = std::make_unique<ChildProcess>(
        loop_, std::vector<std::string>{*vnccapture_, "-H", "127.0.0.1", "-p", std::to_string(port),
                                        "-P", password, "-d", std::to_string(depth), "-t", "ppm",
                                        "-o", out.string()});
    EXPECT_EQ(child->spawn_error(), 0);
    EXPECT_TRUE(await(loop_, [&] { return child->finished(); })) << "vnccapture hung";
    return child;
  }

  // Imlib2's "P8" image: a PNM-style text header, then RGBA bytes.
  struct Rgba {
    int width = 0, height = 0;
    std::string pixels;
    uint32_t rgb(int x, int y) const {
      const auto* p = reinterpret_cast<const uint8_t*>(pixels.data()) + (y * width + x) * 4;
      return uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2];
    }
  };
  static std::optional<Rgba> read_p8(const std::string& file) {
    std::istringstream in(file);
    std::string magic, line;
    std::getline(in, magic);
    if (magic != "P8") return std::nullopt;
    while (in.peek() == '#') std::getline(in, line);
    Rgba image;
    int maxval = 0;
    in >> image.width >> image.height >> maxval;
    in.get();  // the single whitespace before the pixels
    if (!in || maxval != 255) return std::nullopt;
    image.pixels = file.substr(static_cast<size_t>(in.tellg()));
    if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * 4) {
      return std::nullopt;
    }
    return image;
  }

  std::optional<std::string> vnccapture_;
};

TEST_F(NetVncInterop, Rfb38CaptureMatchesTheFramebufferExactly) {
  // Frozen, so the activity strip shows a known tick.
  FakeVmProcess vm(loop_, {"--password", "perl-pw!", "--name", "perl-guest", "--freeze-at", "5"});
  ASSERT_NE(vm.port, 0);
  fs::path out = dir_.path / "cap.ppm";
  auto run = capture(vm.port, "perl-pw!", 24, out);
  ASSERT_EQ(run->exit_status(), 0) << run->err();
  std::optional<Rgba> image = read_p8(read_file(out));
  ASSERT_TRUE(image);
  ASSERT_EQ(image->width, 640);
  ASSERT_EQ(image->height, 480);
  Framebuffer expected = FakeScreen::render(640, 480, "perl-guest", 5);
  size_t mismatches = 0;
  for (int y = 0; y < 480; ++y) {
    for (int x = 0; x < 640; ++x) mismatches += image->rgb(x, y) != expected.at(x, y);
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST_F(NetVncInterop, SixteenBitCapture) {
  FakeVmProcess vm(loop_, {"--password", "perl16", "--size", "160x120", "--freeze-at", "0"});
  ASSERT_NE(vm.port, 0);
  fs::path out = dir_.path / "cap16.ppm";
  auto run = capture(vm.port, "perl16", 16, out);
  ASSERT_EQ(run->exit_status(), 0) << run->err();
  std::optional<Rgba> image = read_p8(read_file(out));
  ASSERT_TRUE(image);
  ASSERT_EQ(image->width, 160);
  ASSERT_EQ(image->height, 120);
  // 5-6-5 loses low bits: compare each channel within a quantization step (8.2 for 5 bits; we
  // round to the nearest step, Net::VNC widens by shifting, so arbitrary colours such as the
  // activity strip's noise can be off by a little more than one step).
  Framebuffer expected = FakeScreen::render(160, 120, "fake-vm", 0);
  for (int y = 0; y < 120; y += 7) {
    for (int x = 0; x < 160; x += 5) {
      uint32_t got = image->rgb(x, y), want = expected.at(x, y);
      for (int shift : {16, 8, 0}) {
        int g = (got >> shift) & 0xFF, w = (want >> shift) & 0xFF;
        EXPECT_LE(std::abs(g - w), 12) << x << "," << y;
      }
    }
  }
}

TEST_F(NetVncInterop, WrongPasswordIsRefused) {
  FakeVmProcess vm(loop_, {"--password", "perl-pw!"});
  ASSERT_NE(vm.port, 0);
  fs::path out = dir_.path / "denied.ppm";
  auto run = capture(vm.port, "perl-pw?", 24, out);
  EXPECT_NE(run->exit_status(), 0);
  EXPECT_FALSE(fs::exists(out));
}

// --- the program with our own client, and its lifecycle ---------------------------------------

TEST(FakeVmProgram, ServesSeveralTcpClientsAtOnce) {
  Loop loop;
  FakeVmProcess vm(loop, {"--password", "tcp-pw", "--name", "tcp-guest", "--size", "200x100",
                          "--incremental-delay-ms", "1"});
  ASSERT_NE(vm.port, 0);
  std::vector<std::unique_ptr<RfbTestClient>> clients;
  std::vector<std::optional<Result<RfbSnapshot>>> results(3);
  for (size_t i = 0; i < results.size(); ++i) {
    auto tcp = TcpTransport::connect(loop, TcpConnectOptions{"127.0.0.1", vm.port});
    RfbClientOptions options;
    options.password = "tcp-pw";
    clients.push_back(std::make_unique<RfbTestClient>(
        std::move(tcp), options,
        [&results, i](Result<RfbSnapshot> r) { results[i] = std::move(r); }));
    clients.back()->start();
  }
  ASSERT_TRUE(await(loop, [&] {
    for (auto& r : results) {
      if (!r) return false;
    }
    return true;
  }));
  for (auto& r : results) {
    ASSERT_TRUE(r->ok()) << r->error().message();
    EXPECT_EQ(r->value().name, "tcp-guest");
    EXPECT_EQ(r->value().width, 200);
    EXPECT_EQ(r->value().height, 100);
    EXPECT_EQ(r->value().pixels, results[0]->value().pixels);
    std::set<uint32_t> colours;
    for (size_t p = 0; p + 4 <= r->value().pixels.size(); p += 4) {
      colours.insert(r->value().pixels[p] | r->value().pixels[p + 1] << 8 |
                     r->value().pixels[p + 2] << 16);
    }
    EXPECT_GE(colours.size(), 8u);
  }
  // An incremental poll is answered (after the configured delay).
  bool updated = false;
  clients[0]->set_on_update([&] { updated = true; });
  ASSERT_TRUE(clients[0]->request_update(true));
  EXPECT_TRUE(await(loop, [&] { return updated; }));
}

TEST(FakeVmProgram, ExitsCleanlyOnSigintAndSigterm) {
  for (int signum : {SIGINT, SIGTERM}) {
    Loop loop;
    FakeVmProcess vm(loop, {"--password", "x"});
    ASSERT_NE(vm.port, 0);
    vm.child->kill(signum);
    ASSERT_TRUE(await(loop, [&] { return vm.child->exited(); }));
    EXPECT_EQ(vm.child->exit_status(), 0) << signum;
    EXPECT_EQ(vm.child->term_signal(), 0) << signum;
  }
}

TEST(FakeVmProgram, ExitsWhenStdinCloses) {
  Loop loop;
  FakeVmProcess vm(loop, {"--password", "x", "--exit-on-stdin-eof"}, /*pipe_stdin=*/true);
  ASSERT_NE(vm.port, 0);
  EXPECT_FALSE(vm.child->exited());
  vm.child->close_stdin();
  ASSERT_TRUE(await(loop, [&] { return vm.child->exited(); }));
  EXPECT_EQ(vm.child->exit_status(), 0);
}

TEST(FakeVmProgram, BadArgumentsExitWithUsage) {
  Loop loop;
  const std::vector<std::vector<std::string>> bad = {
      {"--name", "no-password"},
      {"--password", "x", "--no-auth"},
      {"--password", "x", "--rfb", "4.0"},
      {"--password", "x", "--size", "0x10"},
      {"--password", "x", "--listen", "nonsense"},
      {"--password", "x", "--listen", "0.0.0.0:0"},  // loopback only
      {"--password", "x", "--bogus"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> argv = args;
    argv.insert(argv.begin(), PVB_FAKE_VM_PATH);
    ChildProcess child(loop, argv);
    ASSERT_TRUE(await(loop, [&] { return child.finished(); }));
    EXPECT_EQ(child.exit_status(), 2) << args.back() << ": " << child.err();
    EXPECT_TRUE(child.out().empty()) << "printed a port for bad arguments: " << child.out();
    EXPECT_NE(child.err().find("fake-vm: "), std::string::npos) << child.err();
  }
}

}  // namespace
}  // namespace pvb
