// pvb-vnc-check: a VNC client built on libvncclient (Debian libvncserver-dev: the library of
// Remmina and vncsnapshot), for tests that need an independent viewer. It connects, decodes
// updates in the encodings it is told to ask for, can type keys, and writes and compares its
// final framebuffer:
//
//   pvb-vnc-check HOST:PORT [--password-file PATH | --password-stdin]
//                 [--encodings "tight zrle hextile zlib raw"] [--quality 0-9] [--compress 0-9]
//                 [--bpp 32|16] [--seconds N] [--updates N] [--type TEXT] [--key-interval-ms N]
//                 [--type-on-signal] [--hold KEYSYM]
//                 [--out PPM] [--expect PPM [--tolerance MEAN] [--until-match]]
//                 [--update-log PATH]
//
// The password never comes from the command line (argv is visible to every user): from the
// first line of a file, or from standard input. --encodings is libvncclient's own list (its
// names; it adds its pseudo-encodings itself). JPEG is off unless --quality is given. It runs
// until N updates have arrived or N seconds have passed (default: one update), requesting
// incremental updates after each one. --type sends each character as a key press and release,
// one every --key-interval-ms (default 20), starting after the first update, or with
// --type-on-signal when SIGUSR2 arrives (so a test can type at a moment of its choosing, e.g.
// while the bridge is reconnecting). --hold presses KEYSYM (hex, e.g. 0xffe1 for Shift_L) after
// the first update and never releases it: a key held down across whatever the test does.
//
// --out is written at the end and whenever SIGUSR1 arrives during the run (atomically), so a
// test can compare the viewer's picture with the VM's at several points of one session.
//
// --update-log appends a line per FramebufferUpdate as it is decoded: the time on the system's
// monotonic clock (CLOCK_MONOTONIC, ms, the clock other local processes log on) and the pixel
// area its rectangles covered ("12345.678 307200"), for benches that time what a viewer sees.
//
// --expect compares the final framebuffer with a PPM (the fake VM's --dump-path): exact by
// default; --tolerance allows a mean absolute channel difference (for JPEG). With --until-match
// it stops as soon as the framebuffer matches. The expected picture is first reduced to the
// pixel format in use (16 bpp keeps 5-6-5 bits), so lossless encodings compare exactly.
//
// Exit codes: 0 success; 2 bad arguments; 3 cannot connect; 4 authentication failed (the server
// refused after we answered its VNC challenge); 5 protocol error or connection lost; 6 the
// framebuffer differs from --expect; 7 local file error (password file, --out, --expect).
#include <netdb.h>
#include <rfb/rfbclient.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "tests/vnc_check/ppm.h"

// libvncclient 0.9.14 (Debian 12) never frees its JPEG decompressor (fixed upstream after
// 0.9.14: LibVNC/libvncserver 7c1a422e "libvncclient: fix possible memory leak"). It exports its
// bundled turbojpeg wrapper, so we free the handle ourselves before rfbClientCleanup.
extern "C" int tjDestroy(void* handle);

