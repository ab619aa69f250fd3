// fake-vm: a stand-in for a Proxmox guest's VNC console. Listens on loopback TCP and serves every
// connection with an RfbServer (RFB 3.8 or 3.3, VNC Authentication or None), so viewers and
// vncsnapshot can be pointed at it and tests can run the whole bridge without a hypervisor.
//
//   fake-vm --listen 127.0.0.1:0 --password PW --name NAME [--rfb 3.3|3.7|3.8] [--size WxH]
//           [--no-auth] [--incremental-delay-ms N] [--exit-on-stdin-eof]
//           [--tick-ms N] [--freeze-at TICK] [--dump-path PATH] [--alt-size WxH] [--key-log PATH]
//
// All connections share one screen (fake_screen.h) that changes every tick. Signals:
//   SIGUSR1  write the screen as it is now to --dump-path (a PPM, replaced atomically)
//   SIGUSR2  with --freeze-at: advance the frozen screen by one tick
//   SIGHUP   with --alt-size: switch between --size and --alt-size (clients that announced
//            DesktopSize or ExtendedDesktopSize are told in their next update)
//
// Prints one JSON line {"port":N} on stdout when it is ready. Exits 0 on SIGINT/SIGTERM (or when
// stdin reaches end of file, with --exit-on-stdin-eof); 2 on bad arguments, 1 if it cannot listen
// (or open --key-log).
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/json_writer.h"
#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "tests/fake_vm/rfb_server.h"
#include "transports/tcp/tcp_listener.h"
#include "transports/testing/stdin_eof_watch.h"

