#include "transports/ws/ws_transport.h"

#include <algorithm>
#include <cassert>

#include "transports/ws/handshake.h"

namespace pvb {

WsTransport::WsTransport(std::unique_ptr<Transport> lower, WsRole role, const WsCodecOptions& codec,
                         uint64_t close_timeout_ms, Random& rng)
    : TransportOverlayOf(std::move(lower)),
      role_(role),
      rng_(rng),
      close_timeout_ms_(close_timeout_ms),
      handshake_timer_(loop()),
      close_timer_(loop()) {
  WsCodecOptions o = codec;
  o.role = role;
  codec_ = make_ws_codec(o, *this, rng_);
}

std::unique_ptr<WsTransport> WsTransport::client(std::unique_ptr<Transport> lower,
                                                 WsClientOptions options, Random& rng) {
  std::unique_ptr<WsTransport> t(new WsTransport(std::move(lower), WsRole::client, options.codec,
                                                 options.close_timeout_ms, rng));
  t->client_options_ = std::move(options);
  return t;
}

std::unique_ptr<WsTransport> WsTransport::server(std::unique_ptr<Transport> lower,
                                                 ByteChain leftover, WsServerOptions options,
                                                 Random& rng) {
  std::unique_ptr<WsTransport> t(new WsTransport(std::move(lower), WsRole::server, options.codec,
                                                 options.close_timeout_ms, rng));
  t->reply_to_close_ = options.reply_to_close;
  t->frame_hook_ = std::move(options.frame_hook);
  t->in_.move_from(leftover);
  return t;
}

// --- public calls -----------------------------------------------------------------------------

void WsTransport::start() {
  if (phase_ != Phase::created) return;
  // The lower transport reports every drain below our marks, and each time it empties after
  // holding more than the pong budget (an owed pong then goes out): see the header.
  lower_->set_write_watermarks(std::min(write_high_mark(), kPongBudget), 0);
  if (role_ == WsRole::server) {
    phase_ = Phase::open;
    post([this] {
      if (phase_ != Phase::open) return;
      become_open();
    });
    return;
  }
  phase_ = Phase::connecting;
  const uint64_t timeout = client_options_.handshake_timeout_ms;
  handshake_timer_.start(timeout, [this, timeout] {
    fail(Error(Errc::timeout,
               "WebSocket: handshake not done within " + std::to_string(timeout) + " ms"));
  });
  lower_->start();
  if (lower_->connected()) {
    post([this] {
      if (phase_ == Phase::connecting) send_upgrade_request();
    });
  }
}

void WsTransport::write(ByteChain& data, bool end_stream) {
  if (phase_ == Phase::done || phase_ == Phase::closing || close_frame_sent_ || user_closed_) {
    data.clear();
    return;
  }
  if (phase_ != Phase::open || !connected()) {
    pre_open_end_ = pre_open_end_ || end_stream;
    write_queue().move_from(data);
    return;
  }
  send_owed_pong();  // ahead of the data: it was owed first
  send_data(data);
  if (end_stream) {
    send_close_frame(kWsCloseNormal);
    begin_lower_close();
  }
}

void WsTransport::close(CloseMode mode) {
  if (phase_ == Phase::done) return;
  if (mode == CloseMode::Abort || phase_ == Phase::created) {
    phase_ = Phase::done;
    handshake_timer_.stop();
    close_timer_.stop();
    lower_->close(CloseMode::Abort);
    finish(Error());
    write_queue().clear();  // after finish: nothing is reported from inside close()
    return;
  }
  user_closed_ = true;
  rx_.clear();
  if (phase_ == Phase::open && connected()) {
    send_close_frame(kWsCloseNormal);
    begin_lower_close();
  } else if (phase_ != Phase::closing) {
    pre_open_end_ = true;  // sent with the queued data once the handshake is done
  }
}

bool WsTransport::send_ping(std::span<const uint8_t> payload) {
  if (phase_ != Phase::open || !connected() || close_frame_sent_) return false;
  ByteChain out;
  codec_->encode_ping(payload, out);
  write_lower(out);
  return true;
}

void WsTransport::on_read_enable_changed(bool enabled) {
  lower_->read_disable(!enabled);
  if (enabled) {
    // What we held back while paused (raw input, undelivered payload, the end) goes out now.
    post([this] {
      if (reading_enabled()) process_input();
    });
  }
}

// --- the lower transport --------------------------------------------------------------------

void WsTransport::on_connected() {
  if (phase_ == Phase::connecting) send_upgrade_request();
}

void WsTransport::send_upgrade_request() {
  Result<WsClientHandshake> hs =
      build_client_handshake(client_options_.host_header, client_options_.path,
                             client_options_.headers, client_options_.subprotocol, rng_);
  if (!hs.ok()) {
    fail(hs.error());
    return;
  }
  key_ = hs->key;
  ByteChain head;
  write_request_head(hs->request, head);
  phase_ = Phase::handshaking;
  write_lower(head);
  process_input();  // in case the answer is already here
}

bool WsTransport::redial_once() {
  if (role_ != WsRole::client || !client_options_.redial || answer_started_) return false;
  if (phase_ != Phase::created && phase_ != Phase::connecting && phase_ != Phase::handshaking) {
    return false;
  }
  std::function<std::unique_ptr<Transport>()> redial = std::move(client_options_.redial);
  client_options_.redial = nullptr;
  std::unique_ptr<Transport> fresh = redial();
  if (!fresh) return false;
  // The old connection may be calling us right now: it goes on a later iteration.
  std::unique_ptr<Transport> old = std::move(lower_);
  old->set_sink(nullptr);
  old->close(CloseMode::Abort);
  loop().defer_delete(std::move(old));
  attach_lower(std::move(fresh));
  if (!reading_enabled()) lower_->read_disable(true);
  in_.clear();
  lower_eof_ = false;
  head_progress_ = HttpHeadProgress{};
  if (phase_ == Phase::created) return true;  // start() starts the fresh one
  lower_->set_write_watermarks(std::min(write_high_mark(), kPongBudget), 0);
  phase_ = Phase::connecting;  // on_connected sends the upgrade again
  lower_->start();
  return true;
}

void WsTransport::on_data(ByteChain& data, bool end_stream) {
  if (!data.empty() && phase_ != Phase::open && phase_ != Phase::closing) answer_started_ = true;
  in_.move_from(data);
  if (end_stream) lower_eof_ = true;
  process_input();
}

void WsTransport::on_closed(const Error& error) {
  if (phase_ == Phase::done) return;
  if (redial_once()) return;
  const Phase was = phase_;
  phase_ = Phase::done;
  handshake_timer_.stop();
  close_timer_.stop();
  if (was == Phase::closing || error.failed()) {
    finish(error);
  } else if (was == Phase::open) {
    finish(Error(Errc::connection_lost, "WebSocket: connection closed without a Close frame")
               .from(ErrorSource::websocket));
  } else {
    finish(Error(Errc::connection_lost, "WebSocket: connection closed during the handshake")
               .from(ErrorSource::websocket));
  }
}

// --- receiving ------------------------------------------------------------------------------

void WsTransport::process_input() {
  if (phase_ == Phase::handshaking) {
    if (!take_handshake_answer()) return;
  }
  if (phase_ != Phase::open && phase_ != Phase::closing) return;
  if (!connected() || !reading_enabled()) return;  // raw bytes wait in in_ while paused
  if (!in_.empty()) {
    Error e = codec_->decode(in_);
    if (killed_.failed()) e = killed_;
    if (e.failed()) {
      fail(std::move(e));
      return;
    }
  }
  if (lower_eof_) peer_ended_ = true;  // a torn last frame stays undecoded: the peer is gone
  deliver();
}

// Parses and checks the 101 answer. True once open.
bool WsTransport::take_handshake_answer() {
  HttpLimits limits;
  limits.max_head_bytes = 16 * 1024;
  Result<std::optional<HttpResponseHead>> head = parse_response_head(in_, limits, head_progress_);
  if (!head.ok()) {
    Error e = head.error();
    fail(e.context("WebSocket upgrade answer"));
    return false;
  }
  if (!head.value()) {
    if (lower_eof_) {
      if (redial_once()) return false;
      fail(Error(Errc::connection_lost, "WebSocket: connection closed during the handshake"));
    }
    return false;
  }
  Error e = validate_server_handshake(**head, key_, client_options_.subprotocol);
  if (e.failed()) {
    fail(std::move(e));
    return false;
  }
  handshake_timer_.stop();
  phase_ = Phase::open;
  become_open();
  return phase_ == Phase::open || phase_ == Phase::closing;
}

void WsTransport::become_open() {
  // Data queued before the handshake goes first, ahead of anything written from on_connected.
  if (!write_queue().empty()) {
    WatermarkChain::Batch batch_check(write_queue());  // from our queue to the lower's: no dip
    ByteChain queued;
    write_queue().move_to(queued);
    send_data(queued);
  }
  const bool end_now = pre_open_end_;
  emit_connected();
  if (end_now && phase_ == Phase::open) {
    send_close_frame(kWsCloseNormal);
    begin_lower_close();
  }
  if (role_ == WsRole::server) process_input();  // the leftover bytes after the request head
}

void WsTransport::deliver() {
  if (phase_ == Phase::done || user_closed_ || !reading_enabled()) return;
  const bool end_now = peer_ended_ && !end_told_;
  if (rx_.empty() && !end_now) return;
  if (end_now) end_told_ = true;
  emit_data(rx_, end_now);
  if (!end_now || phase_ == Phase::done) return;
  // The peer ended: answer a Close if we should (RFC 6455 wants it; pveproxy never does), then
  // close our side.
  if (close_received_ && (role_ == WsRole::client || reply_to_close_)) {
    send_close_frame(peer_close_code_);
  }
  begin_lower_close();
}

void WsTransport::on_frame_start(const WsFrameInfo& info) {
  if (!frame_hook_ || killed_.failed()) return;
  Error e = frame_hook_(info);
  if (e.failed()) killed_ = std::move(e);
}

void WsTransport::on_message_data(ByteChain& payload, bool, bool) {
  if (killed_.failed() || user_closed_) {
    payload.clear();
    return;
  }
  rx_.move_from(payload);
}

void WsTransport::on_ping(ByteChain& payload) {
  // Closing, we answer nothing: our teardown must not wait behind pongs.
  if (killed_.failed() || close_frame_sent_ || user_closed_ || phase_ != Phase::open) return;
  // A peer that pings faster than it reads our pongs gets one answer, to its latest ping, once
  // our queue has drained (RFC 6455 5.5.3 allows answering only the most recent): the pongs of a
  // flood never pile up in our memory nor hold back what we close with.
  owed_pong_ = payload.to_string();
  pong_owed_ = true;
  send_owed_pong();
}

void WsTransport::send_owed_pong() {
  if (!pong_owed_ || close_frame_sent_ || user_closed_ || phase_ != Phase::open) return;
  if (lower_->pending_write_bytes() > kPongBudget) return;  // retried when the queue moves
  pong_owed_ = false;
  ByteChain out;
  codec_->encode_pong(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(owed_pong_.data()),
                                               owed_pong_.size()),
                      out);
  write_lower(out);
}

