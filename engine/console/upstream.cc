#include "engine/console/upstream.h"

#include "engine/core/platform.h"
#include "engine/rfb/encodings.h"

namespace pvb {

namespace {

constexpr char kKeepalivePayload[] = {'p', 'v', 'b'};

// The console's WebSocket is one of several connections pvebridge makes: its errors say so. The
// WebSocket layer's own errors name it already (ErrorSource::websocket).
Error websocket_error(Error e) {
  if (e.source() != ErrorSource::websocket) e.context("console WebSocket");
  return e;
}

}  // namespace

Upstream::Upstream(Loop& loop, ProxmoxClient& api, Guest guest, UpstreamOptions options,
                   Events events)
    : api_(api),
      guest_(std::move(guest)),
      options_(std::move(options)),
      events_(std::move(events)),
      handshake_(rfb::ClientHandshakeConfig{}),
      keepalive_timer_(loop),
      handshake_timer_(loop) {}

Upstream::~Upstream() {
  keepalive_timer_.stop();
  handshake_timer_.stop();
  if (ws_ && ws_->sink() == this) ws_->set_sink(nullptr);
  wipe(ticket_.ticket);
  if (ticket_.password) wipe(*ticket_.password);
}

void Upstream::open() {
  auto weak = alive_.weak();
  api_.vncproxy(guest_, [this, weak](Result<VncTicket> t) {
    if (weak.expired() || failed_) return;
    if (!t.ok()) return fail(t.error());
    // The node waits only 10 s for the WebSocket: open it right away.
    open_websocket(std::move(*t));
  });
}

void Upstream::open_websocket(VncTicket ticket) {
  ticket_ = std::move(ticket);
  WebSocketRequest request;
  request.path = ProxmoxClient::websocket_path(guest_, ticket_);
  request.headers = api_.auth_headers();
  request.max_frame_payload = options_.ws_frame_payload;
  request.handshake_timeout_ms = options_.timeout_ms;
  events_.on_log("opening the console WebSocket (port " + std::to_string(ticket_.port) + ") on " +
                 api_.host().authority());
  ws_ = api_.dialer().open_websocket(api_.host(), std::move(request));
  if (!ws_) return fail(Error(Errc::internal, "no transport to the API host"));
  ws_->set_sink(this);
  ws_->set_write_watermarks(options_.high_mark, options_.low_mark);
  ws_->start();
}

void Upstream::on_connected() {
  if (failed_) return;
  events_.on_log("console WebSocket open");
  if (options_.on_websocket_open) {
    auto weak = alive_.weak();
    options_.on_websocket_open(api_.host(), ticket_.cert, ws_->lower());
    if (weak.expired() || failed_) return;
  }
  start_keepalive();
  if (!options_.rfb) return become_ready();
  rfb::ClientHandshakeConfig config;
  config.password = ticket_.vnc_password();
  config.shared = options_.shared;
  config.pipelined = options_.pipelined_handshake;
  handshake_ = rfb::RfbClientHandshake(std::move(config));
  wipe(config.password);
  ByteChain early;
  handshake_.start(early);  // pipelined: RFB 3.8 and VNC authentication, before the node asks
  if (!early.empty()) ws_->write(early);
  // A node whose VNC server never speaks (a hung QEMU display) must not hold the console forever.
  handshake_timer_.start(options_.timeout_ms, [this] {
    fail(Error(Errc::timeout, "the node's VNC server did not finish its handshake within " +
                                  describe_timeout(options_.timeout_ms)));
  });
}

void Upstream::on_data(ByteChain& data, bool end_stream) {
  if (failed_) {
    data.clear();
    return;
  }
  if (options_.rfb && handshake_.status() == rfb::HandshakeStatus::need_more) {
    ByteChain out;
    rfb::HandshakeStatus status = handshake_.feed(data, out);
    if (!out.empty()) ws_->write(out);
    if (status == rfb::HandshakeStatus::failed) {
      Error e = handshake_.error();
      e.context("the node's VNC server");
      return fail(e);
    }
    if (status == rfb::HandshakeStatus::done) {
      current_init_ = handshake_.server_init();
      events_.on_log("RFB session with the node ready (" + std::to_string(current_init_.width) +
                     "x" + std::to_string(current_init_.height) + ", RFB 3." +
                     std::to_string(static_cast<int>(handshake_.version())) + ")");
      if (options_.watch_size) start_watching_size();
      become_ready();
      if (failed_) return;
    }
  }
  // Bytes for the pump (the passthrough greeting, or what followed ServerInit): keep them, but
  // never more than the pump would buffer.
  early_.move_from(data);
  if (size_watch_) absorb_size_changes();
  if (early_.size() > options_.high_mark && ws_->reading_enabled()) ws_->read_disable(true);
  if (end_stream) {
    fail(Error(Errc::connection_lost, ready_ ? "the node closed the console before it was used"
                                             : "the node closed the console during its handshake"),
         ready_);
  }
}

void Upstream::on_closed(const Error& error) {
  if (failed_) return;
  if (error.failed()) return fail(websocket_error(error));
  fail(Error(Errc::connection_lost, "the server closed the console"), true);
}

void Upstream::become_ready() {
  handshake_timer_.stop();
  ready_ = true;
  events_.on_ready();
}

void Upstream::fail(const Error& e, bool clean) {
  if (failed_ || handed_over_) return;
  failed_ = true;
  keepalive_timer_.stop();
  handshake_timer_.stop();
  if (ws_ && !ws_->closed()) ws_->close(CloseMode::Abort);
  events_.on_failed(e, clean);
}

void Upstream::start_watching_size() {
  // Only the size pseudo-encodings: the node sends nothing else unasked, and the viewer's own
  // SetEncodings replaces this list before its first update request.
  const int32_t watch[] = {rfb::kPseudoExtendedDesktopSize, rfb::kPseudoDesktopSize};
  ByteChain out;
  rfb::write_set_encodings(watch, out);
  ws_->write(out);
  size_watch_.emplace(current_init_.pixel_format, current_init_.width, current_init_.height);
  size_watch_->set_client_encodings(watch);
}

void Upstream::absorb_size_changes() {
  for (;;) {
    // One whole update at a time, from a copy of the delimiter: an update still arriving is
    // looked at again from its start.
    rfb::RfbServerStream walk = *size_watch_;
    size_t offset = 0;
    bool only_sizes = true, whole = false;
    for (;;) {
      auto step = walk.next(early_, offset);
      if (!step.ok() || !step->found() || offset + step->unit->length > early_.size()) break;
      const rfb::ServerUnit& u = *step->unit;
      offset += u.length;
      if (u.kind == rfb::ServerUnitKind::rect) {
        only_sizes = only_sizes && (u.rect.encoding == rfb::kPseudoDesktopSize ||
                                    u.rect.encoding == rfb::kPseudoExtendedDesktopSize);
      } else if (u.kind != rfb::ServerUnitKind::update_header) {
        only_sizes = false;
      }
      if (u.ends_update ||
          (u.kind != rfb::ServerUnitKind::update_header && u.kind != rfb::ServerUnitKind::rect)) {
        whole = true;
        break;
      }
    }
    if (!whole) {
      // An update still arriving: look again when more comes; unless it already holds
      // something the viewer must see (then stop watching and keep it all for the viewer).
      if (!only_sizes) size_watch_.reset();
      return;
    }
    if (!only_sizes) {
      size_watch_.reset();
      return;
    }
    early_.drain(offset);
    *size_watch_ = walk;
    if (walk.width() != current_init_.width || walk.height() != current_init_.height) {
      events_.on_log("the node's screen is now " + std::to_string(walk.width()) + "x" +
                     std::to_string(walk.height()));
    }
    current_init_.width = walk.width();
    current_init_.height = walk.height();
  }
}

ByteChain Upstream::take_early_bytes() {
  size_watch_.reset();
  ByteChain out;
  out.move_from(early_);
  if (ws_ && !ws_->reading_enabled()) ws_->read_disable(false);
  return out;
}

void Upstream::hand_over(std::function<bool()> reads_blind) {
  handed_over_ = true;
  reads_blind_ = std::move(reads_blind);
}

void Upstream::start_keepalive() {
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

void Upstream::keepalive_tick() {
  if (!ws_ || ws_->closed()) return;
  // Liveness is the pong to our own ping and nothing else: a server that floods us with data or
  // pings but never reads what we send is not alive. While nobody reads the WebSocket (the pump's
  // backpressure, or early bytes waiting for the viewer), the pong may sit unread behind the
  // data: a busy, healthy session gets another interval for that.
  const bool blind = handed_over_ ? reads_blind_ && reads_blind_() : !ws_->reading_enabled();
  if (awaiting_pong_) {
    if (blind) return;
    keepalive_timer_.stop();
    events_.on_keepalive_timeout(
        Error(Errc::timeout, "the server did not answer the keepalive ping within " +
                                 std::to_string(options_.keepalive_ms / 1000) + " s"));
    return;
  }
  if (ws_->send_ping(std::span(reinterpret_cast<const uint8_t*>(kKeepalivePayload),
                               sizeof kKeepalivePayload))) {
    awaiting_pong_ = true;
  }
}

}  // namespace pvb