namespace pvb {
namespace {

constexpr const char* kUsage =
    "usage: fake-vm [--listen HOST:PORT] (--password PW | --no-auth) [--name NAME]\n"
    "               [--rfb 3.3|3.7|3.8] [--size WxH] [--incremental-delay-ms N]\n"
    "               [--exit-on-stdin-eof] [--tick-ms N] [--freeze-at TICK]\n"
    "               [--dump-path PATH] [--alt-size WxH] [--key-log PATH]\n"
    "  --listen HOST:PORT   loopback address to listen on (default 127.0.0.1:0 = any port)\n"
    "  --password PW        VNC Authentication with this password (first 8 bytes count)\n"
    "  --no-auth            security type None instead\n"
    "  --name NAME          desktop name, also drawn on the screen (default fake-vm)\n"
    "  --rfb VERSION        highest RFB version offered (default 3.8)\n"
    "  --size WxH           screen size (default 640x480)\n"
    "  --incremental-delay-ms N  answer incremental update polls after N ms (default 100)\n"
    "  --exit-on-stdin-eof  exit when standard input is closed\n"
    "  --tick-ms N          the screen's activity strip changes every N ms (default 1000)\n"
    "  --freeze-at TICK     a frozen screen showing TICK (SIGUSR2: the next tick)\n"
    "  --dump-path PATH     SIGUSR1 writes the current screen there as a PPM (atomically)\n"
    "  --alt-size WxH       SIGHUP switches the screen between --size and this size\n"
    "  --key-log PATH       append every key event as a line \"down|up 0xKEYSYM\"\n";

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  bool exit_on_stdin_eof = false;
  RfbServerOptions server;
  std::string dump_path;
  std::optional<std::pair<uint16_t, uint16_t>> alt_size;
  std::string key_log;
};

std::optional<unsigned long> parse_number(std::string_view s, unsigned long max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  unsigned long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// HOST:PORT, with IPv6 literals in brackets: [::1]:5900.
bool parse_listen(std::string_view s, Config& config) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::optional<unsigned long> port = parse_number(s.substr(colon + 1), 65535);
  if (host.empty() || !port) return false;
  config.host = std::string(host);
  config.port = static_cast<uint16_t>(*port);
  return true;
}

std::optional<std::pair<uint16_t, uint16_t>> parse_size(std::string_view s) {
  size_t x = s.find('x');
  if (x == std::string_view::npos) return std::nullopt;
  std::optional<unsigned long> w = parse_number(s.substr(0, x), 8192);
  std::optional<unsigned long> h = parse_number(s.substr(x + 1), 8192);
  if (!w || !h || *w == 0 || *h == 0) return std::nullopt;
  return std::make_pair(static_cast<uint16_t>(*w), static_cast<uint16_t>(*h));
}

// Returns an error message, or nullopt when the arguments are good.
std::optional<std::string> parse_args(int argc, char** argv, Config& config) {
  bool have_password = false, no_auth = false;
  config.server.desktop_name = "fake-vm";
  config.server.incremental_delay_ms = 100;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    if (arg == "--exit-on-stdin-eof") {
      config.exit_on_stdin_eof = true;
    } else if (arg == "--no-auth") {
      no_auth = true;
    } else if (arg == "--help" || arg == "-h") {
      return std::string();
    } else if (arg == "--listen" || arg == "--password" || arg == "--name" || arg == "--rfb" ||
               arg == "--size" || arg == "--incremental-delay-ms" || arg == "--tick-ms" ||
               arg == "--freeze-at" || arg == "--dump-path" || arg == "--alt-size" ||
               arg == "--key-log") {
      std::optional<std::string_view> v = value();
      if (!v) return std::string(arg) + " needs a value";
      if (arg == "--listen") {
        if (!parse_listen(*v, config)) return "--listen wants HOST:PORT, got " + std::string(*v);
      } else if (arg == "--password") {
        std::string password(*v);
        config.server.password = [password] { return std::optional<std::string>(password); };
        have_password = true;
      } else if (arg == "--name") {
        config.server.desktop_name = std::string(*v);
      } else if (arg == "--rfb") {
        if (*v == "3.3") {
          config.server.version = RfbVersion::v3_3;
        } else if (*v == "3.7") {
          config.server.version = RfbVersion::v3_7;
        } else if (*v == "3.8") {
          config.server.version = RfbVersion::v3_8;
        } else {
          return "--rfb wants 3.3, 3.7 or 3.8, got " + std::string(*v);
        }
      } else if (arg == "--size" || arg == "--alt-size") {
        auto size = parse_size(*v);
        if (!size) return std::string(arg) + " wants WxH, got " + std::string(*v);
        if (arg == "--size") {
          config.server.width = size->first;
          config.server.height = size->second;
        } else {
          config.alt_size = size;
        }
      } else if (arg == "--tick-ms") {
        std::optional<unsigned long> ms = parse_number(*v, 3600000);
        if (!ms || *ms == 0) return "--tick-ms wants 1..3600000, got " + std::string(*v);
        config.server.tick_ms = static_cast<uint32_t>(*ms);
      } else if (arg == "--freeze-at") {
        std::optional<unsigned long> tick = parse_number(*v, 999999);
        if (!tick) return "--freeze-at wants 0..999999, got " + std::string(*v);
        config.server.freeze_at = *tick;
      } else if (arg == "--dump-path") {
        config.dump_path = std::string(*v);
      } else if (arg == "--key-log") {
        config.key_log = std::string(*v);
      } else {
        std::optional<unsigned long> ms = parse_number(*v, 60000);
        if (!ms) return "--incremental-delay-ms wants 0..60000, got " + std::string(*v);
        config.server.incremental_delay_ms = static_cast<uint32_t>(*ms);
      }
    } else {
      return "unknown argument " + std::string(arg);
    }
  }
  if (have_password == no_auth) return std::string("give exactly one of --password and --no-auth");
  config.server.vnc_auth = have_password;
  auto screen = std::make_shared<FakeScreen>(config.server.width, config.server.height,
                                             config.server.desktop_name, config.server.tick_ms);
  if (config.server.freeze_at) screen->freeze(*config.server.freeze_at);
  config.server.screen = std::move(screen);
  return std::nullopt;
}

// Serves every accepted connection with its own RfbServer until the session ends.
class FakeVm {
 public:
  FakeVm(Loop& loop, const Config& config) : loop_(loop), config_(config) {}

  Result<uint16_t> listen() {
    auto listener =
        TcpListener::listen(loop_, config_.host, config_.port,
                            [this](std::unique_ptr<TcpTransport> t) { accept(std::move(t)); });
    if (!listener.ok()) return listener.error();
    listener_ = std::move(listener.value());
    return listener_->port();
  }

  void shut_down() {
    if (listener_) listener_->close();
    for (auto& [raw, server] : sessions_) server->close();
  }