namespace pvb {
namespace {

constexpr int kExitUsage = 2, kExitConnect = 3, kExitAuth = 4, kExitProtocol = 5, kExitMismatch = 6,
              kExitLocal = 7;

constexpr const char* kUsage =
    "usage: pvb-vnc-check HOST:PORT [--password-file PATH | --password-stdin]\n"
    "         [--encodings LIST] [--quality 0-9] [--compress 0-9] [--bpp 32|16]\n"
    "         [--seconds N] [--updates N] [--type TEXT] [--key-interval-ms N]\n"
    "         [--type-on-signal] [--hold KEYSYM]\n"
    "         [--out PPM] [--expect PPM [--tolerance MEAN] [--until-match]]\n"
    "         [--update-log PATH]\n"
    "exit: 0 ok, 2 usage, 3 connect, 4 auth, 5 protocol/connection lost, 6 mismatch, 7 files\n";

struct Options {
  std::string host;
  int port = 0;
  std::optional<std::string> password;
  std::string password_file;
  bool password_stdin = false;
  std::string encodings = "tight zrle hextile zlib raw";
  int quality = -1;
  int compress = -1;
  int bpp = 32;
  double seconds = 0;
  long updates = 0;
  std::string type;
  int key_interval_ms = 20;
  bool type_on_signal = false;  // --type-on-signal: typing starts at SIGUSR2
  uint32_t hold = 0;            // --hold: a keysym pressed after the first update, never released
  std::string out, expect, update_log;
  double tolerance = 0;
  bool until_match = false;
};

struct State {
  const Options* options = nullptr;
  bool password_asked = false;
  long updates = 0;
  long rects = 0;              // pixel rectangles decoded
  uint64_t area = 0;           // pixels covered by the update being decoded
  FILE* update_log = nullptr;  // --update-log
};

int tag;  // rfbClientSetClientData's key

State& state_of(rfbClient* c) {
  return *static_cast<State*>(rfbClientGetClientData(c, &tag));
}

char* get_password(rfbClient* c) {
  State& s = state_of(c);
  s.password_asked = true;
  return strdup(s.options->password ? s.options->password->c_str() : "");
}

void finished_update(rfbClient* c) {
  State& s = state_of(c);
  ++s.updates;
  if (s.update_log) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    std::fprintf(s.update_log, "%.3f %llu\n", now.tv_sec * 1e3 + now.tv_nsec / 1e6,
                 static_cast<unsigned long long>(s.area));
    std::fflush(s.update_log);
  }
  s.area = 0;
}

void got_rect(rfbClient* c, int, int, int w, int h) {
  State& s = state_of(c);
  ++s.rects;
  if (w > 0 && h > 0) s.area += static_cast<uint64_t>(w) * static_cast<uint64_t>(h);
}

volatile sig_atomic_t dump_requested = 0;
void on_sigusr1(int) {
  dump_requested = 1;
}
volatile sig_atomic_t typing_allowed = 0;  // --type-on-signal: set by SIGUSR2
void on_sigusr2(int) {
  typing_allowed = 1;
}

// libvncclient's chatter goes to stderr only with PVB_VNC_CHECK_VERBOSE set.
bool verbose = false;
void log_quiet(const char* format, ...) {
  if (!verbose) return;
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
}

std::optional<long> number(std::string_view s, long lo, long hi) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  long v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + (ch - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

// An error message, or nullopt when the arguments are good.
std::optional<std::string> parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    if (a == "--password-stdin") {
      o.password_stdin = true;
    } else if (a == "--until-match") {
      o.until_match = true;
    } else if (a == "--type-on-signal") {
      o.type_on_signal = true;
    } else if (a.size() > 2 && a.substr(0, 2) == "--") {
      auto v = value();
      if (!v) return std::string(a) + " needs a value";
      std::optional<long> n;
      if (a == "--password-file") {
        o.password_file = std::string(*v);
      } else if (a == "--encodings") {
        o.encodings = std::string(*v);
      } else if (a == "--quality" || a == "--compress") {
        if (!(n = number(*v, 0, 9))) return std::string(a) + " wants 0..9";
        (a == "--quality" ? o.quality : o.compress) = static_cast<int>(*n);
      } else if (a == "--bpp") {
        if (*v != "32" && *v != "16") return std::string("--bpp wants 32 or 16");
        o.bpp = *v == "32" ? 32 : 16;
      } else if (a == "--seconds") {
        if (!(n = number(*v, 0, 86400))) return std::string("--seconds wants 0..86400");
        o.seconds = static_cast<double>(*n);
      } else if (a == "--updates") {
        if (!(n = number(*v, 1, 100000000))) return std::string("--updates wants a count");
        o.updates = *n;
      } else if (a == "--type") {
        o.type = std::string(*v);
      } else if (a == "--key-interval-ms") {
        if (!(n = number(*v, 0, 60000))) return std::string("--key-interval-ms wants 0..60000");
        o.key_interval_ms = static_cast<int>(*n);
      } else if (a == "--hold") {
        const std::string text(*v);
        char* end = nullptr;
        const unsigned long keysym = std::strtoul(text.c_str(), &end, 16);
        if (end == text.c_str() || *end != '\0' || keysym == 0 || keysym > 0xffffffffUL) {
          return std::string("--hold wants a keysym in hex, e.g. 0xffe1");
        }
        o.hold = static_cast<uint32_t>(keysym);
      } else if (a == "--out") {
        o.out = std::string(*v);
      } else if (a == "--expect") {
        o.expect = std::string(*v);
      } else if (a == "--update-log") {
        o.update_log = std::string(*v);
      } else if (a == "--tolerance") {
        char* end = nullptr;
        const std::string text(*v);
        o.tolerance = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !(o.tolerance >= 0) || o.tolerance > 255) {
          return std::string("--tolerance wants a number 0..255");
        }
      } else {
        return "unknown option " + std::string(a);
      }
    } else if (o.host.empty()) {
      const size_t colon = a.rfind(':');
      std::optional<long> port;
      if (colon == std::string_view::npos || colon == 0 ||
          !(port = number(a.substr(colon + 1), 1, 65535))) {
        return "the server must be HOST:PORT, got " + std::string(a);
      }
      std::string_view host = a.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      o.host = std::string(host);
      o.port = static_cast<int>(*port);
    } else {
      return "unexpected argument " + std::string(a);
    }
  }
  if (o.host.empty()) return std::string("no HOST:PORT given");
  if (o.password_stdin && !o.password_file.empty()) {
    return std::string("give at most one of --password-file and --password-stdin");
  }
  if (o.until_match && o.expect.empty()) return std::string("--until-match needs --expect");
  if (o.seconds == 0 && o.updates == 0) o.updates = 1;
  return std::nullopt;
}

