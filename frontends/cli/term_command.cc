#include "frontends/cli/term_command.h"

#include <cstdio>

#include "engine/core/json_writer.h"
#include "engine/terminal/terminal_session.h"
#include "frontends/cli/api_setup.h"
#include "frontends/cli/exit_codes.h"
#include "transports/tty/posix_terminal.h"

namespace pvb {

namespace {

// Standard output carries the terminal, so everything pvebridge itself says goes to standard
// error: human lines, or with --json one JSON object per line ("event": connected, closed,
// error).
class TermReport final : public TerminalObserver {
 public:
  TermReport(const CliOptions& o, Output& out) : o_(o), out_(out) {}

  void error(const Error& e) {
    if (o_.json) {
      JsonWriter w;
      w.begin_object().key("event").value("error");
      w.key("code").value(errc_name(e.code())).key("message").value(e.message()).end_object();
      line(w.str());
    } else {
      line("pvebridge: error: " + e.message());
    }
  }

  void on_log(std::string_view l) override { out_.verbose(0, l); }

  void on_connected(const TerminalTarget& t, bool interactive) override {
    interactive_ = interactive;
    if (o_.json) {
      JsonWriter w;
      w.begin_object().key("event").value("connected");
      w.key("node").value(t.node);
      if (t.guest) {
        w.key("vmid").value(static_cast<int64_t>(t.guest->vmid));
        w.key("type").value(guest_type_name(t.guest->type));
        if (t.guest->type == GuestType::qemu) w.key("serial").value(int64_t{t.serial});
      } else {
        w.key("type").value("shell");
      }
      w.key("interactive").value(interactive).end_object();
      line(w.str());
      return;
    }
    if (!interactive) return;  // scripts get the remote output and nothing else
    std::string what = t.display_name();
    if (t.guest && t.guest->type == GuestType::qemu)
      what += " (serial" + std::to_string(t.serial) + ")";
    std::string esc =
        o_.escape ? "escape character is '" + std::string(1, static_cast<char>(*o_.escape)) +
                        "': " + std::string(1, static_cast<char>(*o_.escape)) + ". ends, " +
                        std::string(1, static_cast<char>(*o_.escape)) + "? lists the escapes"
                  : "no escape character";
    // Raw mode is on already: end lines with CR LF.
    std::string l = "pvebridge: connected to " + what + "; " + esc + "\r\n";
    std::fwrite(l.data(), 1, l.size(), stderr);
    std::fflush(stderr);
  }

  void on_closed(const TerminalEnd& end) override {
    if (end.reason == TerminalCloseReason::error) error(end.error);
    if (o_.json) {
      JsonWriter w;
      w.begin_object().key("event").value("closed");
      w.key("reason").value(terminal_close_reason_name(end.reason));
      w.key("bytes_in").value(end.bytes_in).key("bytes_out").value(end.bytes_out).end_object();
      line(w.str());
      return;
    }
    if (!interactive_) return;
    switch (end.reason) {
      case TerminalCloseReason::user_ended:
        line("\npvebridge: session ended");
        break;
      case TerminalCloseReason::remote_closed:
        line("\npvebridge: the remote side closed the session");
        break;
      case TerminalCloseReason::interrupted:
        line("\npvebridge: " + end.error.message());
        break;
      default:
        break;
    }
  }

 private:
  static void line(const std::string& l) {
    std::fwrite(l.data(), 1, l.size(), stderr);
    std::fputc('\n', stderr);
    std::fflush(stderr);
  }
  const CliOptions& o_;
  Output& out_;
  bool interactive_ = false;
};

int exit_code_of(const TerminalEnd& end) {
  switch (end.reason) {
    case TerminalCloseReason::user_ended:
    case TerminalCloseReason::remote_closed:
    case TerminalCloseReason::input_done:
      return kExitOk;
    case TerminalCloseReason::interrupted:
      return signal_exit_code(end.signal);
    case TerminalCloseReason::error:
      return exit_code_for(end.error.code());
  }
  return kExitInternal;
}

TerminalOptions terminal_options(const CliOptions& o) {
  TerminalOptions t;
  t.start_guest = o.start;
  t.serial = o.serial;
  t.escape = o.escape;
  t.keepalive_ms = o.keepalive_s * 1000;
  t.idle_exit_ms = o.idle_exit_s * 1000;
  t.timeout_ms = o.timeout_s * 1000;
  return t;
}

}  // namespace

int run_term(const CliOptions& o, Output& out) {
  TermReport report(o, out);
  Loop loop;
  auto api = make_api(loop, o, out);
  if (!api.ok()) {
    report.error(api.error());
    return exit_code_for(api.error().code());
  }
  PosixTerminal terminal(loop);
  std::unique_ptr<TerminalSession> session;
  int early_code = -1;
  auto fail = [&](const Error& e) {
    report.error(e);
    early_code = exit_code_for(e.code());
  };
  SignalSet signals(loop, [&](int s) {
    if (session) return session->interrupt(s);
    report.error(interrupted_by(s));
    early_code = signal_exit_code(s);
    loop.stop();
  });
  auto open = [&](TerminalTarget target) {
    session = std::make_unique<TerminalSession>(loop, *api->client, std::move(target),
                                                terminal_options(o), terminal, report);
    session->start();
  };
  api->access->connect(loop, *api->client, [&](Error e) {
    if (e.failed()) return fail(e);
    if (o.command == Command::shell) {
      TerminalTarget t;
      // "localhost" is Proxmox's name for the node that answers the request.
      t.node = o.shell_node.empty() ? "localhost" : o.shell_node;
      return open(std::move(t));
    }
    api->client->list_guests([&](Result<std::vector<Guest>> r) {
      if (!r.ok()) return fail(r.error());
      const std::string& spec_text = o.guests.front();
      auto spec = parse_guest_spec(spec_text);
      if (!spec.ok()) return fail(spec.error());
      auto g = resolve_guest(*spec, spec_text, *r);
      if (!g.ok()) return fail(g.error());
      TerminalTarget t;
      t.node = g->node;
      t.guest = std::move(*g);
      open(std::move(t));
    });
  });
  loop.run_until([&] { return early_code >= 0 || (session && session->finished()); });
  int code = early_code >= 0 ? early_code : exit_code_of(session->end());
  session.reset();
  api->client.reset();
  return code;
}

}  // namespace pvb
