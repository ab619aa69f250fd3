#include "engine/console/spice_session.h"

#include "engine/console/spice_vv.h"
#include "engine/core/signals.h"
#include "engine/io/http_exchange.h"
#include "engine/proxmox/guest_readiness.h"

namespace pvb {

void choose_console_protocol(ProxmoxClient& api, const Guest& guest, ConsoleProtocol asked,
                             std::function<void(Result<ConsoleProtocol>)> done) {
  if (asked == ConsoleProtocol::vnc) return done(ConsoleProtocol::vnc);
  if (guest.type != GuestType::qemu) {
    if (asked == ConsoleProtocol::auto_select) return done(ConsoleProtocol::vnc);
    return done(Error(Errc::no_spice, guest.display_name() +
                                          " is a container: containers have no SPICE display; "
                                          "use --protocol vnc"));
  }
  if (asked == ConsoleProtocol::spice) return done(ConsoleProtocol::spice);
  api.qemu_vga(guest, [done](Result<std::string> vga) {
    if (!vga.ok()) return done(vga.error());
    done(vga_is_spice(*vga) ? ConsoleProtocol::spice : ConsoleProtocol::vnc);
  });
}

struct SpiceSession::ProbeSink : TransportSink {
  std::function<void(Error)> done;
  void on_connected() override {
    if (done) std::exchange(done, nullptr)(Error());
  }
  void on_data(ByteChain& data, bool) override { data.clear(); }
  void on_closed(const Error& e) override {
    if (done) {
      std::exchange(done, nullptr)(e.failed() ? e : Error(Errc::connection_lost, "closed"));
    }
  }
};

SpiceSession::SpiceSession(Loop& loop, int id, ProxmoxClient& api, ListenerFactory& listeners,
                           Guest guest, SpiceSessionOptions options, ConsoleObserver& observer)
    : loop_(loop),
      id_(id),
      api_(api),
      listeners_(listeners),
      guest_(std::move(guest)),
      options_(std::move(options)),
      observer_(observer),
      probe_timer_(loop),
      client_wait_timer_(loop),
      idle_timer_(loop) {}

SpiceSession::~SpiceSession() {
  if (probe_) probe_->set_sink(nullptr);
  relay_.reset();
  if (!vv_file_.empty()) remove_file(vv_file_);
}

void SpiceSession::log(const std::string& line) {
  observer_.on_log(id_, line);
}

ApiHost SpiceSession::proxy_target() const {
  ApiHost h;
  h.host = options_.proxy_host.empty() ? api_.host().host : options_.proxy_host;
  h.port = options_.proxy_port;
  return h;
}

void SpiceSession::start() {
  if (guest_.type != GuestType::qemu) {
    return end_with(
        CloseReason::error,
        Error(Errc::no_spice, guest_.display_name() + " is a container: containers have no SPICE "
                                                      "display; use --protocol vnc"));
  }
  GuestReadyHooks hooks;
  hooks.wanted = [this] { return !ending_; };
  hooks.starting = [this](bool resume) { observer_.on_starting(id_, guest_, resume); };
  make_guest_ready(api_, guest_, options_.start_guest, alive_.weak(), std::move(hooks),
                   [this](Result<GuestReadiness> ready) {
                     if (!ready.ok()) return end_with(CloseReason::error, ready.error());
                     if (*ready == GuestReadiness::paused) {
                       observer_.on_guest_paused(id_, guest_);
                       if (ending_) return;
                     }
                     check_display();
                   });
}

void SpiceSession::check_display() {
  if (options_.display_checked) return probe_proxy();
  auto weak = alive_.weak();
  api_.qemu_vga(guest_, [this, weak](Result<std::string> vga) {
    if (weak.expired() || ending_) return;
    if (!vga.ok()) return end_with(CloseReason::error, vga.error());
    if (!vga_is_spice(*vga)) {
      std::string type = vga_type(*vga);
      return end_with(CloseReason::error,
                      Error(Errc::no_spice, guest_.display_name() + " has no SPICE display (vga " +
                                                (type.empty() ? "default, std" : type) +
                                                "; SPICE needs qxl or virtio): use --protocol "
                                                "vnc, or set its display to SPICE"));
    }
    probe_proxy();
  });
}

void SpiceSession::probe_proxy() {
  // Before asking for the ticket: its password's 30 s must not run while we find out that the
  // viewer could never get through.
  ApiHost target = proxy_target();
  log("testing the SPICE proxy " + target.authority());
  auto unreachable = [this, target](const Error& why) {
    end_with(CloseReason::error,
             Error(Errc::spice_unreachable,
                   "the node's SPICE proxy on " + target.authority() + " is not reachable (" +
                       why.message() +
                       "); SPICE needs it; use --protocol vnc, which needs only "
                       "port " +
                       std::to_string(api_.host().port)));
  };
  probe_ = api_.dialer().open_stream(target);
  if (!probe_) return unreachable(Error(Errc::internal, "no transport"));
  probe_sink_ = std::make_unique<ProbeSink>();
  auto weak = alive_.weak();
  probe_sink_->done = [this, weak, unreachable](Error e) {
    if (weak.expired()) return;
    probe_timer_.stop();
    if (probe_) {
      probe_->set_sink(nullptr);
      if (!probe_->closed()) probe_->close(CloseMode::Abort);
      loop_.defer_delete(std::move(probe_));
    }
    if (ending_) return maybe_finish();
    if (e.failed()) return unreachable(e);
    ask_spiceproxy();
  };
  probe_->set_sink(probe_sink_.get());
  probe_->start();
  probe_timer_.start(options_.timeout_ms + 1000, [this] {
    if (probe_sink_ && probe_sink_->done) {
      std::exchange(probe_sink_->done, nullptr)(
          Error(Errc::timeout, "no answer within " + describe_timeout(options_.timeout_ms)));
    }
  });
}

void SpiceSession::ask_spiceproxy() {
  auto weak = alive_.weak();
  api_.spiceproxy(guest_, proxy_target().host, [this, weak](Result<SpiceTicket> t) {
    if (weak.expired() || ending_) return;
    if (!t.ok()) return end_with(CloseReason::error, t.error());
    open_console(std::move(*t));
  });
}

void SpiceSession::open_console(SpiceTicket ticket) {
  ListeningInfo info;
  info.guest = guest_;
  SpiceVvSpec vv;
  vv.title = options_.title;
  vv.fullscreen = options_.fullscreen;
  if (options_.relay) {
    SpiceRelayOptions r;
    r.listen_host = options_.listen_host;
    r.listen_port = options_.listen_port;
    r.upstream = proxy_target();
    r.allowed_target = ticket.connect_target();
    r.require_same_uid = options_.require_same_uid;
    r.pump = options_.pump;
    auto weak = alive_.weak();
    r.log = [this, weak](std::string_view l) {
      if (!weak.expired()) log(std::string(l));
    };
    r.on_tunnel_open = [this, weak] {
      if (weak.expired() || ending_) return;
      idle_timer_.stop();
      if (!client_seen_) {
        client_seen_ = true;
        client_wait_timer_.stop();
        observer_.on_client_connected(id_, 1);  // the viewer, whatever its channel count
      }
    };
    r.on_tunnel_closed = [this, weak] {
      if (!weak.expired()) tunnel_closed();
    };
    r.on_refused = [this, weak](std::string_view why) {
      if (!weak.expired()) observer_.on_client_refused(id_, why);
    };
    relay_ = std::make_unique<SpiceRelay>(loop_, listeners_, api_.dialer(), std::move(r));
    Error e = relay_->listen();
    if (e.failed()) {
      ticket.wipe_secrets();
      return end_with(CloseReason::error, e);
    }
    bool v6 = options_.listen_host.find(':') != std::string::npos;
    vv.proxy = "http://" + (v6 ? "[" + options_.listen_host + "]" : options_.listen_host) + ":" +
               std::to_string(relay_->port());
    info.address = options_.listen_host;
    info.port = relay_->port();
    log("relaying SPICE on " + options_.listen_host + ":" + std::to_string(relay_->port()) +
        " to " + proxy_target().authority());
  } else {
    vv.proxy = "http://" + proxy_target().authority();
    info.address = proxy_target().host;
    info.port = proxy_target().port;
  }
  std::string text = build_spice_vv_file(ticket, vv);
  ticket.wipe_secrets();
  if (options_.vv_mode != VvMode::stdin_pipe) {
    std::string path;
    Error e = write_vv_file(text, path);
    if (e.failed()) {
      wipe(text);
      return end_with(CloseReason::error, e);
    }
    info.vv_file = path;
  }
  observer_.on_listening(id_, info);
  if (ending_) return wipe(text);
  if (options_.launch_viewer) launch_viewer(options_.vv_mode == VvMode::stdin_pipe ? text : "");
  wipe(text);
  if (ending_) return;
  if (relay_) {
    client_wait_timer_.start(options_.client_wait_ms, [this] {
      if (client_seen_ || ending_) return;
      std::string msg = std::string(options_.launch_viewer ? "the viewer did not connect"
                                                           : "no SPICE client connected") +
                        " within " + describe_timeout(options_.client_wait_ms) +
                        " (the --client-wait limit)";
      if (options_.client_wait_ms >= kSpicePasswordLifeMs) {
        msg += "; the SPICE password has expired";
      }
      end_with(CloseReason::error, Error(Errc::no_client, msg));
    });
  }
}

Error SpiceSession::write_vv_file(const std::string& text, std::string& path_out) {
  if (options_.vv_mode == VvMode::private_dir) {
    auto dir = PrivateDir::create("pvebridge");
    if (!dir.ok()) return dir.error();
    vv_dir_.emplace(std::move(*dir));
    path_out = vv_dir_->path() + "/spice-" + std::to_string(id_) + ".vv";
  } else {
    path_out = options_.vv_path;
  }
  Error e = write_new_private_file(path_out, text);
  if (e.ok()) vv_file_ = path_out;
  return e;
}

void SpiceSession::launch_viewer(std::string vv_text) {
  std::string arg = vv_file_;
  if (options_.vv_mode == VvMode::stdin_pipe) arg = "-";
  auto weak = alive_.weak();
  ViewerOptions viewer = options_.viewer;
  viewer.on_stderr_line = [this, weak](std::string_view line) {
    if (!weak.expired()) log("viewer: " + std::string(line));
  };
  auto v = ViewerProcess::spawn(loop_, viewer, arg, std::move(vv_text),
                                [this, weak](int64_t status, int sig) {
                                  if (!weak.expired()) viewer_exited(status, sig);
                                });
  if (!v.ok()) return end_with(CloseReason::error, v.error());
  viewer_ = std::move(*v);
  log("started viewer " + options_.viewer.program + " (pid " + std::to_string(viewer_->pid()) +
      ")");
}

void SpiceSession::tunnel_closed() {
  if (ending_) return maybe_finish();
  if (options_.launch_viewer || !relay_ || relay_->tunnels_open() > 0) return;
  // No viewer of ours to watch: the client is gone once no channel has been open for a moment
  // (remote-viewer may close one channel just before opening the next).
  idle_timer_.start(options_.idle_end_ms, [this] {
    if (!ending_ && relay_ && relay_->tunnels_open() == 0) end_with(CloseReason::client_closed);
  });
}

void SpiceSession::viewer_exited(int64_t status, int sig) {
  int code = sig ? 128 + sig : static_cast<int>(status);
  end_.viewer_exit_code = code;
  log("viewer exited with " +
      (sig ? "signal " + std::to_string(sig) : "code " + std::to_string(code)));
  std::string output = code != 0 ? viewer_->stderr_tail(kViewerFailureLines) : std::string();
  observer_.on_viewer_exited(id_, code, output);
  if (!ending_) return end_with(CloseReason::viewer_exited);
  maybe_finish();
}

void SpiceSession::interrupt(int signum) {
  end_.signal = signum;
  end_with(CloseReason::interrupted, interrupted_by(signum));
}

void SpiceSession::end_with(CloseReason reason, Error error) {
  if (ending_) return;
  ending_ = true;
  end_.reason = reason;
  end_.error = std::move(error);
  client_wait_timer_.stop();
  idle_timer_.stop();
  if (probe_ && !probe_->closed()) probe_->close(CloseMode::Abort);
  if (relay_) relay_->close();
  if (viewer_ && viewer_->running() && reason != CloseReason::viewer_exited) {
    viewer_->terminate_after(reason == CloseReason::interrupted ? 0 : options_.viewer_grace_ms);
  }
  // Whatever may still call back, later: finish from the loop, after it.
  auto weak = alive_.weak();
  loop_.post([this, weak] {
    if (!weak.expired()) maybe_finish();
  });
}

void SpiceSession::maybe_finish() {
  if (finished_ || !ending_) return;
  if (probe_ && !probe_->closed()) return;
  if (relay_ && !relay_->idle()) {
    // The relay's connections end in bounded time (a Flush gives up after kFlushGraceMs); look
    // again soon rather than count their callbacks.
    auto weak = alive_.weak();
    idle_timer_.start(20, [this, weak] {
      if (!weak.expired()) maybe_finish();
    });
    return;
  }
  if (viewer_ && viewer_->running()) return;
  finished_ = true;
  if (relay_) {
    end_.bytes_to_guest = relay_->bytes_to_guest();
    end_.bytes_from_guest = relay_->bytes_from_guest();
  }
  if (!vv_file_.empty()) {
    remove_file(vv_file_);
    vv_file_.clear();
  }
  vv_dir_.reset();
  log("SPICE console closed: " + std::string(close_reason_name(end_.reason)));
  observer_.on_closed(id_, end_);
}

}  // namespace pvb
