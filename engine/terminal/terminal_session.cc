#include "engine/terminal/terminal_session.h"

#include <algorithm>
#include <csignal>

#include "engine/core/platform.h"
#include "engine/core/text.h"
#include "engine/proxmox/guest_readiness.h"

namespace pvb {

const char* terminal_close_reason_name(TerminalCloseReason r) {
  switch (r) {
    case TerminalCloseReason::user_ended:
      return "user_ended";
    case TerminalCloseReason::remote_closed:
      return "remote_closed";
    case TerminalCloseReason::input_done:
      return "input_done";
    case TerminalCloseReason::interrupted:
      return "interrupted";
    case TerminalCloseReason::error:
      return "error";
  }
  return "error";
}

struct TerminalSession::WsSink : TransportSink {
  TerminalSession& s;
  explicit WsSink(TerminalSession& session) : s(session) {}
  void on_connected() override { s.ws_connected(); }
  void on_data(ByteChain& data, bool end_stream) override { s.ws_data(data, end_stream); }
  void on_write_low() override { s.ws_write_low(); }
  void on_closed(const Error& error) override { s.ws_closed(error); }
};

struct TerminalSession::InputSink : TransportSink {
  TerminalSession& s;
  explicit InputSink(TerminalSession& session) : s(session) {}
  void on_data(ByteChain& data, bool end_stream) override { s.input_data(data, end_stream); }
  void on_closed(const Error& error) override { s.input_closed(error); }
};

struct TerminalSession::OutputSink : TransportSink {
  TerminalSession& s;
  explicit OutputSink(TerminalSession& session) : s(session) {}
  void on_data(ByteChain& data, bool) override { data.clear(); }
  void on_write_low() override { s.output_low(); }
  void on_closed(const Error& error) override { s.output_closed(error); }
};

TerminalSession::TerminalSession(Loop& loop, ProxmoxClient& api, TerminalTarget target,
                                 TerminalOptions options, TerminalIo& io,
                                 TerminalObserver& observer)
    : api_(api),
      target_(std::move(target)),
      options_(std::move(options)),
      io_(io),
      observer_(observer),
      ws_sink_(std::make_unique<WsSink>(*this)),
      input_sink_(std::make_unique<InputSink>(*this)),
      output_sink_(std::make_unique<OutputSink>(*this)),
      escape_(options_.escape),
      ok_timer_(loop),
      keepalive_timer_(loop),
      idle_timer_(loop),
      drain_timer_(loop) {}

TerminalSession::~TerminalSession() {
  if (ws_) ws_->set_sink(nullptr);
  io_.input().set_sink(nullptr);
  io_.output().set_sink(nullptr);
  if (raw_mode_) io_.restore_mode();
  wipe(ticket_.ticket);
}

void TerminalSession::log(const std::string& line) {
  observer_.on_log(line);
}

void TerminalSession::start() {
  if (!target_.guest) return open_terminal();
  GuestReadyHooks hooks;
  hooks.wanted = [this] { return !ending_; };
  make_guest_ready(api_, *target_.guest, options_.start_guest, alive_.weak(), std::move(hooks),
                   [this](Result<GuestReadiness> ready) {
                     if (!ready.ok()) return end_with(TerminalCloseReason::error, ready.error());
                     choose_serial();
                   });
}

void TerminalSession::choose_serial() {
  const Guest& g = *target_.guest;
  if (g.type != GuestType::qemu) return open_terminal();
  auto weak = alive_.weak();
  api_.qemu_serial_ports(g, [this, weak](Result<std::vector<int>> ports) {
    if (weak.expired() || ending_) return;
    if (!ports.ok()) return end_with(TerminalCloseReason::error, ports.error());
    const Guest& guest = *target_.guest;
    std::string vmid = std::to_string(guest.vmid);
    if (options_.serial) {
      int n = *options_.serial;
      if (std::find(ports->begin(), ports->end(), n) == ports->end()) {
        std::string port = "serial" + std::to_string(n);
        return end_with(TerminalCloseReason::error,
                        Error(Errc::console_refused,
                              "VM " + guest.display_name() + " has no " + port +
                                  ": add one with 'qm set " + vmid + " -" + port +
                                  " socket' on its node (it takes effect after a restart)"));
      }
      target_.serial = n;
      return open_terminal();
    }
    if (ports->empty()) {
      return end_with(
          TerminalCloseReason::error,
          Error(Errc::console_refused,
                "VM " + guest.display_name() + " has no serial port: add one with 'qm set " + vmid +
                    " -serial0 socket' on its node (it takes effect after a restart; "
                    "the guest needs a console on ttyS0)"));
    }
    target_.serial = ports->front();
    log("using serial" + std::to_string(target_.serial) + " of " + guest.display_name());
    open_terminal();
  });
}

void TerminalSession::open_terminal() {
  auto weak = alive_.weak();
  api_.termproxy(target_, [this, weak](Result<TermTicket> t) {
    if (weak.expired() || ending_) return;
    if (!t.ok()) return end_with(TerminalCloseReason::error, t.error());
    // The node waits only 10 s for the WebSocket: open it right away.
    open_websocket(std::move(*t));
  });
}

void TerminalSession::open_websocket(TermTicket ticket) {
  ticket_ = std::move(ticket);
  WebSocketRequest request;
  request.path = ProxmoxClient::terminal_websocket_path(target_, ticket_);
  request.headers = api_.auth_headers();
  request.max_frame_payload = options_.ws_frame_payload;
  request.handshake_timeout_ms = options_.timeout_ms;
  log("opening the terminal WebSocket (port " + std::to_string(ticket_.port) + ") on " +
      api_.host().authority());
  ws_ = api_.dialer().open_websocket(api_.host(), std::move(request));
  if (!ws_) {
    return end_with(TerminalCloseReason::error,
                    Error(Errc::internal, "no transport to the API host"));
  }
  ws_->set_sink(ws_sink_.get());
  ws_->set_write_watermarks(options_.high_mark, options_.low_mark);
  ws_->start();
}

void TerminalSession::ws_connected() {
  if (ending_) return;
  // The first message names who the ticket was issued to (the token id for a token).
  std::string user = !ticket_.user.empty() ? ticket_.user : api_.authid();
  std::string login = termproxy_login_message(user, ticket_.ticket);
  ByteChain out(login);
  wipe(login);
  ws_->write(out);
  log("terminal WebSocket open; logged in as " + user + ", waiting for OK");
  ok_timer_.start(options_.ok_timeout_ms, [this] {
    if (ready_ || ending_) return;
    end_with(TerminalCloseReason::error,
             Error(Errc::timeout, "the terminal did not answer OK within " +
                                      std::to_string(options_.ok_timeout_ms / 1000) + " s"));
  });
}

Error TerminalSession::refused_before_ok(const Error& cause) {
  if (api_.uses_token()) {
    return Error(Errc::console_refused,
                 "the server refused the terminal for the API token " + api_.authid() +
                     ": servers older than the April 2026 updates (guests) or pve-manager 9.0.13 "
                     "(node shells) do not accept API tokens on terminals; log in as a user "
                     "(--user) instead");
  }
  std::string why = cause.failed() ? " (" + cause.message() + ")" : "";
  return Error(Errc::console_refused,
               "the server closed the terminal without answering OK: the ticket was refused" + why);
}

void TerminalSession::ws_data(ByteChain& data, bool end_stream) {
  if (ending_) {
    data.clear();
    return;
  }
  if (!ready_) {
    auto state = ok_waiter_.feed(data);
    if (state == TermproxyOkWaiter::State::refused) {
      std::string got = printable(data.to_string(40), 40);
      data.clear();
      return end_with(
          TerminalCloseReason::error,
          Error(Errc::console_refused, "the terminal answered '" + got + "' instead of OK"));
    }
    if (state == TermproxyOkWaiter::State::waiting) {
      if (end_stream) {
        data.clear();
        end_with(TerminalCloseReason::error, refused_before_ok(Error()));
      }
      return;
    }
    session_ready();  // what followed the OK in `data` is output, written below
    if (ending_) return;
  }
  if (!data.empty()) {
    end_.bytes_out += data.size();
    io_.output().write(data);
    output_data_written();
  }
  if (end_stream) end_with(TerminalCloseReason::remote_closed);
}

void TerminalSession::output_data_written() {
  if (input_eof_) arm_idle_timer();
  if (!output_paused_ws_ && io_.output().pending_write_bytes() > options_.high_mark) {
    output_paused_ws_ = true;
    ws_->read_disable(true);
  }
}

void TerminalSession::output_low() {
  if (output_paused_ws_ && ws_) {
    output_paused_ws_ = false;
    ws_->read_disable(false);
  }
  maybe_finish();
}

void TerminalSession::ws_write_low() {
  if (ws_paused_input_) {
    ws_paused_input_ = false;
    io_.input().read_disable(false);
  }
}

void TerminalSession::ws_closed(const Error& error) {
  if (ending_) return maybe_finish();
  if (!ws_->connected()) {
    Error e = error.failed() ? error : Error(Errc::connection_lost, "connection closed");
    if (e.detail().rfind("WebSocket", 0) != 0 && e.detail().rfind("websocket", 0) != 0) {
      e.context("terminal WebSocket");
    }
    return end_with(TerminalCloseReason::error, e);
  }
  if (!ready_) return end_with(TerminalCloseReason::error, refused_before_ok(error));
  if (error.failed()) {
    Error e = error;
    e.context("terminal WebSocket");
    return end_with(TerminalCloseReason::error, e);
  }
  end_with(TerminalCloseReason::remote_closed);
}

void TerminalSession::session_ready() {
  ready_ = true;
  ok_timer_.stop();
  io_started_ = true;
  io_.input().set_sink(input_sink_.get());
  io_.output().set_sink(output_sink_.get());
  io_.output().set_write_watermarks(options_.high_mark, options_.low_mark);
  io_.output().read_disable(true);  // nothing to read there
  if (io_.interactive()) {
    Error e = io_.enter_raw_mode();
    if (e.failed()) return end_with(TerminalCloseReason::error, e);
    raw_mode_ = true;
    send_size();
    auto weak = alive_.weak();
    io_.set_resize_handler([this, weak] {
      if (!weak.expired() && !ending_) send_size();
    });
  }
  io_.output().start();
  io_.input().start();
  if (options_.keepalive_ms > 0) {
    keepalive_timer_.start_repeat(options_.keepalive_ms, options_.keepalive_ms, [this] {
      if (ending_ || !ws_) return;
      ByteChain k(kTermproxyKeepalive);
      ws_->write(k);
    });
  }
  log("terminal ready");
  observer_.on_connected(target_, io_.interactive());
}

void TerminalSession::send_size() {
  auto size = io_.size();
  if (!size || size == last_size_) return;
  last_size_ = size;
  ByteChain m(termproxy_resize_message(size->cols, size->rows));
  ws_->write(m);
}

void TerminalSession::send_to_ws(ByteChain& frames) {
  if (frames.empty() || !ws_ || ws_->closed()) return;
  ws_->write(frames);
  if (!ws_paused_input_ && ws_->pending_write_bytes() > options_.high_mark) {
    ws_paused_input_ = true;
    io_.input().read_disable(true);
  }
}

void TerminalSession::input_data(ByteChain& data, bool end_stream) {
  if (ending_) {
    data.clear();
    return;
  }
  ByteChain frames;
  if (io_.interactive() && escape_.escape()) {
    std::string keys;
    std::string chunk = data.to_string();
    data.clear();
    EscapeResult r =
        escape_.feed({reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()}, keys);
    end_.bytes_in += keys.size();
    termproxy_append_input(frames, {reinterpret_cast<const uint8_t*>(keys.data()), keys.size()});
    send_to_ws(frames);
    for (int i = 0; i < r.help; ++i) {
      ByteChain help(escape_help_text(*escape_.escape()));
      io_.output().write(help);
    }
    if (r.disconnect) return end_with(TerminalCloseReason::user_ended);
  } else {
    end_.bytes_in += data.size();
    termproxy_append_input(frames, data);
    send_to_ws(frames);
  }
  if (end_stream) {
    input_eof_ = true;
    log("end of standard input; ending once the output is quiet for " +
        std::to_string(options_.idle_exit_ms) + " ms");
    arm_idle_timer();
  }
}

void TerminalSession::arm_idle_timer() {
  idle_timer_.start(options_.idle_exit_ms, [this] {
    if (ending_) return;
    if (output_paused_ws_) return arm_idle_timer();  // still writing what came: not quiet
    end_with(TerminalCloseReason::input_done);
  });
}

void TerminalSession::input_closed(const Error& error) {
  if (ending_) return maybe_finish();
  if (error.failed()) end_with(TerminalCloseReason::error, error);
}

void TerminalSession::output_closed(const Error& error) {
  if (ending_) return maybe_finish();
  if (error.code() == Errc::connection_lost) {
    // The reader of our output left (`pvebridge term 200 | head -1`): like the user ending it.
    log("the reader of standard output went away: " + error.message());
    return end_with(TerminalCloseReason::user_ended);
  }
  end_with(TerminalCloseReason::error,
           error.failed() ? error : Error(Errc::io, "standard output closed"));
}

void TerminalSession::interrupt(int signum) {
  end_.signal = signum;
  end_with(
      TerminalCloseReason::interrupted,
      Error(Errc::interrupted, std::string("interrupted by ") + (signum == SIGINT    ? "SIGINT"
                                                                 : signum == SIGTERM ? "SIGTERM"
                                                                 : signum == SIGHUP  ? "SIGHUP"
                                                                                    : "a signal")));
}

void TerminalSession::end_with(TerminalCloseReason reason, Error error) {
  if (ending_) return;
  ending_ = true;
  end_.reason = reason;
  end_.error = std::move(error);
  ok_timer_.stop();
  keepalive_timer_.stop();
  idle_timer_.stop();
  if (ws_ && !ws_->closed()) {
    if (output_paused_ws_) {
      output_paused_ws_ = false;
      ws_->read_disable(false);  // let the close handshake through; data is dropped now
    }
    ws_->close(CloseMode::Flush);
  }
  if (io_started_) {
    if (!io_.input().closed()) io_.input().close(CloseMode::Abort);
    if (!io_.output().closed()) {
      io_.output().close(CloseMode::Flush);
      // A terminal that never takes the rest must not keep us: drop it after a while.
      drain_timer_.start(options_.drain_timeout_ms, [this] {
        if (!io_.output().closed()) io_.output().close(CloseMode::Abort);
      });
    }
  }
  maybe_finish();
}

void TerminalSession::maybe_finish() {
  if (finished_ || !ending_) return;
  if (ws_ && !ws_->closed()) return;
  if (io_started_ && (!io_.output().closed() || !io_.input().closed())) return;
  finished_ = true;
  drain_timer_.stop();
  if (raw_mode_) {
    io_.restore_mode();
    raw_mode_ = false;
  }
  log("terminal closed: " + std::string(terminal_close_reason_name(end_.reason)));
  observer_.on_closed(end_);
}

}  // namespace pvb
