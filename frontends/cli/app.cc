#include "frontends/cli/app.h"

#include "frontends/cli/option_table.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>

#include "engine/console/console_session.h"
#include "engine/console/spice_session.h"
#include "engine/core/platform.h"
#include "engine/core/signals.h"
#include "engine/proxmox/proxmox_client.h"
#include "frontends/cli/api_setup.h"
#include "frontends/cli/exit_codes.h"
#include "frontends/cli/secret_source.h"
#include "frontends/cli/server_access.h"
#include "transports/stack/stack_dialer.h"
#include "transports/tcp/tcp_listener_factory.h"

namespace pvb {

namespace {

Result<Credentials> load_credentials(const CliOptions& o) {
  Credentials c;
  if (o.api_token) {
    auto t = parse_api_token(*o.api_token);
    if (!t.ok()) return t.error();
    c.token = std::move(*t);
    return c;
  }
  if (!o.token_id.empty()) {
    // A config file token: its secret from token_file or token_command.
    auto secret = token_secret(o.token_id, o.token_file, o.token_command);
    if (!secret.ok()) return secret.error();
    std::string text = o.token_id + "=" + *secret;
    wipe(*secret);
    auto t = parse_api_token(text);
    wipe(text);
    if (!t.ok()) return t.error();
    c.token = std::move(*t);
    return c;
  }
  c.user = o.user;
  c.realm_defaulted = o.user_realm_defaulted;
  if (o.password) {
    c.password = *o.password;
  } else if (!o.password_file.empty()) {
    auto p = read_secret_file(o.password_file);
    if (!p.ok()) return p.error();
    c.password = std::move(*p);
  } else if (!o.password_command.empty()) {
    auto p = secret_from_command(o.password_command, "password_command");
    if (!p.ok()) return p.error();
    c.password = std::move(*p);
  } else if (stdin_is_terminal()) {
    auto p = prompt_secret("Password for " + o.user + ": ");
    if (!p.ok()) return p.error();
    c.password = std::move(*p);
  } else {
    return Error(Errc::usage, "no password for " + o.user +
                                  ": set PVE_PASSWORD, use --password-file FILE, or run on a "
                                  "terminal to be asked");
  }
  if (o.otp) c.otp = *o.otp;
  return c;
}

}  // namespace

Result<ApiSetup> make_api(Loop& loop, const CliOptions& o, Output& out) {
  if (!o.config_origin.empty()) out.verbose(0, "config file: " + o.config_origin);
  auto creds = load_credentials(o);
  if (!creds.ok()) return creds.error();
  auto access = ServerAccess::create(o, out);
  if (!access.ok()) return access.error();
  ApiSetup s;
  s.access = std::move(*access);
  uint64_t timeout_ms = o.timeout_s * 1000;
  s.dialer = std::make_unique<StackDialer>(loop, s.access->connector(loop), system_random(),
                                           s.access->stream_connector(loop));
  ProxmoxClientOptions po;
  po.timeout_ms = timeout_ms;
  if (o.verbose) po.log = [&out](std::string_view l) { out.verbose(0, l); };
  if (stdin_is_terminal() && !o.json) {
    po.otp_prompt = [](int attempt) {
      return prompt_secret(attempt == 1 ? "Two-factor code (TOTP): "
                                        : "That code was rejected. Two-factor code (TOTP): ");
    };
  }
  s.client = std::make_unique<ProxmoxClient>(loop, o.hosts, *s.dialer, std::move(*creds), po);
  return s;
}

namespace {

// Reports an error of the command (not of one session) and gives its exit code.
int report(Output& out, const Error& e) {
  out.error(0, e);
  return exit_code_for(e.code());
}

// Connects (trust, login) and fetches the guests, then hands them on; an error is reported and
// sets `code`.
void with_guests(ApiSetup& api, Loop& loop, Output& out, int& code,
                 std::function<void(std::vector<Guest>)> then) {
  api.access->connect(loop, *api.client, [&api, &out, &code, then = std::move(then)](Error e) {
    if (e.failed()) {
      code = report(out, e);
      return;
    }
    api.client->list_guests([&out, &code, then](Result<std::vector<Guest>> r) {
      if (!r.ok()) {
        code = report(out, r.error());
        return;
      }
      then(std::move(*r));
    });
  });
}

// The shell completions offer guest names from the last `list`, never from a network call while
// the user types: one line per guest, "vmid<TAB>name<TAB>node".
void save_guest_cache(const std::vector<Guest>& guests, Output& out) {
  std::string dir = user_cache_dir("pvebridge");
  if (dir.empty()) return;
  std::string text;
  for (const Guest& g : guests) {
    if (g.is_template) continue;
    text += std::to_string(g.vmid) + "\t" + g.name + "\t" + g.node + "\n";
  }
  Error e = replace_private_file(dir + "/guests", text);
  if (e.failed()) out.verbose(0, "not caching guest names: " + e.message());
}

}  // namespace

int run_list(const CliOptions& o, Output& out) {
  Loop loop;
  auto api = make_api(loop, o, out);
  if (!api.ok()) return report(out, api.error());
  int code = -1;
  SignalSet signals(loop, [&](int s) {
    out.error(0, interrupted_by(s));
    code = signal_exit_code(s);
    loop.stop();
  });
  with_guests(*api, loop, out, code, [&](std::vector<Guest> guests) {
    std::sort(guests.begin(), guests.end(),
              [](const Guest& a, const Guest& b) { return a.vmid < b.vmid; });
    // The cache feeds completions: always every guest, whatever this listing shows.
    save_guest_cache(guests, out);
    if (o.list_filter.active()) guests = filter_guests(guests, o.list_filter);
    std::string text = !o.list_format.empty() ? guests_formatted(guests, o.list_format)
                       : out.json()           ? guests_json(guests) + "\n"
                       // An empty table is a header for a reader, noise for a script.
                       : guests.empty() && !stdout_is_terminal() ? ""
                                                                 : guests_table(guests);
    if (guests.empty()) {
      out.note(o.list_filter.active() ? "no guests match" : "no guests visible to this user");
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    code = kExitOk;
  });
  loop.run_until([&] { return code >= 0; });
  api->client.reset();
  return code < 0 ? kExitInternal : code;
}

namespace {

int session_exit_code(const SessionEnd& end) {
  switch (end.reason) {
    case CloseReason::viewer_exited:
      return end.viewer_exit_code.value_or(0) == 0 ? kExitOk : kExitViewer;
    case CloseReason::client_closed:
      return kExitOk;
    case CloseReason::server_closed:
    case CloseReason::keepalive_timeout:
      return kExitNetwork;
    case CloseReason::interrupted:
      return signal_exit_code(end.signal);
    case CloseReason::error:
      return exit_code_for(end.error.code());
  }
  return kExitInternal;
}

ConsoleOptions console_options(const CliOptions& o) {
  ConsoleOptions c;
  c.listen_host = o.listen_host;
  c.listen_port = o.listen_port;
  c.start_guest = o.start;
  c.keepalive_ms = o.keepalive_s * 1000;
  c.timeout_ms = o.timeout_s * 1000;
  c.client_wait_ms = o.client_wait_s * 1000;
  c.reconnect_ms = o.reconnect_s * 1000;
  c.passthrough = o.passthrough;
  c.exclusive = o.exclusive;
  c.local_auth = o.local_auth_none ? LocalAuth::none : LocalAuth::one_time_password;
  c.report_password = o.show_password;
  if (o.command == Command::serve) {
    c.mode = SessionMode::serve;
    c.launch_viewer = false;
    c.passthrough = false;
  }
  if (o.vv_stdin) {
    c.vv_mode = VvMode::stdin_pipe;
  } else if (!o.vv_file.empty()) {
    c.vv_mode = VvMode::path;
    c.vv_path = o.vv_file;
  }
  c.vv.fullscreen = o.fullscreen;
  c.vv.title = o.title;
  c.launch_viewer = !o.no_viewer;
  c.viewer.program = o.viewer;
  c.viewer.args = o.viewer_args;
  if (o.kiosk) {
    for (const char* a : {"--kiosk", "--kiosk-quit", "on-disconnect"}) c.viewer.args.push_back(a);
  }
  c.viewer.drop_env_names = o.secret_env_names;
  return c;
}

// A guest of `serve`, with the port it asked for (0: the first free one from 5900 on).
struct ServedGuest {
  std::string spec;
  uint16_t port = 0;
};

Result<ServedGuest> parse_served_guest(const std::string& text) {
  ServedGuest g;
  g.spec = text;
  auto eq = text.rfind('=');
  if (eq == std::string::npos) return g;
  g.spec = text.substr(0, eq);
  auto port = parse_number(std::string_view(text).substr(eq + 1), 1, 65535);
  if (!port || g.spec.empty()) {
    return Error(Errc::usage,
                 "serve: expected GUEST or GUEST=PORT (1 to 65535), got '" + text + "'");
  }
  g.port = static_cast<uint16_t>(*port);
  return g;
}

constexpr uint16_t kServeFirstPort = 5900;
constexpr uint16_t kServeLastPort = 5999;

int run_consoles(const CliOptions& o, Output& out);

ConsoleProtocol console_protocol(const CliOptions& o) {
  if (o.protocol == "spice") return ConsoleProtocol::spice;
  if (o.protocol == "auto") return ConsoleProtocol::auto_select;
  return ConsoleProtocol::vnc;
}

// A SPICE console's options. The relay is needed when remote-viewer could not reach the SPICE
// proxy as we do: through the user's HTTP proxy (remote-viewer cannot chain proxies), and with
// --no-viewer, so that pvebridge sees the client come and go.
SpiceSessionOptions spice_options(const CliOptions& o, const ConsoleOptions& c,
                                  const ApiHost& api_host) {
  SpiceSessionOptions s;
  s.start_guest = c.start_guest;
  s.timeout_ms = c.timeout_ms;
  s.proxy_host = o.spice_proxy;
  s.proxy_port = o.spice_proxy_port;
  const std::string& proxy_host = o.spice_proxy.empty() ? api_host.host : o.spice_proxy;
  s.relay = o.spice_relay || o.no_viewer || o.proxy.for_host(proxy_host) != nullptr;
  s.listen_host = c.listen_host;
  s.listen_port = c.listen_port;
  s.vv_mode = c.vv_mode;
  s.vv_path = c.vv_path;
  s.title = c.vv.title;
  s.fullscreen = c.vv.fullscreen;
  s.launch_viewer = c.launch_viewer;
  s.viewer = c.viewer;
  s.viewer_grace_ms = c.viewer_grace_ms;
  s.client_wait_ms = c.client_wait_ms;
  s.require_same_uid = c.require_same_uid;
  s.pump = c.pump;
  return s;
}

}  // namespace

int run_connect(const CliOptions& o, Output& out) {
  if (!o.vv_file.empty() && o.guests.size() > 1) {
    Error e(Errc::usage, "--vv-file names one file: it cannot serve several guests");
    out.error(0, e);
    return kExitUsage;
  }
  return run_consoles(o, out);
}

int run_serve(const CliOptions& o, Output& out) {
  for (const auto& g : o.guests) {
    auto served = parse_served_guest(g);
    if (!served.ok()) return report(out, served.error());
  }
  return run_consoles(o, out);
}

namespace {

int run_consoles(const CliOptions& o, Output& out) {
  const bool serve = o.command == Command::serve;
  out.set_serve(serve);
  Loop loop;
  auto api = make_api(loop, o, out);
  if (!api.ok()) return report(out, api.error());
  // The guest list proves the token: the viewer starts one round trip sooner.
  api->client->set_probe_with_guest_list(true);
  int early_code = -1;  // set when we end before any session runs
  std::vector<std::unique_ptr<ConsoleSession>> sessions;
  std::vector<std::unique_ptr<SpiceSession>> spice_sessions;
  size_t expected = 0;  // sessions chosen (each ends in on_closed, whatever its protocol)
  size_t finished = 0;
  int final_code = kExitOk;

  SignalSet signals(loop, [&](int s) {
    if (sessions.empty() && spice_sessions.empty()) {
      out.error(0, interrupted_by(s));
      early_code = signal_exit_code(s);
      loop.stop();
      return;
    }
    for (auto& session : sessions) session->interrupt(s);
    for (auto& session : spice_sessions) session->interrupt(s);
  });

  struct Observer : ConsoleObserver {
    Output& out;
    size_t& finished;
    int& final_code;
    explicit Observer(Output& o, size_t& f, int& c) : out(o), finished(f), final_code(c) {}
    void on_log(int s, std::string_view l) override { out.on_log(s, l); }
    void on_listening(int s, const ListeningInfo& i) override { out.on_listening(s, i); }
    void on_client_connected(int s, int c) override { out.on_client_connected(s, c); }
    void on_client_closed(int s, int c, const ClientEnd& e) override {
      out.on_client_closed(s, c, e);
    }
    void on_local_auth_failed(int s, int c, std::string_view peer) override {
      out.on_local_auth_failed(s, c, peer);
    }
    void on_client_refused(int s, std::string_view w) override { out.on_client_refused(s, w); }
    void on_starting(int s, const Guest& g, bool r) override { out.on_starting(s, g, r); }
    void on_guest_paused(int s, const Guest& g) override { out.on_guest_paused(s, g); }
    void on_viewer_exited(int s, int c, std::string_view o) override {
      out.on_viewer_exited(s, c, o);
    }
    void on_reconnecting(int s, int c, int attempt, const Error& reason,
                         std::string_view host) override {
      out.on_reconnecting(s, c, attempt, reason, host);
    }
    void on_reconnected(int s, int c, int attempts, uint64_t downtime_ms) override {
      out.on_reconnected(s, c, attempts, downtime_ms);
    }
    void on_closed(int s, const SessionEnd& end) override {
      out.on_closed(s, end);
      int code = session_exit_code(end);
      if (final_code == kExitOk) final_code = code;
      ++finished;
    }
  } observer(out, finished, final_code);

  TcpListenerFactory listeners(loop);
  ConsoleOptions copts = console_options(o);
  copts.on_console_open = [&api](const ApiHost& host, const std::string& ca_pem,
                                 const Transport& server) {
    api->access->offer_cluster_ca(host, ca_pem, server);
  };
  with_guests(*api, loop, out, early_code, [&](std::vector<Guest> guests) {
    // Resolve every guest first: one bad name fails the command before any console opens.
    std::vector<Guest> chosen;
    std::vector<uint16_t> ports;
    for (const auto& given : o.guests) {
      std::string spec_text = given;
      uint16_t port = 0;
      if (serve) {
        auto served = parse_served_guest(given);
        spec_text = served->spec;  // checked before any network call
        port = served->port;
      }
      ports.push_back(port);
      auto spec = parse_guest_spec(spec_text);
      if (!spec.ok()) {
        early_code = report(out, spec.error());
        return;
      }
      auto g = resolve_guest(*spec, spec_text, guests);
      if (!g.ok()) {
        early_code = report(out, g.error());
        return;
      }
      chosen.push_back(std::move(*g));
    }
    int id = 0;
    expected = chosen.size();
    // serve's endpoints are VNC ones.
    const ConsoleProtocol asked = serve ? ConsoleProtocol::vnc : console_protocol(o);
    for (size_t i = 0; i < chosen.size(); ++i) {
      const Guest& g = chosen[i];
      out.name_session(++id, g.display_name());
      ConsoleOptions session_options = copts;
      if (serve) {
        session_options.listen_port = ports[i] ? ports[i] : kServeFirstPort;
        session_options.listen_port_last = ports[i] ? ports[i] : kServeLastPort;
      }
      // --protocol auto reads a VM's display first; vnc and spice decide at once.
      choose_console_protocol(
          *api->client, g, asked, [&, id, g, session_options](Result<ConsoleProtocol> p) {
            if (!p.ok()) {
              SessionEnd end;
              end.error = p.error();
              observer.on_closed(id, end);
              return;
            }
            if (*p == ConsoleProtocol::spice) {
              out.set_protocol(id, "spice");
              SpiceSessionOptions so = spice_options(o, copts, api->client->host());
              so.display_checked = asked == ConsoleProtocol::auto_select;
              spice_sessions.push_back(std::make_unique<SpiceSession>(
                  loop, id, *api->client, listeners, g, std::move(so), observer));
              spice_sessions.back()->start();
            } else {
              out.set_protocol(id, "vnc");
              sessions.push_back(std::make_unique<ConsoleSession>(loop, id, *api->client, listeners,
                                                                  g, session_options, observer));
              sessions.back()->start();
            }
          });
    }
  });
  loop.run_until([&] { return early_code >= 0 || (expected > 0 && finished == expected); });
  sessions.clear();
  spice_sessions.clear();
  api->client.reset();
  return early_code >= 0 ? early_code : final_code;
}

}  // namespace

}  // namespace pvb
