#include "engine/console/console_session.h"

#include "engine/core/signals.h"

namespace pvb {

namespace {

// The console's WebSocket is one of several connections pvebridge makes: its errors say so
// ("connection to ... lost" alone does not tell which one broke). The WebSocket layer's own
// errors name it already (ErrorSource::websocket).
Error websocket_error(Error e) {
  if (e.source() != ErrorSource::websocket) e.context("console WebSocket");
  return e;
}

}  // namespace

const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::client_closed:
      return "client_closed";
    case CloseReason::viewer_exited:
      return "viewer_exited";
    case CloseReason::server_closed:
      return "server_closed";
    case CloseReason::keepalive_timeout:
      return "keepalive_timeout";
    case CloseReason::interrupted:
      return "interrupted";
    case CloseReason::error:
      return "error";
  }
  return "error";
}

ConsoleSession::ConsoleSession(Loop& loop, int id, ProxmoxClient& api, ListenerFactory& listeners,
                               Guest guest, ConsoleOptions options, ConsoleObserver& observer)
    : loop_(loop),
      id_(id),
      api_(api),
      listeners_(listeners),
      guest_(std::move(guest)),
      options_(std::move(options)),
      observer_(observer),
      client_wait_timer_(loop),
      keepalive_timer_(loop),
      viewer_exit_wait_(loop) {}

ConsoleSession::~ConsoleSession() {
  // Transports may still hold us as their sink; detach before they outlive us.
  pump_.reset();
  if (ws_) ws_->set_sink(nullptr);
  if (!vv_file_.empty() && options_.vv_mode == VvMode::path) remove_file(vv_file_);
  wipe(ticket_.ticket);
  if (ticket_.password) wipe(*ticket_.password);
}

void ConsoleSession::log(const std::string& line) {
  observer_.on_log(id_, line);
}

void ConsoleSession::start() {
  // A running guest needs no status call unless --start must know whether it is paused.
  if (guest_.status == "running" && !options_.start_guest) {
    open_console();
    return;
  }
  check_guest();
}

void ConsoleSession::check_guest() {
  auto weak = alive_.weak();
  api_.guest_status(guest_, [this, weak](Result<GuestStatus> s) {
    if (weak.expired() || ending_) return;
    if (!s.ok()) return end_with(CloseReason::error, s.error());
    bool paused = s->status == "running" && s->qmpstatus == "paused";
    if (s->status == "running" && !paused) return open_console();
    if (paused && !options_.start_guest) {
      log(guest_.display_name() + " is paused; its console shows it paused (--start resumes it)");
      observer_.on_guest_paused(id_, guest_);
      if (ending_) return;
      return open_console();
    }
    if (!options_.start_guest) {
      return end_with(
          CloseReason::error,
          Error(Errc::not_running, "guest " + guest_.display_name() + " on " + guest_.node +
                                       " is " + s->status + "; add --start to start it"));
    }
    observer_.on_starting(id_, guest_, paused);
    if (ending_) return;
    api_.start_guest(guest_, paused, [this, weak](Error e) {
      if (weak.expired() || ending_) return;
      if (e.failed()) return end_with(CloseReason::error, e);
      open_console();
    });
  });
}

void ConsoleSession::open_console() {
  auto weak = alive_.weak();
  api_.vncproxy(guest_, [this, weak](Result<VncTicket> t) {
    if (weak.expired() || ending_) return;
    if (!t.ok()) return end_with(CloseReason::error, t.error());
    // The node waits only 10 s for the WebSocket: open it right away.
    open_websocket(std::move(*t));
  });
}

void ConsoleSession::open_websocket(VncTicket ticket) {
  ticket_ = std::move(ticket);
  WebSocketRequest request;
  request.path = ProxmoxClient::websocket_path(guest_, ticket_);
  request.headers = api_.auth_headers();
  request.max_frame_payload = options_.ws_frame_payload;
  request.handshake_timeout_ms = options_.timeout_ms;
  log("opening the console WebSocket (port " + std::to_string(ticket_.port) + ") on " +
      api_.host().authority());
  ws_ = api_.dialer().open_websocket(api_.host(), std::move(request));
  if (!ws_) {
    return end_with(CloseReason::error, Error(Errc::internal, "no transport to the API host"));
  }
  ws_->set_sink(this);
  ws_->set_write_watermarks(options_.pump.high_mark, options_.pump.low_mark);
  ws_->start();
}

