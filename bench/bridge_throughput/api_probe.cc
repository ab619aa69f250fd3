#include "bench/bridge_throughput/api_probe.h"

#include <csignal>
#include <functional>
#include <memory>
#include <optional>

#include "bench/bridge_throughput/proc_stats.h"
#include "engine/console/console_session.h"
#include "engine/core/json.h"
#include "engine/core/random.h"
#include "engine/proxmox/proxmox_client.h"
#include "transports/stack/stack_dialer.h"
#include "transports/tcp/tcp_listener_factory.h"
#include "transports/tcp/tcp_transport.h"
#include "transports/tls/tls_transport.h"

namespace pvb::bench {

namespace {

constexpr uint64_t kTimeoutMs = 15000;

Result<std::shared_ptr<TlsContext>> client_context(const MockServerInfo& mock,
                                                   TlsBackendKind backend) {
  TlsClientConfig cfg;
  cfg.backend = backend;
  cfg.verify = TlsVerify::ca_file;
  cfg.ca_file = mock.ca_file;
  return TlsContext::create_client(cfg);
}

// TLS over TCP to a host, as pvebridge's connector makes them.
HostConnector connector_for(Loop& loop, std::shared_ptr<TlsContext> ctx) {
  return [&loop, ctx](const ApiHost& h) -> std::unique_ptr<Transport> {
    auto tcp = TcpTransport::connect(loop, TcpConnectOptions{h.host, h.port, kTimeoutMs});
    return std::make_unique<TlsTransport>(std::move(tcp), ctx, h.host);
  };
}

Result<Credentials> credentials_for(const MockServerInfo& mock, bool ticket_login) {
  Credentials c;
  if (ticket_login) {
    c.user = mock.user;
    c.password = mock.password;
    return c;
  }
  auto token = parse_api_token(mock.api_token);
  if (!token.ok()) return token.error();
  c.token = std::move(*token);
  return c;
}

// Connects, lists the guests and picks `name`, then hands the guest to `next`.
void find_guest(ProxmoxClient& client, const std::string& name,
                std::function<void(Result<Guest>)> next) {
  client.connect([&client, name, next](Error e) {
    if (e.failed()) return next(e);
    client.list_guests([name, next](Result<std::vector<Guest>> guests) {
      if (!guests.ok()) return next(guests.error());
      auto spec = parse_guest_spec(name);
      if (!spec.ok()) return next(spec.error());
      next(resolve_guest(*spec, name, *guests));
    });
  });
}

// Sees only the listening event of a console session, and its end.
struct SetupObserver : ConsoleObserver {
  std::optional<double> listening_at;
  bool closed = false;
  Error error;
  void on_listening(int, const ListeningInfo&) override { listening_at = now_seconds(); }
  void on_client_connected(int, int) override {}
  void on_viewer_exited(int, int, std::string_view) override {}
  void on_closed(int, const SessionEnd& end) override {
    closed = true;
    if (end.reason == CloseReason::error) error = end.error;
  }
};

}  // namespace

Result<MockServerInfo> parse_mock_ready_line(const std::string& line) {
  auto doc = JsonDocument::parse(line, "mock-pveproxy ready line");
  if (!doc.ok()) return doc.error();
  const std::string_view what = "mock-pveproxy ready line";
  MockServerInfo m;
  auto port = json_int(doc->root(), "port", what);
  auto ca = json_string(doc->root(), "ca_file", what);
  auto user = json_string(doc->root(), "user", what);
  auto password = json_string(doc->root(), "password", what);
  auto token = json_string(doc->root(), "api_token", what);
  for (const Error* e :
       {port.ok() ? nullptr : &port.error(), ca.ok() ? nullptr : &ca.error(),
        user.ok() ? nullptr : &user.error(), password.ok() ? nullptr : &password.error(),
        token.ok() ? nullptr : &token.error()}) {
    if (e != nullptr) return *e;
  }
  m.port = static_cast<uint16_t>(*port);
  m.ca_file = *ca;
  m.user = *user;
  m.password = *password;
  m.api_token = *token;
  return m;
}

Result<PeerConsole> open_peer_console(const MockServerInfo& mock, const std::string& guest_name) {
  Loop loop;
  auto ctx = client_context(mock, TlsBackendKind::openssl);
  if (!ctx.ok()) return ctx.error();
  auto creds = credentials_for(mock, false);
  if (!creds.ok()) return creds.error();
  ProxmoxClientOptions options;
  options.timeout_ms = kTimeoutMs;
  StackDialer dialer(loop, connector_for(loop, *ctx), system_random());
  auto client = std::make_unique<ProxmoxClient>(
      loop, std::vector<ApiHost>{{"localhost", mock.port}}, dialer, std::move(*creds), options);
  std::optional<Result<PeerConsole>> out;
  find_guest(*client, guest_name, [&](Result<Guest> g) {
    if (!g.ok()) {
      out = g.error();
      return;
    }
    Guest guest = *g;
    client->vncproxy(guest, [&, guest](Result<VncTicket> t) {
      if (!t.ok()) {
        out = t.error();
        return;
      }
      PeerConsole c;
      c.url = "wss://" + client->host().authority() + ProxmoxClient::websocket_path(guest, *t);
      const HttpHeaders auth = client->auth_headers();
      for (const auto& [name, value] : auth.fields()) {
        c.headers.emplace_back(name, value);
      }
      out = std::move(c);
    });
  });
  loop.run_until([&] { return out.has_value(); });
  client.reset();
  if (!out) return Error(Errc::internal, "vncproxy for the peer did not finish");
  return std::move(*out);
}

Result<std::vector<double>> time_console_setup(const MockServerInfo& mock, TlsBackendKind backend,
                                               bool ticket_login, const std::string& guest_name,
                                               size_t runs) {
  Loop loop;
  std::vector<double> seconds;
  for (size_t run = 0; run < runs; ++run) {
    // A fresh context per run: no session to resume, a full handshake like a new process.
    auto ctx = client_context(mock, backend);
    if (!ctx.ok()) return ctx.error();
    auto creds = credentials_for(mock, ticket_login);
    if (!creds.ok()) return creds.error();
    const double t0 = now_seconds();
    ProxmoxClientOptions options;
    options.timeout_ms = kTimeoutMs;
    StackDialer dialer(loop, connector_for(loop, *ctx), system_random());
    TcpListenerFactory listeners(loop);
    auto client = std::make_unique<ProxmoxClient>(
        loop, std::vector<ApiHost>{{"localhost", mock.port}}, dialer, std::move(*creds), options);
    SetupObserver observer;
    std::unique_ptr<ConsoleSession> session;
    std::optional<Error> failed;
    find_guest(*client, guest_name, [&](Result<Guest> g) {
      if (!g.ok()) {
        failed = g.error();
        return;
      }
      ConsoleOptions copts;
      copts.launch_viewer = false;
      copts.timeout_ms = kTimeoutMs;
      session = std::make_unique<ConsoleSession>(loop, 1, *client, listeners, *g, copts, observer);
      session->start();
    });
    loop.run_until([&] { return failed || observer.listening_at || observer.closed; });
    if (failed) return *failed;
    if (!observer.listening_at) {
      return observer.error.failed() ? observer.error
                                     : Error(Errc::internal, "the console did not listen");
    }
    seconds.push_back(*observer.listening_at - t0);
    session->interrupt(SIGTERM);
    loop.run_until([&] { return observer.closed; });
    session.reset();
    client.reset();
  }
  return seconds;
}

}  // namespace pvb::bench