void WsTransport::on_pong(ByteChain& payload) {
  if (killed_.failed()) return;
  if (pong_handler_) pong_handler_(payload);
}

void WsTransport::on_close(uint16_t code, std::string_view reason) {
  if (killed_.failed()) return;
  close_received_ = true;
  peer_ended_ = true;
  peer_close_code_ = code;
  peer_close_reason_ = std::string(reason);
}

// --- sending and ending ---------------------------------------------------------------------

void WsTransport::send_data(ByteChain& data) {
  if (data.empty()) return;
  ByteChain out;
  codec_->encode_data(data, out);
  write_lower(out);
}

void WsTransport::send_close_frame(uint16_t code) {
  if (close_frame_sent_) return;
  close_frame_sent_ = true;
  ByteChain out;
  codec_->encode_close(code, {}, out);
  write_lower(out);
}

void WsTransport::begin_lower_close() {
  if (phase_ != Phase::open) return;
  phase_ = Phase::closing;
  // Flush lets the queued frames (and our Close) get out; pveproxy never answers the Close, so
  // we don't wait for one, but a stuck peer must not hold the connection forever.
  lower_->close(CloseMode::Flush);
  close_timer_.start(close_timeout_ms_, [this] { lower_->close(CloseMode::Abort); });
}

void WsTransport::fail(Error error) {
  if (phase_ == Phase::done) return;
  phase_ = Phase::done;
  handshake_timer_.stop();
  close_timer_.stop();
  lower_->close(CloseMode::Abort);
  // Every error failing us here is the WebSocket layer's own (the lower's come via on_closed).
  finish(std::move(error.from(ErrorSource::websocket)));
  write_queue().clear();
}

}  // namespace pvb
