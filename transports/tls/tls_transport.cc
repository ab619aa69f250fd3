#include "transports/tls/tls_transport.h"

#include <algorithm>
#include <string_view>

namespace pvb {

namespace {
// What an HTTP server's answer starts with.
constexpr std::string_view kPlainHttpMarker = "HTTP/";
}  // namespace

TlsTransport::TlsTransport(std::unique_ptr<Transport> lower, std::shared_ptr<TlsContext> ctx,
                           std::string server_name)
    : TransportOverlay(std::move(lower)),
      ctx_(std::move(ctx)),
      server_name_(std::move(server_name)) {
  // The lower's "low" (its queue is empty: marks 0/0) is our cue to encrypt the next batch (see
  // kLowerBudget).
  if (!ctx_) {
    engine_error_ = Error(Errc::internal, "TLS transport without a TLS context");
    return;
  }
  Result<std::unique_ptr<TlsEngine>> engine = ctx_->new_engine(server_name_);
  if (engine.ok()) {
    engine_ = std::move(engine.value());
  } else {
    engine_error_ = engine.error();
  }
}

void TlsTransport::start() {
  if (started_ || closed()) return;
  started_ = true;
  if (!engine_) {
    post([this] { fail(engine_error_); });
    return;
  }
  lower_->start();
}

void TlsTransport::write(ByteChain& data, bool end_stream) {
  if (closed() || end_requested_ || close_requested_) {
    data.clear();
    return;
  }
  if (end_stream) end_requested_ = true;
  write_queue().move_from(data);
  schedule_flush();
}

void TlsTransport::close(CloseMode mode) {
  if (closed()) return;
  if (mode == CloseMode::Abort || !started_ || !engine_) {
    lower_->close(mode);
    finish(Error());
    return;
  }
  if (close_requested_) return;
  close_requested_ = true;
  if (!close_notify_sent_) arm_flush_grace();
  if (close_notify_sent_) {
    lower_->close(CloseMode::Flush);  // end_stream already sent our close_notify
  } else if (handshake_done_) {
    schedule_flush();
  }
  // Otherwise the flush after the handshake sends what is queued, close_notify, and closes.
}

std::optional<Sha256Fingerprint> TlsTransport::peer_fingerprint() const {
  if (!handshake_done_) return std::nullopt;
  return engine_->peer_fingerprint();
}

std::vector<std::vector<uint8_t>> TlsTransport::peer_chain_der() const {
  if (!handshake_done_) return {};
  return engine_->peer_chain_der();
}

std::string TlsTransport::cipher_suite() const {
  return handshake_done_ ? engine_->cipher_suite() : "";
}

std::string TlsTransport::protocol_version() const {
  return handshake_done_ ? engine_->protocol_version() : "";
}

bool TlsTransport::session_resumed() const {
  return handshake_done_ && engine_->session_resumed();
}

void TlsTransport::on_read_enable_changed(bool enabled) {
  sync_lower_reading();
  if (enabled) {
    // Plaintext may be waiting in rx_ or in the engine: the lower transport will not say so again.
    post([this] {
      if (reading_enabled()) deliver_plaintext(true);
    });
  }
}

// --- the lower transport's sink
// -------------------------------------------------------------------

void TlsTransport::on_connected() {
  if (closed()) return;
  lower_connected_ = true;
  progress();
}

void TlsTransport::on_data(ByteChain& data, bool end_stream) {
  if (closed() || !engine_) {
    data.clear();
    return;
  }
  if (!handshake_done_ && peer_first_bytes_.size() < kPlainHttpMarker.size()) {
    char head[8] = {};
    const size_t n = data.copy_out(head, kPlainHttpMarker.size() - peer_first_bytes_.size());
    peer_first_bytes_.append(head, n);
  }
  engine_->feed(data);
  if (end_stream) lower_eof_ = true;
  progress();
}

void TlsTransport::on_write_low() {
  if (close_requested_ && !close_notify_sent_) arm_flush_grace();  // the peer takes our bytes
  flush_writes();
  TransportOverlay::on_write_low();
}

void TlsTransport::on_closed(const Error& error) {
  if (closed()) return;
  if (error.failed()) {
    finish(error);  // the lower transport's reason, unchanged
  } else if (!handshake_done_ && !close_requested_) {
    finish(handshake_failure(Error(Errc::tls, "TLS handshake failed: the connection was closed")));
  } else {
    finish(Error());
  }
}

// --- the engine ---------------------------------------------------------------------------------

Error TlsTransport::handshake_failure(Error error) const {
  // A TLS record starts with a content type byte (20..24) and a version: never "HTTP/". An HTTP
  // server reading our ClientHello answers "HTTP/1.1 400 Bad Request" and closes; the backends
  // call that "wrong version number" or "invalid record". Say what it is, as a code.
  if (error.code() != Errc::tls || peer_first_bytes_ != kPlainHttpMarker) return error;
  return Error(Errc::not_tls, "TLS handshake failed: the server answered in plain HTTP, not TLS",
               error.native());
}

void TlsTransport::progress() {
  if (closed() || !engine_) return;
  if (!handshake_done_) {
    if (!lower_connected_) return;
    Result<bool> done = engine_->handshake();
    send_engine_output();
    if (!done.ok()) {
      fail(handshake_failure(done.error()));
      return;
    }
    if (!done.value()) {
      if (lower_eof_) {
        fail(handshake_failure(
            Error(Errc::tls, "TLS handshake failed: the peer closed the connection")));
      }
      return;
    }
    handshake_done_ = true;
    sync_lower_reading();
    emit_connected();
    if (closed()) return;
  }
  deliver_plaintext(false);
  if (closed()) return;
  flush_writes();
}

void TlsTransport::deliver_plaintext(bool reoffer) {
  if (!handshake_done_) return;
  bool more = true;
  while (more && !closed() && reading_enabled()) {
    const size_t before = rx_.size();
    more = false;
    if (!peer_close_notify_ && !end_told_) {
      Result<TlsReadStatus> status = engine_->read(rx_, kDeliverBatch);
      send_engine_output();  // e.g. the no_renegotiation alert answering a HelloRequest
      if (!status.ok()) {
        fail(status.error());
        return;
      }
      if (status.value() == TlsReadStatus::close_notify) peer_close_notify_ = true;
      more = status.value() == TlsReadStatus::more;
    }
    // The lower's end without close_notify counts as an end too: many servers just close.
    const bool ended = peer_close_notify_ || (lower_eof_ && !more);
    const bool end_now = ended && !end_told_;
    if (end_now) end_told_ = true;
    const bool fresh = rx_.size() > before;
    if (end_now || ((fresh || reoffer) && !rx_.empty())) emit_data(rx_, ended);
    reoffer = false;
  }
}

void TlsTransport::schedule_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  post([this] {
    flush_posted_ = false;
    flush_writes();
  });
}

