#include "engine/console/console_session.h"

#include <algorithm>
#include <cstdio>

#include "engine/core/random.h"
#include "engine/core/signals.h"
#include "engine/proxmox/guest_readiness.h"

namespace pvb {

namespace {

// The console's WebSocket is one of several connections pvebridge makes: its errors say so. The
// WebSocket layer's own errors name it already (ErrorSource::websocket).
Error websocket_error(Error e) {
  if (e.source() != ErrorSource::websocket) e.context("console WebSocket");
  return e;
}

// 8 characters a user can type and every viewer's password field and file accept unquoted.
std::string make_local_password(Random& random) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";  // no 0/O, 1/l/I
  constexpr uint32_t kSize = sizeof kAlphabet - 1;
  std::string password;
  while (password.size() < kLocalPasswordLength) {
    uint8_t b;
    random.fill(&b, 1);
    // Rejection sampling keeps every character equally likely.
    if (b < 256 - 256 % kSize) password.push_back(kAlphabet[b % kSize]);
  }
  return password;
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

const char* local_auth_name(LocalAuth a) {
  return a == LocalAuth::none ? "none" : "vnc_password";
}

// Before its pump exists, a client's transport reports its end here.
struct ConsoleSession::ClientSink : TransportSink {
  ConsoleSession* session = nullptr;
  int client_id = 0;
  void on_data(ByteChain& data, bool) override { data.clear(); }
  void on_closed(const Error& error) override { session->client_gone(client_id, error); }
};

// One local client: its transport (a ViewerRfbLink, or the bare one in passthrough), the
// upstream it is spliced to, and the pump between them.
struct ConsoleSession::Client {
  int id = 0;
  std::string peer;
  ClientSink sink;
  std::unique_ptr<Transport> local;
  ViewerRfbLink* link = nullptr;  // local, when RFB is terminated here
  std::unique_ptr<Upstream> upstream;
  std::unique_ptr<UpstreamSlot> slot;  // the pump's node side, when RFB is terminated here
  std::unique_ptr<Pump> pump;
  bool viewer_ready = false;  // its handshake is done
  bool refused = false;       // its handshake failed (a wrong password): it is only closing
  bool spliced = false;
  // A local client must finish its RFB handshake within --timeout: a silent one (a stuck program,
  // a port probe) must not hold connect's one-client slot.
  std::unique_ptr<Timer> handshake_deadline;
  Error failure;  // why the session closed it (its upstream failed)
  // A reconnect in progress (lost_at != 0).
  struct Reconnect {
    uint64_t lost_at = 0;
    int attempts = 0;
    uint64_t backoff_ms = 0;
    Error loss;  // what was lost, and why: the session ends with this when the budget runs out
    CloseReason close_reason = CloseReason::error;
    std::string host;          // the API host the lost connection was on
    bool check_guest = false;  // the node ended the console in order: did the guest stop?
    bool relogin = false;      // log in again (and fail over) before the next vncproxy
    bool relogged = false;     // this attempt has logged in again already
    std::unique_ptr<Timer> timer;
  } rc;
  uint64_t resumed_at = 0;  // when the last reconnect completed (0: never)
};

ConsoleSession::ConsoleSession(Loop& loop, int id, ProxmoxClient& api, ListenerFactory& listeners,
                               Guest guest, ConsoleOptions options, ConsoleObserver& observer)
    : loop_(loop),
      id_(id),
      api_(api),
      guest_(std::move(guest)),
      options_(std::move(options)),
      observer_(observer),
      endpoint_(loop, listeners, options_.require_same_uid),
      client_wait_timer_(loop),
      viewer_exit_wait_(loop) {}

ConsoleSession::~ConsoleSession() {
  // Transports may still hold us (or our clients) as their sink; detach before they outlive us.
  for (auto& c : clients_) {
    c->pump.reset();
    if (c->local) c->local->set_sink(nullptr);
  }
  clients_.clear();
  spare_.reset();
  wipe(local_password_);
}

void ConsoleSession::log(const std::string& line) {
  observer_.on_log(id_, line);
}

void ConsoleSession::client_log(int client_id, const std::string& line) {
  if (client_id == 0 || options_.mode != SessionMode::serve) return log(line);
  log("client " + std::to_string(client_id) + ": " + line);
}

void ConsoleSession::start() {
  GuestReadyHooks hooks;
  hooks.wanted = [this] { return state_ < State::ending; };
  hooks.starting = [this](bool resume) { observer_.on_starting(id_, guest_, resume); };
  make_guest_ready(api_, guest_, options_.start_guest, alive_.weak(), std::move(hooks),
                   [this](Result<GuestReadiness> ready) {
                     if (!ready.ok()) return end_with(CloseReason::error, ready.error());
                     if (*ready == GuestReadiness::paused) {
                       log(guest_.display_name() +
                           " is paused; its console shows it paused (--start resumes it)");
                       observer_.on_guest_paused(id_, guest_);
                       if (state_ >= State::ending) return;
                     }
                     open();
                   });
}

void ConsoleSession::open() {
  state_ = State::opening;
  if (options_.mode == SessionMode::connect) {
    // The node gets our answer to its challenge within milliseconds of the WebSocket opening, so
    // the viewer may take its time; in passthrough mode the listener waits for the ticket.
    spare_ = make_upstream(0);
    spare_->open();
    if (state_ >= State::ending || options_.passthrough) return;
  }
  start_listening();
}

std::unique_ptr<Upstream> ConsoleSession::make_upstream(int client_id, bool reconnecting) {
  UpstreamOptions o;
  o.rfb = !options_.passthrough;
  o.shared = !options_.exclusive;
  // Always shared unless --exclusive, whatever the client's ClientInit says: remote-viewer and
  // TigerVNC ask for shared=0, which would make every serve client (and a reconnecting viewer)
  // drop the guest's other viewers, the endpoint's other clients and a noVNC tab included.
  o.timeout_ms = options_.timeout_ms;
  o.keepalive_ms = options_.keepalive_ms;
  o.ws_frame_payload = options_.ws_frame_payload;
  o.high_mark = options_.pump.high_mark;
  o.low_mark = options_.pump.low_mark;
  o.watch_size = client_id == 0 && !options_.passthrough;
  if (!first_upstream_opened_) {
    first_upstream_opened_ = true;
    o.on_websocket_open = options_.on_console_open;
  }
  auto weak = alive_.weak();
  auto self = std::make_shared<Upstream*>(nullptr);
  Upstream::Events events;
  events.on_ready = [this, weak, client_id, reconnecting] {
    if (weak.expired()) return;
    if (reconnecting) return reconnect_ready(client_id);
    upstream_ready(client_id);
  };
  events.on_failed = [this, weak, client_id, reconnecting](const Error& e, bool clean) {
    if (weak.expired()) return;
    if (reconnecting) {
      return reconnect_failed(
          client_id, clean ? Error(Errc::connection_lost, "the server closed the console") : e);
    }
    upstream_failed(client_id, e, clean);
  };
  events.on_keepalive_timeout = [this, weak, client_id, self](const Error& e) {
    if (weak.expired() || state_ >= State::ending) return;
    if (Client* c = owner_of(*self);
        c && c->slot && c->slot->attached() && options_.reconnect_ms > 0) {
      // A stalled connection is a lost one: the viewer stays while a new one opens.
      const int id = c->id;
      c->slot->detach();
      upstream_lost(id, e, false);
      if (Client* again = find_client(id); again && again->rc.lost_at != 0) {
        again->rc.close_reason = CloseReason::keepalive_timeout;
      }
      return;
    }
    if (options_.mode == SessionMode::serve && client_id != 0) {
      if (Client* c = find_client(client_id)) {
        log("client " + std::to_string(client_id) + ": " + e.message());
        if (c->pump) c->pump->stop();
      }
      return;
    }
    end_with(CloseReason::keepalive_timeout, e);
  };
  events.on_log = [this, weak, client_id](const std::string& line) {
    if (weak.expired()) return;
    client_log(client_id, line);
  };
  auto up = std::make_unique<Upstream>(loop_, api_, guest_, std::move(o), std::move(events));
  *self = up.get();
  return up;
}

namespace {

// A loss this soon after a reconnect completed counts as flapping.
constexpr uint64_t kFlappingMs = 1000;

// Failures a new attempt cannot fix: credentials (after logging in again), permissions, a guest
// that is gone or stopped, a certificate that no longer verifies.
bool permanent_failure(const Error& e) {
  switch (e.code()) {
    case Errc::auth:
    case Errc::tls_verify:
    case Errc::not_found:
    case Errc::template_guest:
    case Errc::not_running:
    case Errc::usage:
      return true;
    case Errc::console_refused:
      return e.native() == 401 || e.native() == 403;  // vncproxy's HTTP status
    default:
      return false;
  }
}

}  // namespace

void ConsoleSession::upstream_ready(int client_id) {
  if (state_ >= State::ending) return;
  if (client_id == 0) {
    if (options_.passthrough) return start_listening();
    // A client whose handshake ended first took it while it opened.
    for (auto& c : clients_) {
      if (c->viewer_ready && !c->spliced && c->upstream && c->upstream->ready()) {
        return splice(*c);
      }
    }
    return;
  }
  if (Client* c = find_client(client_id); c && c->viewer_ready) splice(*c);
}

void ConsoleSession::upstream_failed(int client_id, const Error& e, bool clean) {
  if (state_ >= State::ending) return;
  Client* owner = nullptr;
  if (client_id == 0) {
    for (auto& c : clients_) {
      if (c->upstream && !c->spliced && c->upstream->failed()) owner = c.get();
    }
  } else {
    owner = find_client(client_id);
  }
  // The prepared upstream (still spare, or taken by a waiting client) had become ready.
  const Upstream* prepared = client_id != 0 ? nullptr
                             : owner        ? owner->upstream.get()
                                            : spare_.get();
  const bool was_ready = prepared && prepared->ready();
  if (client_id == 0 && !owner && was_ready && !options_.passthrough) {
    // The pre-opened upstream died while nobody used it: the next client gets a fresh one.
    log("the prepared console connection ended (" + e.message() + "); a new one opens on demand");
    spare_.reset();
    return;
  }
  // Lost on its way to ready (a reset, the node closing it): with reconnecting on, one glitch is
  // hidden by opening it again at once, for nobody yet or for the viewer that took it while it
  // opened. Once: a node that does it again gets the error shown as before.
  const bool lost = (clean || e.code() == Errc::connection_lost) && !permanent_failure(e);
  if (client_id == 0 && lost && !was_ready && options_.reconnect_ms > 0 && !prepared_reopened_ &&
      !options_.passthrough && options_.mode == SessionMode::connect) {
    prepared_reopened_ = true;
    log("the console connection was lost while it opened (" + e.message() + "); opening another");
    std::unique_ptr<Upstream>& slot = owner ? owner->upstream : spare_;
    loop_.defer_delete(std::move(slot));
    slot = make_upstream(owner ? owner->id : 0);
    slot->open();
    return;
  }
  if (options_.mode == SessionMode::serve && owner) {
    log("client " + std::to_string(owner->id) + ": " + e.message());
    owner->failure = e;
    owner->local->close(CloseMode::Abort);  // client_gone reports it
    return;
  }
  if (clean && (was_ready || owner)) {
    return end_with(
        CloseReason::server_closed,
        Error(Errc::connection_lost, options_.passthrough
                                         ? "the server closed the console before a viewer connected"
                                         : e.message()));
  }
  end_with(CloseReason::error, e);
}

void ConsoleSession::start_listening() {
  auto weak = alive_.weak();
  const uint16_t first = options_.listen_port;
  const uint16_t last = std::max(options_.listen_port_last, first);
  Error e;
  for (uint32_t port = first; port <= last; ++port) {
    e = endpoint_.listen(
        options_.listen_host, static_cast<uint16_t>(port),
        [this, weak](AcceptedClient c) {
          if (!weak.expired()) admit(std::move(c));
        },
        [this, weak](const std::string& line, const std::string& why) {
          if (weak.expired()) return;
          log(line);
          observer_.on_client_refused(id_, why);
        });
    if (e.ok()) break;
  }
  if (e.failed() && last > first) {
    e = Error(e.code(), "no free port from " + std::to_string(first) + " to " +
                            std::to_string(last) + " (" + e.message() + ")");
  }
  if (e.failed()) return end_with(CloseReason::error, e);
  if (!options_.passthrough && options_.local_auth == LocalAuth::one_time_password) {
    local_password_ = make_local_password(system_random());
  }
  state_ = State::waiting;

  ListeningInfo info;
  info.address = options_.listen_host;
  info.port = endpoint_.port();
  info.guest = guest_;
  info.local_auth = options_.local_auth;
  info.passthrough = options_.passthrough;
  if (options_.report_password && !local_password_.empty()) info.password = local_password_;
  {
    // serve writes one too: any client that reads .vv files (remote-viewer) can use it.
    viewer_ = std::make_unique<ViewerLaunch>(loop_, options_.vv_mode, options_.vv_path,
                                             "console-" + std::to_string(id_) + ".vv");
    VvFileSpec spec = vv_spec();
    auto path = viewer_->write_vv(spec);
    wipe(spec.password);
    if (!path.ok()) return end_with(CloseReason::error, path.error());
    info.vv_file = *path;
  }
  log("listening on " + options_.listen_host + ":" + std::to_string(endpoint_.port()));
  observer_.on_listening(id_, info);
  if (state_ >= State::ending || options_.mode == SessionMode::serve) return;
  if (options_.launch_viewer) launch_viewer();
  if (state_ >= State::ending) return;
  uint64_t wait = options_.client_wait_ms;
  if (options_.passthrough) wait = std::min(wait, kVncPasswordLifeMs);
  client_wait_timer_.start(wait, [this] {
    if (state_ < State::ending) end_with(CloseReason::error, client_wait_over());
  });
}

VvFileSpec ConsoleSession::vv_spec() const {
  VvFileSpec spec = options_.vv;
  spec.host = options_.listen_host;
  spec.port = endpoint_.port();
  spec.password = options_.passthrough ? spare_->ticket().vnc_password() : local_password_;
  if (spec.title.empty()) spec.title = guest_.display_name() + " - pvebridge";
  return spec;
}

Error ConsoleSession::client_wait_over() const {
  std::string msg = std::string(options_.launch_viewer ? "the viewer did not connect"
                                                       : "no local client connected") +
                    " within ";
  if (options_.passthrough && options_.client_wait_ms > kVncPasswordLifeMs) {
    return Error(Errc::no_client, msg + describe_timeout(kVncPasswordLifeMs) +
                                      ": in --passthrough mode the node's VNC password expires");
  }
  msg += describe_timeout(options_.client_wait_ms) + " (the --client-wait limit)";
  if (options_.passthrough && options_.client_wait_ms >= kVncPasswordLifeMs) {
    msg += "; the VNC password has expired";
  }
  return Error(Errc::no_client, msg);
}

void ConsoleSession::launch_viewer() {
  auto weak = alive_.weak();
  VvFileSpec spec = vv_spec();
  Error e = viewer_->launch(
      spec, options_.viewer,
      [this, weak](std::string_view line) {
        if (!weak.expired()) log("viewer: " + std::string(line));
      },
      [this, weak](int64_t status, int sig) {
        if (!weak.expired()) viewer_exited(status, sig);
      });
  wipe(spec.password);
  if (e.failed()) return end_with(CloseReason::error, e);
  log("started viewer " + options_.viewer.program + " (pid " + std::to_string(viewer_->pid()) +
      ")");
}

void ConsoleSession::admit(AcceptedClient accepted) {
  if (state_ >= State::ending) {
    return endpoint_.refuse(std::move(accepted),
                            "refused a local connection: the console is closing",
                            "the console is closing");
  }
  if (options_.mode == SessionMode::connect && has_ready_client()) {
    return endpoint_.refuse(
        std::move(accepted),
        "refused a second local connection: a console serves one client at a time",
        "a client is already connected");
  }
  auto c = std::make_unique<Client>();
  c->id = ++next_client_id_;
  c->peer = accepted.peer;
  c->sink.session = this;
  c->sink.client_id = c->id;
  const int client_id = c->id;
  log("local client connected from " + accepted.peer + " (client " + std::to_string(client_id) +
      ")");
  if (options_.passthrough) {
    // Exactly one client, authenticated by the node itself: nobody else may connect.
    endpoint_.close();
    client_wait_timer_.stop();
    c->local = std::move(accepted.transport);
    c->local->set_sink(&c->sink);
    c->upstream = std::move(spare_);
    c->viewer_ready = true;
    Client& ref = *c;
    clients_.push_back(std::move(c));
    return splice(ref);
  }
  rfb::ServerHandshakeConfig config;
  if (options_.local_auth == LocalAuth::one_time_password) config.password = local_password_;
  system_random().fill(config.challenge.data(), config.challenge.size());
  auto weak = alive_.weak();
  ViewerRfbLink::Events events;
  events.on_handshake_done = [this, weak, client_id] {
    if (!weak.expired()) viewer_handshake_done(client_id);
  };
  events.on_handshake_failed = [this, weak, client_id](const Error& e) {
    if (!weak.expired()) viewer_handshake_failed(client_id, e);
  };
  auto link = std::make_unique<ViewerRfbLink>(std::move(accepted.transport), std::move(config),
                                              std::move(events));
  c->link = link.get();
  c->local = std::move(link);
  c->local->set_sink(&c->sink);
  c->local->set_write_watermarks(options_.pump.high_mark, options_.pump.low_mark);
  c->handshake_deadline = std::make_unique<Timer>(loop_);
  c->handshake_deadline->start(options_.timeout_ms, [this, weak, client_id] {
    Client* late = weak.expired() ? nullptr : find_client(client_id);
    if (!late || late->viewer_ready || late->refused) return;
    log("local client " + std::to_string(client_id) + " did not finish its RFB handshake within " +
        describe_timeout(options_.timeout_ms) + ": closed");
    late->refused = true;
    late->local->close(CloseMode::Abort);
  });
  Transport& local = *c->local;
  clients_.push_back(std::move(c));
  local.start();
}

void ConsoleSession::viewer_handshake_done(int client_id) {
  Client* c = find_client(client_id);
  if (!c || state_ >= State::ending) return;
  c->handshake_deadline.reset();
  if (options_.mode == SessionMode::connect && has_ready_client()) {
    // Two clients shook hands at once: the first one keeps the console.
    log("refused local client " + std::to_string(client_id) +
        ": a console serves one client at a time");
    observer_.on_client_refused(id_, "a client is already connected");
    c->refused = true;
    c->local->close(CloseMode::Flush);
    return;
  }
  c->viewer_ready = true;
  client_wait_timer_.stop();
  if (!c->upstream) {
    if (spare_) {
      c->upstream = std::move(spare_);
    } else {
      log("opening a console connection for local client " + std::to_string(client_id));
      c->upstream = make_upstream(client_id);
      c->upstream->open();
      return;
    }
  }
  if (c->upstream->ready()) splice(*c);
}

void ConsoleSession::viewer_handshake_failed(int client_id, const Error& e) {
  Client* c = find_client(client_id);
  if (!c) return;
  c->refused = true;  // it no longer counts as connect's client
  c->handshake_deadline.reset();
  if (e.code() == Errc::auth) {
    log("refused local client " + std::to_string(client_id) + " from " + c->peer +
        ": wrong local password");
    observer_.on_local_auth_failed(id_, client_id, c->peer);
  } else {
    log("local client " + std::to_string(client_id) + ": " + e.message());
  }
  // Its transport closes (after the refusal reached it); client_gone removes it.
}

void ConsoleSession::splice(Client& c) {
  c.spliced = true;
  Upstream& up = *c.upstream;
  auto weak = alive_.weak();
  const int client_id = c.id;
  auto done = [this, weak, client_id](const Pump::Result& r) {
    if (!weak.expired()) pump_done(client_id, r);
  };
  if (c.link) {
    c.link->begin_splice(up.server_init());
    c.slot =
        std::make_unique<UpstreamSlot>(loop_, [this, weak, client_id](const Error& e, bool clean) {
          if (!weak.expired()) upstream_lost(client_id, e, clean);
        });
    c.pump = std::make_unique<Pump>(*c.local, *c.slot, options_.pump, std::move(done));
    c.pump->start();
    c.slot->attach(up.websocket(), up.take_early_bytes());
  } else {
    c.pump = std::make_unique<Pump>(*c.local, up.websocket(), options_.pump, std::move(done));
    c.pump->start(up.take_early_bytes(), ByteChain());
    c.local->start();  // passthrough: the bare transport starts now
  }
  hand_over(c);
  state_ = State::active;
  ++end_.clients;
  observer_.on_client_connected(id_, client_id);
}

void ConsoleSession::hand_over(Client& c) {
  Pump* pump = c.pump.get();
  uint64_t seen_pauses = 0;
  c.upstream->hand_over([pump, seen_pauses]() mutable {
    const uint64_t pauses = pump->read_pauses(Pump::Side::b);
    const bool blind = pump->read_paused(Pump::Side::b) || pauses != seen_pauses;
    seen_pauses = pauses;
    return blind;
  });
}

ConsoleSession::Client* ConsoleSession::owner_of(const Upstream* up) {
  for (auto& c : clients_) {
    if (up && c->upstream.get() == up) return c.get();
  }
  return nullptr;
}

void ConsoleSession::upstream_lost(int client_id, const Error& e, bool clean) {
  Client* c = find_client(client_id);
  if (!c) return;
  Error loss =
      clean ? Error(Errc::connection_lost, "the server ended the console") : websocket_error(e);
  // An exclusive console the node closed in order was most likely taken by another exclusive
  // viewer (QEMU drops the others then): reconnecting would take it back, and the two would
  // fight. Only a loss (reset, timeout, TLS) is reconnected then.
  const bool kicked = clean && options_.exclusive;
  const bool can_reconnect = state_ < State::ending && options_.reconnect_ms > 0 && !kicked &&
                             c->link && c->link->splicing() && !c->link->closed();
  if (!can_reconnect) return c->slot->fail(e, clean);
  const CloseReason reason = clean ? CloseReason::server_closed : CloseReason::error;
  if (Error cut = c->link->suspend(); cut.failed()) {
    client_log(client_id,
               "cannot hide the lost console connection from the viewer: " + cut.message());
    return c->slot->fail(loss, false);
  }
  auto& rc = c->rc;
  rc = Client::Reconnect();
  rc.timer = std::make_unique<Timer>(loop_);
  rc.lost_at = loop_.now_ms();
  rc.backoff_ms = options_.reconnect_first_backoff_ms;
  rc.loss = loss;
  rc.close_reason = reason;
  rc.host = api_.host().host;
  rc.check_guest = clean;
  // The lost connection goes; the slot no longer references its WebSocket.
  loop_.defer_delete(std::move(c->upstream));
  client_log(client_id,
             "connection to " + rc.host + " lost (" + loss.message() + "); reconnecting");
  // A connection lost again right after a reconnect is flapping: the first attempt waits too,
  // so a node that drops every console at once is not hammered.
  if (c->resumed_at != 0 && rc.lost_at - c->resumed_at < kFlappingMs) {
    const uint64_t wait = rc.backoff_ms;
    rc.backoff_ms = std::min(rc.backoff_ms * 2, options_.reconnect_max_backoff_ms);
    rc.timer->start(wait, [this, client_id] { reconnect_attempt(client_id); });
    return;
  }
  reconnect_attempt(client_id);
}

void ConsoleSession::reconnect_attempt(int client_id) {
  Client* c = find_client(client_id);
  if (!c || state_ >= State::ending) return;
  auto& rc = c->rc;
  ++rc.attempts;
  rc.relogged = false;
  observer_.on_reconnecting(id_, client_id, rc.attempts, rc.loss, rc.host);
  if (state_ >= State::ending) return;
  auto weak = alive_.weak();
  auto after_login = [this, weak, client_id] {
    Client* c = find_client(client_id);
    if (weak.expired() || !c || state_ >= State::ending) return;
    if (!c->rc.check_guest) return reconnect_open(client_id);
    // The node ended the console in order: a guest that shut down does that too.
    api_.guest_status(guest_, [this, weak, client_id](Result<GuestStatus> s) {
      Client* c = find_client(client_id);
      if (weak.expired() || !c || state_ >= State::ending) return;
      if (!s.ok()) return reconnect_failed(client_id, s.error());
      if (s->status != "running") {
        return end_with(
            CloseReason::error,
            Error(Errc::not_running, "guest " + guest_.display_name() + " on " + guest_.node +
                                         " is " + s->status + ": its console ended"));
      }
      c->rc.check_guest = false;
      reconnect_open(client_id);
    });
  };
  if (!rc.relogin) return after_login();
  rc.relogged = true;
  api_.connect([this, weak, client_id, after_login](Error e) {
    Client* c = find_client(client_id);
    if (weak.expired() || !c || state_ >= State::ending) return;
    if (e.failed()) return reconnect_failed(client_id, e);
    c->rc.relogin = false;
    after_login();
  });
}

void ConsoleSession::reconnect_open(int client_id) {
  Client* c = find_client(client_id);
  if (!c) return;
  c->upstream = make_upstream(client_id, true);
  c->upstream->open();
}

void ConsoleSession::reconnect_failed(int client_id, const Error& e) {
  Client* c = find_client(client_id);
  if (!c || state_ >= State::ending) return;
  if (c->upstream) loop_.defer_delete(std::move(c->upstream));
  auto& rc = c->rc;
  if (e.code() == Errc::auth && !rc.relogged && !api_.uses_token()) {
    // The login ticket expired while the console ran: log in again, at once.
    client_log(client_id, "reconnect: " + e.message() + "; logging in again");
    rc.relogin = true;
    rc.relogged = true;
    auto weak = alive_.weak();
    api_.connect([this, weak, client_id](Error e2) {
      Client* c = find_client(client_id);
      if (weak.expired() || !c || state_ >= State::ending) return;
      if (e2.failed()) return reconnect_failed(client_id, e2);
      c->rc.relogin = false;
      reconnect_open(client_id);
    });
    return;
  }
  if (permanent_failure(e)) {
    client_log(client_id, "reconnect failed: " + e.message());
    return give_up(*c, e);
  }
  reconnect_later(*c, e);
}

void ConsoleSession::reconnect_later(Client& c, const Error& e) {
  auto& rc = c.rc;
  client_log(c.id, "reconnect attempt " + std::to_string(rc.attempts) + " failed: " + e.message());
  const uint64_t elapsed = loop_.now_ms() - rc.lost_at;
  if (elapsed + rc.backoff_ms >= options_.reconnect_ms) {
    Error out(rc.loss.code(), rc.loss.message() + "; no new connection within " +
                                  describe_timeout(options_.reconnect_ms) +
                                  " (--reconnect; last attempt: " + e.message() + ")");
    return give_up(c, out);
  }
  // A failure may be the API's too (a restarted pveproxy, an unreachable node): log in again
  // before the next ticket, which also fails over to the next host.
  rc.relogin = true;
  const int client_id = c.id;
  const uint64_t wait = rc.backoff_ms;
  rc.backoff_ms = std::min(rc.backoff_ms * 2, options_.reconnect_max_backoff_ms);
  rc.timer->start(wait, [this, client_id] { reconnect_attempt(client_id); });
}

void ConsoleSession::give_up(Client& c, const Error& e) {
  if (c.rc.timer) c.rc.timer->stop();
  if (options_.mode == SessionMode::serve) {
    log("client " + std::to_string(c.id) + ": " + e.message());
    return c.slot->fail(e, false);
  }
  end_with(e.code() == c.rc.loss.code() ? c.rc.close_reason : CloseReason::error, e);
}

void ConsoleSession::reconnect_ready(int client_id) {
  Client* c = find_client(client_id);
  if (!c || state_ >= State::ending || !c->upstream) return;
  Upstream& up = *c->upstream;
  if (Error e = c->link->resume(up.server_init()); e.failed()) return give_up(*c, e);
  c->slot->attach(up.websocket(), up.take_early_bytes());
  hand_over(*c);
  auto& rc = c->rc;
  const uint64_t downtime = loop_.now_ms() - rc.lost_at;
  const int attempts = rc.attempts;
  rc.timer.reset();
  rc = Client::Reconnect();
  c->resumed_at = loop_.now_ms();
  ++end_.reconnects;
  char secs[32];
  snprintf(secs, sizeof secs, "%.1f", static_cast<double>(downtime) / 1000.0);
  client_log(client_id, "reconnected after " + std::string(secs) + " s (" +
                            std::to_string(attempts) +
                            (attempts == 1 ? " attempt)" : " attempts)"));
  observer_.on_reconnected(id_, client_id, attempts, downtime);
}

void ConsoleSession::pump_done(int client_id, const Pump::Result& r) {
  Client* c = find_client(client_id);
  if (!c) return;
  end_.bytes_to_guest += r.bytes_a_to_b;
  end_.bytes_from_guest += r.bytes_b_to_a;
  ClientEnd ce;
  ce.peer = c->peer;
  ce.bytes_to_guest = r.bytes_a_to_b;
  ce.bytes_from_guest = r.bytes_b_to_a;
  const Error splice_error = c->link ? c->link->splice_error() : Error();
  ce.error = splice_error.failed() ? splice_error : r.error;
  const bool server_first = r.ended_first == Pump::Side::b && splice_error.ok();
  if (state_ >= State::ending) {
    // serve says of every client that it closed, also of those the end took with it (before
    // the session's own `closed`, which drop_client may report).
    if (options_.mode == SessionMode::serve) observer_.on_client_closed(id_, client_id, ce);
    drop_client(client_id);
    return maybe_finish();
  }
  drop_client(client_id);
  observer_.on_client_closed(id_, client_id, ce);
  if (options_.mode == SessionMode::serve) {
    if (ce.error.failed()) log("client " + std::to_string(client_id) + ": " + ce.error.message());
    if (clients_.empty()) state_ = State::waiting;
    return;
  }
  if (splice_error.failed()) return end_with(CloseReason::error, splice_error);
  if (server_first) return server_ended(r.error);
  if (options_.passthrough || !options_.launch_viewer) {
    if (launched_viewer_running()) {
      // Our viewer closed its connection: it is most likely exiting. Wait for its status.
      Error e = r.error;
      viewer_exit_wait_.start(options_.viewer_grace_ms, [this, e] {
        if (state_ < State::ending) end_with(CloseReason::client_closed, e);
      });
      return;
    }
    return end_with(CloseReason::client_closed, r.error);
  }
  // connect with a viewer: it may come back (remote-viewer reconnects; the .vv may be reopened);
  // it is served again with a fresh upstream until its process exits.
  state_ = State::waiting;
  if (!launched_viewer_running()) return end_with(CloseReason::client_closed, r.error);
  log("the viewer disconnected; waiting for it to reconnect or exit");
}

void ConsoleSession::client_gone(int client_id, const Error& e) {
  // A client's transport ended before a pump took it over (a refused password, a viewer that
  // left during its handshake or while the upstream opened).
  Client* c = find_client(client_id);
  if (!c || c->pump) return;
  if (c->viewer_ready) {
    ClientEnd ce;
    ce.peer = c->peer;
    ce.error = c->failure.failed() ? c->failure : e;
    if (c->spliced || options_.mode == SessionMode::serve) {
      observer_.on_client_closed(id_, client_id, ce);
    }
  }
  drop_client(client_id);
  // connect: a client that left before it was ever spliced does not end the wait for one.
  if (state_ < State::ending && options_.mode == SessionMode::connect && end_.clients == 0 &&
      clients_.empty() && !client_wait_timer_.active()) {
    client_wait_timer_.start(options_.client_wait_ms, [this] {
      if (state_ < State::ending) end_with(CloseReason::error, client_wait_over());
    });
  }
  maybe_finish();
}

void ConsoleSession::drop_client(int client_id) {
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if ((*it)->id != client_id) continue;
    std::unique_ptr<Client> c = std::move(*it);
    clients_.erase(it);
    // We may be inside one of its callbacks: it goes once they returned.
    if (c->local && c->local->sink() == &c->sink) c->local->set_sink(nullptr);
    loop_.defer_delete(std::move(c));
    return;
  }
}

ConsoleSession::Client* ConsoleSession::find_client(int client_id) {
  for (auto& c : clients_) {
    if (c->id == client_id) return c.get();
  }
  return nullptr;
}

bool ConsoleSession::has_ready_client() const {
  for (const auto& c : clients_) {
    if (c->viewer_ready && !c->refused) return true;
  }
  return false;
}

bool ConsoleSession::launched_viewer_running() const {
  return viewer_ && viewer_->running();
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
  if (state_ < State::ending) {
    // The server may have ended the console first, and the viewer exited because of it while
    // the pump still closes its sides: then that is the reason, not the viewer.
    for (auto& c : clients_) {
      const Pump::Result* pumped = c->pump ? c->pump->ending() : nullptr;
      if (pumped != nullptr && pumped->ended_first == Pump::Side::b &&
          (!c->link || c->link->splice_error().ok())) {
        return server_ended(pumped->error);
      }
    }
    return end_with(CloseReason::viewer_exited);
  }
  maybe_finish();
}

void ConsoleSession::interrupt(int signum) {
  end_.signal = signum;
  end_with(CloseReason::interrupted, interrupted_by(signum));
}

void ConsoleSession::end_with(CloseReason reason, Error error) {
  if (state_ >= State::ending) return;
  state_ = State::ending;
  end_.reason = reason;
  end_.error = std::move(error);
  client_wait_timer_.stop();
  viewer_exit_wait_.stop();
  endpoint_.close();
  spare_.reset();
  for (auto& c : clients_) {
    if (c->pump && !c->pump->finished()) {
      c->pump->stop();  // Flush both ways, then both close
    } else if (c->local && !c->local->closed()) {
      c->local->close(CloseMode::Flush);
    }
  }
  if (launched_viewer_running() && reason != CloseReason::viewer_exited) {
    // The bridge ended first: let the viewer show why for a moment, then close it, so nobody is
    // left in front of a "cannot connect" dialog. On a signal, close it now.
    viewer_->terminate_after(reason == CloseReason::interrupted ? 0 : options_.viewer_grace_ms);
  }
  maybe_finish();
}

void ConsoleSession::maybe_finish() {
  if (state_ != State::ending) return;
  if (!clients_.empty()) return;
  if (launched_viewer_running()) return;
  state_ = State::finished;
  if (viewer_) viewer_->remove_vv();
  log("console closed: " + std::string(close_reason_name(end_.reason)));
  observer_.on_closed(id_, end_);
}

}  // namespace pvb