void ConsoleSession::on_connected() {
  if (ending_) return;
  log("console WebSocket open");
  if (options_.on_console_open) {
    options_.on_console_open(api_.host(), ticket_.cert, ws_->lower());
    if (ending_) return;
  }
  start_listening();
}

void ConsoleSession::on_data(ByteChain& data, bool end_stream) {
  // Server bytes before the viewer arrived (the RFB greeting): keep them for the viewer, but never
  // more than the pump would buffer.
  early_from_guest_.move_from(data);
  if (early_from_guest_.size() > options_.pump.high_mark && ws_->reading_enabled()) {
    ws_->read_disable(true);
  }
  if (end_stream && !ending_) {
    end_with(
        CloseReason::server_closed,
        Error(Errc::connection_lost, "the server closed the console before a viewer connected"));
  }
}

void ConsoleSession::on_closed(const Error& error) {
  if (!ending_) {
    if (error.failed()) {
      end_with(CloseReason::error, websocket_error(error));
    } else {
      end_with(CloseReason::server_closed,
               Error(Errc::connection_lost, "the server closed the console"));
    }
    return;
  }
  maybe_finish();
}

void ConsoleSession::start_listening() {
  auto weak = alive_.weak();
  auto l =
      listeners_.listen(options_.listen_host, options_.listen_port, [this, weak](AcceptedClient c) {
        if (!weak.expired()) accept_client(std::move(c));
      });
  if (!l.ok()) return end_with(CloseReason::error, l.error());
  listener_ = std::move(*l);
  port_ = listener_->port();

  ListeningInfo info;
  info.address = options_.listen_host;
  info.port = port_;
  info.guest = guest_;
  if (options_.vv_mode != VvMode::stdin_pipe) {
    std::string path;
    Error e = write_vv_file(path);
    if (e.failed()) return end_with(CloseReason::error, e);
    info.vv_file = path;
  }
  log("listening on " + options_.listen_host + ":" + std::to_string(port_));
  observer_.on_listening(id_, info);
  if (ending_) return;
  if (options_.launch_viewer) launch_viewer();
  if (ending_) return;
  client_wait_timer_.start(options_.client_wait_ms, [this] {
    if (!client_ && !ending_) end_with(CloseReason::error, client_wait_over());
  });
}

static VvFileSpec vv_spec(const ConsoleOptions& o, const Guest& g, uint16_t port,
                          const VncTicket& t) {
  VvFileSpec spec = o.vv;
  spec.host = o.listen_host;
  spec.port = port;
  spec.password = t.vnc_password();
  if (spec.title.empty()) spec.title = g.display_name() + " - pvebridge";
  return spec;
}

Error ConsoleSession::write_vv_file(std::string& path_out) {
  if (options_.vv_mode == VvMode::private_dir) {
    auto dir = PrivateDir::create("pvebridge");
    if (!dir.ok()) return dir.error();
    vv_dir_.emplace(std::move(*dir));
    path_out = vv_dir_->path() + "/console-" + std::to_string(id_) + ".vv";
  } else {
    path_out = options_.vv_path;
  }
  std::string text = build_vv_file(vv_spec(options_, guest_, port_, ticket_));
  Error e = write_new_private_file(path_out, text);
  wipe(text);
  if (e.ok()) vv_file_ = path_out;
  return e;
}

Error ConsoleSession::client_wait_over() const {
  std::string msg = std::string(options_.launch_viewer ? "the viewer did not connect"
                                                       : "no local client connected") +
                    " within " + describe_timeout(options_.client_wait_ms) +
                    " (the --client-wait limit)";
  // The wait began once the WebSocket was open, as did the password's life.
  if (options_.client_wait_ms >= kVncPasswordLifeMs) msg += "; the VNC password has expired";
  return Error(Errc::no_client, msg);
}