 private:
  void accept(std::unique_ptr<TcpTransport> transport) {
    std::string peer = transport->peer_address() + ":" + std::to_string(transport->peer_port());
    auto server =
        std::make_unique<RfbServer>(std::move(transport), config_.server, system_random());
    RfbServer* raw = server.get();
    server->set_on_authenticated(
        [peer] { std::fprintf(stderr, "fake-vm: %s authenticated\n", peer.c_str()); });
    server->set_on_closed([this, raw, peer](const Error& e) {
      std::fprintf(stderr, "fake-vm: %s session ended%s%s\n", peer.c_str(), e.ok() ? "" : ": ",
                   e.ok() ? "" : e.message().c_str());
      auto it = sessions_.find(raw);
      if (it == sessions_.end()) return;
      loop_.defer_delete(std::move(it->second));
      sessions_.erase(it);
    });
    std::fprintf(stderr, "fake-vm: connection from %s\n", peer.c_str());
    sessions_.emplace(raw, std::move(server));
    raw->start();
  }

  Loop& loop_;
  const Config& config_;
  std::unique_ptr<TcpListener> listener_;
  std::map<RfbServer*, std::unique_ptr<RfbServer>> sessions_;
};

int run(int argc, char** argv) {
  // Peers vanish mid-write; that is an error to handle, not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  Config config;
  if (std::optional<std::string> problem = parse_args(argc, argv, config)) {
    if (problem->empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "fake-vm: %s\n%s", problem->c_str(), kUsage);
    return 2;
  }

  Loop loop;
  FakeScreen& screen = *config.server.screen;
  screen.refresh(loop.now_ms());  // tick 0 starts now
  int key_log = -1;
  if (!config.key_log.empty()) {
    key_log = ::open(config.key_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (key_log < 0) {
      std::fprintf(stderr, "fake-vm: cannot open --key-log %s\n", config.key_log.c_str());
      return 1;
    }
    config.server.on_key = [key_log](uint32_t keysym, bool down) {
      char line[32];
      const int n = std::snprintf(line, sizeof line, "%s 0x%08x\n", down ? "down" : "up", keysym);
      // One write per line, O_APPEND: a reader never sees half a line.
      if (::write(key_log, line, static_cast<size_t>(n)) != n) {
        std::fprintf(stderr, "fake-vm: cannot write the key log\n");
      }
    };
  }
  FakeVm vm(loop, config);
  Result<uint16_t> port = vm.listen();
  if (!port.ok()) {
    std::fprintf(stderr, "fake-vm: cannot listen on %s:%u: %s\n", config.host.c_str(),
                 unsigned{config.port}, port.error().message().c_str());
    return port.error().code() == Errc::usage ? 2 : 1;
  }
  bool stopping = false;
  auto stop = [&] {
    if (stopping) return;
    stopping = true;
    vm.shut_down();
    loop.stop();
  };
  SignalWatcher sigint(loop, SIGINT, [&](int) { stop(); });
  SignalWatcher sigterm(loop, SIGTERM, [&](int) { stop(); });
  SignalWatcher sigusr1(loop, SIGUSR1, [&](int) {
    if (config.dump_path.empty()) {
      std::fprintf(stderr, "fake-vm: SIGUSR1 without --dump-path: nothing written\n");
      return;
    }
    screen.refresh(loop.now_ms());
    Error e = screen.write_ppm(config.dump_path);
    if (e.failed()) std::fprintf(stderr, "fake-vm: %s\n", e.message().c_str());
  });
  SignalWatcher sigusr2(loop, SIGUSR2, [&](int) { screen.step(); });
  bool alternate = false;
  SignalWatcher sighup(loop, SIGHUP, [&](int) {
    if (!config.alt_size) return;
    alternate = !alternate;
    screen.resize(alternate ? config.alt_size->first : config.server.width,
                  alternate ? config.alt_size->second : config.server.height);
  });
  std::unique_ptr<StdinEofWatch> stdin_watch;
  if (config.exit_on_stdin_eof) stdin_watch = std::make_unique<StdinEofWatch>(loop, stop);

  // Ready only now: whoever reads the port may signal us at once.
  JsonWriter json;
  json.begin_object().key("port").value(int64_t{*port}).end_object();
  std::printf("%s\n", json.str().c_str());
  std::fflush(stdout);
  loop.run();
  if (key_log >= 0) ::close(key_log);
  return 0;
}

}  // namespace
}  // namespace pvb

int main(int argc, char** argv) {
  return pvb::run(argc, argv);
}