bool read_password(Options& o) {
  if (!o.password_stdin && o.password_file.empty()) return true;
  std::string line;
  if (o.password_stdin) {
    if (!std::getline(std::cin, line) && line.empty()) return false;
  } else {
    FILE* f = std::fopen(o.password_file.c_str(), "r");
    if (!f) return false;
    char buf[1024];
    const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
    std::fclose(f);
    if (got) line = buf;
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  o.password = line;
  return true;
}

int connect_tcp(const Options& o) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &list) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = list; ai && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(list);
  return fd;
}

uint32_t scale_down(uint32_t v8, uint32_t max) {
  return (v8 * max + 127) / 255;
}
uint32_t scale_up(uint32_t v, uint32_t max) {
  return max == 0 ? 0 : (v * 255 + max / 2) / max;
}

// The client's framebuffer as 8-bit RGB (its pixels are in client->format, host byte order).
RgbImage framebuffer_image(rfbClient* c) {
  RgbImage img;
  img.width = c->width;
  img.height = c->height;
  img.rgb.resize(static_cast<size_t>(img.width) * img.height * 3);
  const int bytes = c->format.bitsPerPixel / 8;
  for (size_t i = 0; i < static_cast<size_t>(img.width) * img.height; ++i) {
    uint32_t v = 0;
    std::memcpy(&v, c->frameBuffer + i * bytes, static_cast<size_t>(bytes));
    img.rgb[3 * i] = static_cast<uint8_t>(
        scale_up((v >> c->format.redShift) & c->format.redMax, c->format.redMax));
    img.rgb[3 * i + 1] = static_cast<uint8_t>(
        scale_up((v >> c->format.greenShift) & c->format.greenMax, c->format.greenMax));
    img.rgb[3 * i + 2] = static_cast<uint8_t>(
        scale_up((v >> c->format.blueShift) & c->format.blueMax, c->format.blueMax));
  }
  return img;
}

// The expected picture as this pixel format can show it.
RgbImage quantised(const RgbImage& in, const rfbPixelFormat& f) {
  RgbImage out = in;
  const uint32_t max[3] = {f.redMax, f.greenMax, f.blueMax};
  for (size_t i = 0; i < out.rgb.size(); ++i) {
    const uint32_t m = max[i % 3];
    out.rgb[i] = static_cast<uint8_t>(scale_up(scale_down(out.rgb[i], m), m));
  }
  return out;
}

bool matches(const ImageDifference& d, double tolerance) {
  if (!d.same_size) return false;
  return tolerance == 0 ? d.differing_pixels == 0 : d.mean_channel_difference <= tolerance;
}