std::span<const uint8_t> TlsTransport::next_record() {
  const WatermarkChain& queue = write_queue();
  const size_t want = std::min(queue.size(), TlsEngine::kMaxRecordPlaintext);
  const Slice& front = queue.front();
  if (front.size() >= want) return {front.data(), want};
  // A big slice (the rest of a block, a frame shorter than a record) is encrypted as it is: a
  // shorter record costs less than copying, and the records behind it stay aligned with their
  // slices (a WebSocket client's frames are one block and one record each).
  if (front.size() >= kGatherBelow) return {front.data(), front.size()};
  // Small slices: one record of several beats many small ones (per-record cost, 29 bytes of
  // overhead). Gather them, but stop before the next big slice, for the same alignment.
  size_t n = 0;
  for (const Slice& s : queue.chain().slices()) {
    if (n == want || (n > 0 && s.size() >= kGatherBelow)) break;
    n += std::min(s.size(), want - n);
  }
  if (!gather_) gather_ = std::make_unique<uint8_t[]>(TlsEngine::kMaxRecordPlaintext);
  return {gather_.get(), queue.copy_out(gather_.get(), n)};
}

void TlsTransport::flush_writes() {
  if (closed() || !handshake_done_ || close_notify_sent_) return;
  // Plaintext leaves our queue as its ciphertext enters the lower's: one check at the end.
  WatermarkChain::Batch batch_check(write_queue());
  while (!write_queue().empty() &&
         lower_->pending_write_bytes() + engine_->output_size() < kLowerBudget) {
    Result<size_t> taken = engine_->write(next_record());
    if (!taken.ok()) {
      fail(taken.error());
      return;
    }
    if (taken.value() == 0) break;
    write_queue().drain(taken.value());
  }
  const bool finishing = write_queue().empty() && (end_requested_ || close_requested_);
  if (finishing) {
    engine_->close_notify();
    close_notify_sent_ = true;
  }
  ByteChain batch;
  engine_->take_output(batch);
  const bool wrote = !batch.empty() || finishing;
  if (finishing && close_requested_) {
    lower_->write(batch);
    lower_->close(CloseMode::Flush);  // its own grace bounds the rest
    if (flush_grace_) flush_grace_->stop();
  } else if (wrote) {
    lower_->write(batch, finishing);
  }
}

void TlsTransport::send_engine_output() {
  if (engine_->output_size() == 0) return;
  ByteChain out;
  engine_->take_output(out);
  write_lower(out);
}

void TlsTransport::sync_lower_reading() {
  // Never during the handshake: it needs to read whatever our sink wants.
  const bool disable = handshake_done_ && !reading_enabled();
  if (disable == lower_read_disabled_) return;
  lower_read_disabled_ = disable;
  lower_->read_disable(disable);
}

void TlsTransport::arm_flush_grace() {
  if (!flush_grace_) flush_grace_ = std::make_unique<Timer>(loop());
  flush_grace_->start(kFlushGraceMs, [this] {
    if (closed()) return;
    const size_t dropped = pending_write_bytes();
    lower_->close(CloseMode::Abort);
    finish(Error(Errc::timeout, "TLS: gave up closing: " + std::to_string(dropped) +
                                    " bytes not taken within " +
                                    std::to_string(kFlushGraceMs / 1000) + " s"));
  });
}

void TlsTransport::fail(Error error) {
  if (closed()) return;
  if (engine_) send_engine_output();  // the alert that tells the peer why
  lower_->close(CloseMode::Flush);
  finish(std::move(error));
}

}  // namespace pvb