void ConsoleSession::launch_viewer() {
  std::string arg = vv_file_;
  std::string content;
  if (options_.vv_mode == VvMode::stdin_pipe) {
    arg = "-";
    content = build_vv_file(vv_spec(options_, guest_, port_, ticket_));
  }
  auto weak = alive_.weak();
  ViewerOptions viewer = options_.viewer;
  viewer.on_stderr_line = [this, weak](std::string_view line) {
    if (!weak.expired()) log("viewer: " + std::string(line));
  };
  auto v = ViewerProcess::spawn(loop_, viewer, arg, std::move(content),
                                [this, weak](int64_t status, int sig) {
                                  if (!weak.expired()) viewer_exited(status, sig);
                                });
  if (!v.ok()) return end_with(CloseReason::error, v.error());
  viewer_ = std::move(*v);
  log("started viewer " + options_.viewer.program + " (pid " + std::to_string(viewer_->pid()) +
      ")");
}

void ConsoleSession::accept_client(AcceptedClient accepted) {
  auto refuse = [&](const std::string& line, const std::string& why) {
    log(line);
    observer_.on_client_refused(id_, why);
    accepted.transport->close(CloseMode::Abort);
    loop_.defer_delete(std::move(accepted.transport));
  };
  if (client_ || ending_) {
    return refuse("refused a second local connection: a console serves exactly one client",
                  "a client is already connected");
  }
  if (options_.require_same_uid) {
    const auto& uid = accepted.peer_uid;
    if (!uid || *uid != current_user_id()) {
      std::string who = uid ? "user id " + std::to_string(*uid) : "an unknown user";
      return refuse("refused a local connection from " + who,
                    "connection from " + who + " refused");
    }
  }
  client_ = std::move(accepted.transport);
  // Exactly one client: nobody else may connect from now on.
  listener_->close();
  client_wait_timer_.stop();
  auto weak = alive_.weak();
  pump_ =
      std::make_unique<Pump>(*client_, *ws_, options_.pump, [this, weak](const Pump::Result& r) {
        if (!weak.expired()) pump_done(r);
      });
  bool was_paused = !ws_->reading_enabled();
  pump_->start(std::move(early_from_guest_), ByteChain());
  client_->start();
  if (was_paused) ws_->read_disable(false);
  log("local client connected from " + accepted.peer);
  observer_.on_client_connected(id_);
  start_keepalive();
}

namespace {
constexpr char kKeepalivePayload[] = {'p', 'v', 'b'};
}  // namespace

void ConsoleSession::start_keepalive() {
  if (options_.keepalive_ms == 0) return;
  auto weak = alive_.weak();
  // Only the echo of our own ping counts: an unsolicited pong proves nothing about our pings.
  ws_->set_pong_handler([this, weak](ByteChain& payload) {
    if (!weak.expired() && payload.to_string(sizeof kKeepalivePayload) ==
                               std::string_view(kKeepalivePayload, sizeof kKeepalivePayload)) {
      awaiting_pong_ = false;
    }
  });
  keepalive_timer_.start_repeat(options_.keepalive_ms, options_.keepalive_ms,
                                [this] { keepalive_tick(); });
}

void ConsoleSession::keepalive_tick() {
  if (ending_ || !pump_) return;
  // Liveness is the pong to our own ping and nothing else: a server that floods us with data or
  // pings but never reads what we send is not alive. While backpressure keeps us from reading the
  // WebSocket (now, or at any time since the last tick), the pong may sit unread behind the data:
  // a busy, healthy session gets another interval for that.
  const uint64_t pauses = pump_->read_pauses(Pump::Side::b);
  const bool blind = pump_->read_paused(Pump::Side::b) || pauses != server_read_pauses_;
  server_read_pauses_ = pauses;
  if (awaiting_pong_) {
    if (blind) return;
    end_with(CloseReason::keepalive_timeout,
             Error(Errc::timeout, "the server did not answer the keepalive ping within " +
                                      std::to_string(options_.keepalive_ms / 1000) + " s"));
    return;
  }
  if (ws_->send_ping(std::span(reinterpret_cast<const uint8_t*>(kKeepalivePayload),
                               sizeof kKeepalivePayload))) {
    awaiting_pong_ = true;
  }
}

