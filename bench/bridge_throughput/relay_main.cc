// bench-relay: the client-side half of the ceilings. It stands where pvebridge stands and does
// what pvebridge does minus the WebSocket: connect to the far end first (TCP, or TLS over TCP with
// the same TlsContext settings pvebridge uses), then listen on 127.0.0.1, serve exactly one client
// and move bytes both ways with the same Pump and marks as a console session. So the ceiling path
// has the same processes and hops as the bridge path:
//   harness --TCP--> bench-relay --TCP or TLS--> bench-far-end (source, sink or echo)
//
//   bench-relay --connect HOST:PORT [--tls openssl|mbedtls --ca-file FILE] [--server-name NAME]
//               [--marks HIGH,LOW]   (the pump's watermarks in bytes; default: a console's)
//
// stdout, one JSON line each: {"event":"listening","port":N,"tls_version":..,"cipher":..} once
// connected, then {"event":"closed","bytes_to_guest":..,"bytes_from_guest":..,
// "copied_bytes":..,"tls_copied_bytes":..} when the client and the far end are both done.
// Exit 0, or 1 with a message on stderr.
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/json_writer.h"
#include "engine/core/loop.h"
#include "engine/pump/pump.h"
#include "transports/tcp/tcp_listener.h"
#include "transports/tcp/tcp_transport.h"
#include "transports/tls/tls_transport.h"

namespace pvb::bench {
namespace {

struct RelayArgs {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::optional<TlsBackendKind> tls;
  std::string ca_file;
  std::string server_name = "localhost";
  Pump::Options marks;  // the console session's defaults
};

int usage(const std::string& why) {
  std::fprintf(stderr,
               "bench-relay: %s\nusage: bench-relay --connect HOST:PORT [--tls openssl|mbedtls "
               "--ca-file FILE] [--server-name NAME] [--marks HIGH,LOW]\n",
               why.c_str());
  return 2;
}

std::optional<RelayArgs> parse(int argc, char** argv, std::string& why) {
  RelayArgs a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) {
      why = "missing value after " + arg;
      return std::nullopt;
    }
    std::string v = argv[++i];
    if (arg == "--connect") {
      auto colon = v.rfind(':');
      if (colon == std::string::npos) {
        why = "--connect wants HOST:PORT";
        return std::nullopt;
      }
      a.host = v.substr(0, colon);
      unsigned port = 0;
      auto [end, ec] = std::from_chars(v.data() + colon + 1, v.data() + v.size(), port);
      if (ec != std::errc() || end != v.data() + v.size() || port == 0 || port > 65535) {
        why = "--connect wants HOST:PORT";
        return std::nullopt;
      }
      a.port = static_cast<uint16_t>(port);
    } else if (arg == "--tls") {
      a.tls = parse_tls_backend(v);
      if (!a.tls) {
        why = "--tls wants openssl or mbedtls";
        return std::nullopt;
      }
    } else if (arg == "--ca-file") {
      a.ca_file = v;
    } else if (arg == "--server-name") {
      a.server_name = v;
    } else if (arg == "--marks") {
      const auto comma = v.find(',');
      size_t high = 0, low = 0;
      const bool ok =
          comma != std::string::npos &&
          std::from_chars(v.data(), v.data() + comma, high).ec == std::errc() &&
          std::from_chars(v.data() + comma + 1, v.data() + v.size(), low).ec == std::errc() &&
          low <= high && high > 0;
      if (!ok) {
        why = "--marks wants HIGH,LOW in bytes";
        return std::nullopt;
      }
      a.marks.high_mark = high;
      a.marks.low_mark = low;
    } else {
      why = "unknown argument " + arg;
      return std::nullopt;
    }
  }
  if (a.port == 0) {
    why = "--connect is required";
    return std::nullopt;
  }
  return a;
}

// The far end's sink until the client arrives: keeps what it sends (a source starts at once),
// at most one high mark, like a console session keeps the VNC greeting.
struct EarlySink : TransportSink {
  Transport* upstream = nullptr;
  size_t high_mark = 0;
  ByteChain early;
  bool connected = false;
  bool closed = false;
  Error failure;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& data, bool) override {
    early.move_from(data);
    if (early.size() > high_mark && upstream->reading_enabled()) upstream->read_disable(true);
  }
  void on_closed(const Error& error) override {
    closed = true;
    failure = error;
  }
};

int fail(const std::string& what) {
  std::fprintf(stderr, "bench-relay: %s\n", what.c_str());
  return 1;
}

void print_line(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

int run(const RelayArgs& args) {
  Loop loop;
  const Pump::Options marks = args.marks;
  std::unique_ptr<Transport> upstream =
      TcpTransport::connect(loop, TcpConnectOptions{args.host, args.port, 15000});
  TlsTransport* tls = nullptr;
  if (args.tls) {
    TlsClientConfig cfg;
    cfg.backend = *args.tls;
    cfg.verify = TlsVerify::ca_file;
    cfg.ca_file = args.ca_file;
    auto ctx = TlsContext::create_client(cfg);
    if (!ctx.ok()) return fail("TLS: " + ctx.error().message());
    auto t = std::make_unique<TlsTransport>(std::move(upstream), *ctx, args.server_name);
    tls = t.get();
    upstream = std::move(t);
  }
  EarlySink early;
  early.upstream = upstream.get();
  early.high_mark = marks.high_mark;
  upstream->set_sink(&early);
  upstream->set_write_watermarks(marks.high_mark, marks.low_mark);
  upstream->start();
  loop.run_until([&] { return early.connected || early.closed; });
  if (!early.connected) return fail("far end: " + early.failure.message());

  std::unique_ptr<TcpTransport> client;
  std::unique_ptr<Pump> pump;
  bool done = false;
  Pump::Result result;
  std::unique_ptr<TcpListener> listener;
  auto on_accept = [&](std::unique_ptr<TcpTransport> c) {
    if (client) {
      c->close(CloseMode::Abort);
      loop.defer_delete(std::move(c));
      return;
    }
    client = std::move(c);
    listener->close();
    pump = std::make_unique<Pump>(*client, *upstream, marks, [&](const Pump::Result& r) {
      result = r;
      done = true;
    });
    const bool was_paused = !upstream->reading_enabled();
    pump->start(std::move(early.early), ByteChain());
    client->start();
    if (was_paused) upstream->read_disable(false);
  };
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, on_accept);
  if (!l.ok()) return fail("listen: " + l.error().message());
  listener = std::move(*l);

  JsonWriter ready;
  ready.begin_object()
      .key("event")
      .value("listening")
      .key("port")
      .value(static_cast<int64_t>(listener->port()));
  if (tls) {
    ready.key("tls_version").value(tls->protocol_version());
    ready.key("cipher").value(tls->cipher_suite());
  }
  ready.end_object();
  print_line(ready.str());

  loop.run_until([&] { return done; });
  JsonWriter closed;
  closed.begin_object().key("event").value("closed");
  closed.key("bytes_to_guest").value(result.bytes_a_to_b);
  closed.key("bytes_from_guest").value(result.bytes_b_to_a);
  closed.key("copied_bytes").value(copy_stats().bytes);
  closed.key("tls_copied_bytes").value(tls_copy_stats().bytes_in + tls_copy_stats().bytes_out);
  closed.end_object();
  print_line(closed.str());
  pump.reset();
  return 0;
}

}  // namespace
}  // namespace pvb::bench

int main(int argc, char** argv) {
  std::string why;
  auto args = pvb::bench::parse(argc, argv, why);
  if (!args) return pvb::bench::usage(why);
  return pvb::bench::run(*args);
}
