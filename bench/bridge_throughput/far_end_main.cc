// bench-far-end: the server-side half of the ceilings. It stands where mock-pveproxy stands and
// serves the very same bench consoles (transports/testing/bench_console.h: source, sink,
// echo), but over bare TCP or bare TLS: no HTTP, no WebSocket. Each connection is joined to its
// console by the same Pump and marks as the bridge uses. TLS uses the mock's server settings
// (a fresh ECDSA P-256 CA and leaf for localhost, the default AEAD suites, server preference).
//
//   bench-far-end [--tls openssl|mbedtls]
//
// Prints one JSON line when ready: {"source":PORT,"sink":PORT,"echo":PORT,"ca_file":PATH|null},
// then serves every connection until its standard input ends (or SIGTERM/SIGINT).
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/json_writer.h"
#include "engine/core/loop.h"
#include "engine/pump/pump.h"
#include "transports/tcp/tcp_listener.h"
#include "transports/testing/bench_console.h"
#include "transports/testing/server_identity.h"
#include "transports/testing/stdin_eof_watch.h"
#include "transports/tls/tls_transport.h"

namespace pvb::bench {
namespace {

using ConsoleKind = BenchConsole::Kind;

const char* console_kind_name(ConsoleKind kind) {
  switch (kind) {
    case ConsoleKind::source:
      return "source";
    case ConsoleKind::sink:
      return "sink";
    case ConsoleKind::echo:
      return "echo";
    case ConsoleKind::rfb_source:
      return "rfb_source";
    case ConsoleKind::rfb_echo:
      return "rfb_echo";
  }
  return "?";
}

int fail(const std::string& what) {
  std::fprintf(stderr, "bench-far-end: %s\n", what.c_str());
  return 1;
}

// One client connection joined to its console.
struct Connection {
  std::unique_ptr<Transport> net;
  std::unique_ptr<BenchConsole> console;
  std::unique_ptr<Pump> pump;
};

class FarEnd {
 public:
  FarEnd(Loop& loop, std::shared_ptr<TlsContext> tls) : loop_(loop), tls_(std::move(tls)) {}

  void accept(ConsoleKind kind, std::unique_ptr<TcpTransport> tcp) {
    auto c = std::make_unique<Connection>();
    Connection* raw = c.get();
    if (tls_) {
      c->net = std::make_unique<TlsTransport>(std::move(tcp), tls_, "");
    } else {
      c->net = std::move(tcp);
    }
    c->console = std::make_unique<BenchConsole>(loop_, kind);
    c->pump = std::make_unique<Pump>(*c->net, *c->console, Pump::Options{},
                                     [this, raw](const Pump::Result&) {
                                       // Not from inside the pump's own callback.
                                       loop_.post([this, raw] { connections_.erase(raw); });
                                     });
    c->pump->start();
    c->net->start();
    c->console->start();
    connections_[raw] = std::move(c);
  }

  void shut_down() { connections_.clear(); }

 private:
  Loop& loop_;
  std::shared_ptr<TlsContext> tls_;
  std::map<Connection*, std::unique_ptr<Connection>> connections_;
};

int run(std::optional<TlsBackendKind> backend) {
  std::signal(SIGPIPE, SIG_IGN);
  std::shared_ptr<TlsContext> tls;
  std::optional<StateDir> state;
  std::string ca_file;
  if (backend) {
    auto identity = generate_server_identity();
    if (!identity.ok()) return fail("certificate: " + identity.error().message());
    auto dir = StateDir::open("");
    if (!dir.ok()) return fail("state directory: " + dir.error().message());
    state.emplace(std::move(*dir));
    auto ca = state->write_file("ca.pem", identity->ca_pem);
    if (!ca.ok()) return fail("state directory: " + ca.error().message());
    ca_file = *ca;
    TlsServerConfig cfg;
    cfg.backend = *backend;
    cfg.cert_chain_pem = identity->chain_pem;
    cfg.key_pem = identity->key_pem;
    auto ctx = TlsContext::create_server(cfg);
    if (!ctx.ok()) return fail("TLS: " + ctx.error().message());
    tls = *ctx;
  }

  Loop loop;
  FarEnd far_end(loop, tls);
  std::map<ConsoleKind, std::unique_ptr<TcpListener>> listeners;
  for (ConsoleKind kind : {ConsoleKind::source, ConsoleKind::sink, ConsoleKind::echo}) {
    auto l = TcpListener::listen(
        loop, "127.0.0.1", 0,
        [&far_end, kind](std::unique_ptr<TcpTransport> t) { far_end.accept(kind, std::move(t)); },
        TcpListenOptions{true, 1024});
    if (!l.ok()) return fail("listen: " + l.error().message());
    listeners[kind] = std::move(*l);
  }
  bool stopping = false;
  auto stop = [&] {
    if (stopping) return;
    stopping = true;
    for (auto& [kind, l] : listeners) l->close();
    far_end.shut_down();
    loop.stop();
  };
  SignalWatcher sigint(loop, SIGINT, [&](int) { stop(); });
  SignalWatcher sigterm(loop, SIGTERM, [&](int) { stop(); });
  StdinEofWatch stdin_watch(loop, stop);

  JsonWriter ready;
  ready.begin_object();
  for (auto& [kind, l] : listeners) {
    ready.key(console_kind_name(kind)).value(static_cast<int64_t>(l->port()));
  }
  ready.key("ca_file");
  if (tls) {
    ready.value(ca_file);
  } else {
    ready.null();
  }
  ready.end_object();
  std::printf("%s\n", ready.str().c_str());
  std::fflush(stdout);
  loop.run();
  return 0;
}

}  // namespace
}  // namespace pvb::bench

int main(int argc, char** argv) {
  std::optional<pvb::TlsBackendKind> backend;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--tls" && i + 1 < argc) {
      backend = pvb::parse_tls_backend(argv[++i]);
      if (backend) continue;
    }
    std::fprintf(stderr, "usage: bench-far-end [--tls openssl|mbedtls]\n");
    return 2;
  }
  return pvb::bench::run(backend);
}