void ConsoleSession::pump_done(const Pump::Result& r) {
  end_.bytes_to_guest = r.bytes_a_to_b;
  end_.bytes_from_guest = r.bytes_b_to_a;
  if (!ending_) {
    if (r.ended_first == Pump::Side::a && viewer_ && viewer_->running()) {
      // Our viewer closed its connection: it is most likely exiting. Wait for its status.
      Error e = r.error;
      viewer_exit_wait_.start(options_.viewer_grace_ms, [this, e] {
        if (!ending_) end_with(CloseReason::client_closed, e);
      });
      return;
    }
    if (r.ended_first == Pump::Side::a) {
      end_with(CloseReason::client_closed, r.error);
    } else {
      server_ended(r.error);
    }
    return;
  }
  maybe_finish();
}

void ConsoleSession::server_ended(const Error& error) {
  if (error.ok()) {
    end_with(CloseReason::server_closed,
             Error(Errc::connection_lost, "the server ended the console"));
  } else {
    end_with(CloseReason::error, websocket_error(error));
  }
}

void ConsoleSession::viewer_exited(int64_t status, int sig) {
  int code = sig ? 128 + sig : static_cast<int>(status);
  end_.viewer_exit_code = code;
  log("viewer exited with " +
      (sig ? "signal " + std::to_string(sig) : "code " + std::to_string(code)));
  std::string output = code != 0 ? viewer_->stderr_tail(kViewerFailureLines) : std::string();
  observer_.on_viewer_exited(id_, code, output);
  if (!ending_) {
    // The server may have ended the console first, and the viewer exited because of it while
    // the pump still closes its sides: then that is the reason, not the viewer.
    const Pump::Result* pumped = pump_ ? pump_->ending() : nullptr;
    if (pumped != nullptr && pumped->ended_first == Pump::Side::b)
      return server_ended(pumped->error);
    end_with(CloseReason::viewer_exited);
    return;
  }
  maybe_finish();
}

void ConsoleSession::interrupt(int signum) {
  end_.signal = signum;
  end_with(CloseReason::interrupted, interrupted_by(signum));
}

void ConsoleSession::end_with(CloseReason reason, Error error) {
  if (ending_) return;
  ending_ = true;
  end_.reason = reason;
  end_.error = std::move(error);
  client_wait_timer_.stop();
  keepalive_timer_.stop();
  viewer_exit_wait_.stop();
  if (listener_) listener_->close();
  if (pump_ && !pump_->finished()) {
    pump_->stop();  // Flush both ways, then both close
  } else {
    if (ws_ && !ws_->closed()) ws_->close(CloseMode::Flush);
  }
  if (viewer_ && viewer_->running() && reason != CloseReason::viewer_exited) {
    // The bridge ended first: let the viewer show why for a moment, then close it, so nobody is
    // left in front of a "cannot connect" dialog. On a signal, close it now.
    viewer_->terminate_after(reason == CloseReason::interrupted ? 0 : options_.viewer_grace_ms);
  }
  maybe_finish();
}

void ConsoleSession::maybe_finish() {
  if (finished_ || !ending_) return;
  if (pump_ && !pump_->finished()) return;
  if (!pump_ && ws_ && !ws_->closed()) return;
  if (viewer_ && viewer_->running()) return;
  finished_ = true;
  if (pump_) {
    end_.bytes_to_guest = pump_->bytes_a_to_b();
    end_.bytes_from_guest = pump_->bytes_b_to_a();
  }
  if (!vv_file_.empty()) {
    remove_file(vv_file_);
    vv_file_.clear();
  }
  vv_dir_.reset();
  log("console closed: " + std::string(close_reason_name(end_.reason)));
  observer_.on_closed(id_, end_);
}

}  // namespace pvb