int run(int argc, char** argv) {
  verbose = std::getenv("PVB_VNC_CHECK_VERBOSE") != nullptr;
  Options o;
  if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (std::optional<std::string> problem = parse(argc, argv, o)) {
    std::fprintf(stderr, "pvb-vnc-check: %s\n%s", problem->c_str(), kUsage);
    return kExitUsage;
  }
  if (!read_password(o)) {
    std::fprintf(stderr, "pvb-vnc-check: cannot read the password\n");
    return kExitLocal;
  }
  std::optional<RgbImage> expected;
  if (!o.expect.empty()) {
    std::string error;
    expected = read_ppm(o.expect, &error);
    if (!expected) {
      std::fprintf(stderr, "pvb-vnc-check: %s\n", error.c_str());
      return kExitLocal;
    }
  }

  // SIGUSR1 writes --out during the run. SA_RESTART: libvncclient's reads must not see EINTR.
  struct sigaction sa {};
  sa.sa_handler = on_sigusr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_sigusr2;
  sigaction(SIGUSR2, &sa, nullptr);
  const int fd = connect_tcp(o);
  if (fd < 0) {
    std::fprintf(stderr, "pvb-vnc-check: cannot connect to %s:%d\n", o.host.c_str(), o.port);
    return kExitConnect;
  }
  rfbClientLog = log_quiet;
  rfbClientErr = log_quiet;
  rfbClient* c = o.bpp == 32 ? rfbGetClient(8, 3, 4) : rfbGetClient(5, 3, 2);
  if (o.bpp == 16) {
    // 5-6-5, as QEMU's 16-bit guests and most viewers use.
    c->format.depth = 16;
    c->format.redMax = 31;
    c->format.greenMax = 63;
    c->format.blueMax = 31;
    c->format.redShift = 11;
    c->format.greenShift = 5;
    c->format.blueShift = 0;
  }
  State state;
  state.options = &o;
  rfbClientSetClientData(c, &tag, &state);
  c->GetPassword = get_password;
  c->FinishedFrameBufferUpdate = finished_update;
  c->GotFrameBufferUpdate = got_rect;
  c->appData.encodingsString = o.encodings.c_str();
  c->appData.enableJPEG = o.quality >= 0;
  c->appData.qualityLevel = o.quality >= 0 ? o.quality : 5;
  c->appData.compressLevel = o.compress;
  c->appData.useRemoteCursor = FALSE;
  c->readTimeout = 30;
  c->sock = fd;
  free(c->serverHost);  // rfbGetClient's empty default
  c->serverHost = strdup(o.host.c_str());
  c->serverPort = o.port;

  int code = 0;
  auto finish = [&](int exit_code) {
    free(c->frameBuffer);
    c->frameBuffer = nullptr;
    if (c->tjhnd) tjDestroy(c->tjhnd);
    c->tjhnd = nullptr;
    rfbClientCleanup(c);  // closes the socket
    if (state.update_log) std::fclose(state.update_log);
    return exit_code;
  };
  if (!o.update_log.empty() && !(state.update_log = std::fopen(o.update_log.c_str(), "ae"))) {
    std::fprintf(stderr, "pvb-vnc-check: cannot open --update-log %s\n", o.update_log.c_str());
    return finish(kExitLocal);
  }
  if (!InitialiseRFBConnection(c)) {
    if (state.password_asked) {
      std::fprintf(stderr, "pvb-vnc-check: authentication failed\n");
      return finish(kExitAuth);
    }
    std::fprintf(stderr, "pvb-vnc-check: the RFB handshake failed\n");
    return finish(kExitProtocol);
  }
  c->width = c->si.framebufferWidth;
  c->height = c->si.framebufferHeight;
  // libvncclient asks for the next (incremental) update itself after each one, for this
  // rectangle, which only rfbInitClient would set up; its resizes keep it up to date.
  c->updateRect.x = c->updateRect.y = 0;
  c->updateRect.w = c->width;
  c->updateRect.h = c->height;
  if (!c->MallocFrameBuffer(c) || !SetFormatAndEncodings(c) ||
      !SendFramebufferUpdateRequest(c, 0, 0, c->width, c->height, FALSE)) {
    std::fprintf(stderr, "pvb-vnc-check: could not start the session\n");
    return finish(kExitProtocol);
  }
  // A line a test can wait for before it signals us.
  std::fprintf(stderr, "pvb-vnc-check: connected to %s:%d, %dx%d\n", o.host.c_str(), o.port,
               c->width, c->height);

  // --out, now: at the end, and on SIGUSR1 during the run.
  auto write_out = [&] {
    std::string error;
    if (write_ppm(o.out, framebuffer_image(c), &error)) return true;
    std::fprintf(stderr, "pvb-vnc-check: %s\n", error.c_str());
    return false;
  };
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  size_t typed = 0;
  auto next_key = Clock::now();
  bool held = false;
  bool matched = false;
  long seen = 0;
  for (;;) {
    if (o.updates > 0 && state.updates >= o.updates && typed == o.type.size()) break;
    if (o.seconds > 0 && elapsed() >= o.seconds) break;
    if (state.updates > 0 && o.hold != 0 && !held) {
      held = true;
      if (!SendKeyEvent(c, o.hold, TRUE)) {
        std::fprintf(stderr, "pvb-vnc-check: the connection broke while pressing --hold\n");
        return finish(kExitProtocol);
      }
      std::fprintf(stderr, "pvb-vnc-check: holding 0x%x\n", o.hold);
    }
    const bool may_type = !o.type_on_signal || typing_allowed;
    if (state.updates > 0 && may_type && typed < o.type.size() && Clock::now() >= next_key) {
      const auto key = static_cast<uint32_t>(static_cast<unsigned char>(o.type[typed++]));
      if (!SendKeyEvent(c, key, TRUE) || !SendKeyEvent(c, key, FALSE)) {
        std::fprintf(stderr, "pvb-vnc-check: the connection broke while typing\n");
        return finish(kExitProtocol);
      }
      next_key = Clock::now() + std::chrono::milliseconds(o.key_interval_ms);
      if (typed == o.type.size()) std::fprintf(stderr, "pvb-vnc-check: typed %zu keys\n", typed);
    }
    if (dump_requested) {
      dump_requested = 0;
      if (!o.out.empty() && !write_out()) return finish(kExitLocal);
    }
    const int ready = WaitForMessage(c, 20000);
    if (ready < 0 && errno == EINTR) continue;  // SIGUSR1 (select is never restarted)
    if (ready < 0) {
      std::fprintf(stderr, "pvb-vnc-check: the connection failed\n");
      return finish(kExitProtocol);
    }
    if (ready == 0) continue;
    if (!HandleRFBServerMessage(c)) {
      std::fprintf(stderr, "pvb-vnc-check: protocol error or connection lost after %ld updates\n",
                   state.updates);
      return finish(kExitProtocol);
    }
    if (state.updates > seen) {
      seen = state.updates;
      if (o.until_match &&
          matches(compare_images(framebuffer_image(c), quantised(*expected, c->format)),
                  o.tolerance)) {
        matched = true;
        break;
      }
    }
  }

  const RgbImage image = framebuffer_image(c);
  std::fprintf(stderr, "pvb-vnc-check: %ld updates, %ld rectangles, %dx%d, %.1f s\n", state.updates,
               state.rects, image.width, image.height, elapsed());
  if (!o.out.empty()) {
    std::string error;
    if (!write_ppm(o.out, image, &error)) {
      std::fprintf(stderr, "pvb-vnc-check: %s\n", error.c_str());
      return finish(kExitLocal);
    }
  }
  if (expected) {
    const ImageDifference d = compare_images(image, quantised(*expected, c->format));
    if (!matched && !matches(d, o.tolerance)) {
      if (!d.same_size) {
        std::fprintf(stderr, "pvb-vnc-check: mismatch: %dx%d, expected %dx%d\n", image.width,
                     image.height, expected->width, expected->height);
      } else {
        std::fprintf(stderr,
                     "pvb-vnc-check: mismatch: %llu pixels differ, max channel difference %d, "
                     "mean %.3f (tolerance %.3f)\n",
                     static_cast<unsigned long long>(d.differing_pixels), d.max_channel_difference,
                     d.mean_channel_difference, o.tolerance);
      }
      code = kExitMismatch;
    } else {
      std::fprintf(stderr, "pvb-vnc-check: matches (mean channel difference %.3f)\n",
                   d.mean_channel_difference);
    }
  }
  return finish(code);
}

}  // namespace
}  // namespace pvb

int main(int argc, char** argv) {
  return pvb::run(argc, argv);
}
