#include "engine/console/viewer_rfb_link.h"

#include <algorithm>

#include "engine/rfb/encodings.h"
#include "engine/rfb/resume.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_init.h"

namespace pvb {

namespace {

// Viewer bytes kept while the viewer waits for the node's ServerInit (it may send its first
// SetPixelFormat, SetEncodings and update request at once): beyond this, reading pauses.
constexpr size_t kHeldBeforeSplice = 64 * 1024;

// Key and pointer events are read by the input tracker and the queue: they need their bytes (at
// most 12) before they pass.
size_t bytes_needed(const rfb::ClientMessage& m, bool away) {
  if (away) return m.length;
  if (m.type == rfb::kKeyEvent || m.type == rfb::kPointerEvent || m.type == rfb::kClientQemu) {
    return std::min<uint64_t>(m.length, 12);
  }
  return 0;
}

}  // namespace

ViewerRfbLink::ViewerRfbLink(std::unique_ptr<Transport> viewer, rfb::ServerHandshakeConfig config,
                             Events events)
    : TransportOverlay(std::move(viewer)),
      handshake_(std::move(config)),
      events_(std::move(events)) {}

void ViewerRfbLink::start() {
  lower_->start();
  ByteChain out;
  handshake_.start(out);
  write_lower(out);
}

void ViewerRfbLink::on_connected() {
  emit_connected();
}

void ViewerRfbLink::on_data(ByteChain& data, bool end_stream) {
  from_viewer_.move_from(data);
  if (handshake_failed_) {
    from_viewer_.clear();
    return;
  }
  if (!handshake_done_) return feed_handshake(end_stream);
  if (splicing_) return splice_up(end_stream);
  // Waiting for the node's ServerInit: keep what the viewer says meanwhile, within bounds.
  viewer_ended_ = viewer_ended_ || end_stream;
  if (from_viewer_.size() > kHeldBeforeSplice && reading_enabled()) read_disable(true);
}

void ViewerRfbLink::feed_handshake(bool end_stream) {
  ByteChain out;
  rfb::HandshakeStatus status = handshake_.feed(from_viewer_, out);
  if (!out.empty()) write_lower(out);
  switch (status) {
    case rfb::HandshakeStatus::done:
      handshake_done_ = true;
      viewer_ended_ = end_stream;
      if (from_viewer_.size() > kHeldBeforeSplice) read_disable(true);
      events_.on_handshake_done();
      return;
    case rfb::HandshakeStatus::failed:
      handshake_failed_ = true;
      from_viewer_.clear();
      // The viewer still gets the SecurityResult (and its reason) written above.
      lower_->close(CloseMode::Flush);
      events_.on_handshake_failed(handshake_.error());
      return;
    case rfb::HandshakeStatus::need_more:
      if (!end_stream) return;
      handshake_failed_ = true;
      lower_->close(CloseMode::Flush);
      events_.on_handshake_failed(
          Error(Errc::connection_lost, "the viewer left during the RFB handshake"));
      return;
  }
}

void ViewerRfbLink::begin_splice(const rfb::ServerInit& init) {
  ByteChain out;
  rfb::write_server_init(init, out);
  write_lower(out);
  up_.emplace(init.pixel_format);
  gate_.emplace(init.pixel_format, init.width, init.height);
  splicing_ = true;
  if (!reading_enabled()) read_disable(false);
  if (!from_viewer_.empty() || viewer_ended_) {
    post([this] { splice_up(viewer_ended_); });
  }
}

void ViewerRfbLink::splice_up(bool end_stream) {
  if (splice_error_.failed() || closed()) return;
  ByteChain up;
  if (!away_) up.move_from(resume_out_);
  while (!from_viewer_.empty()) {
    if (up_discard_ > 0) {
      const uint64_t n = std::min<uint64_t>(up_discard_, from_viewer_.size());
      from_viewer_.drain(n);
      up_discard_ -= n;
      continue;
    }
    if (up_pass_ > 0) {
      up_pass_ -= up.move_from(from_viewer_, up_pass_);
      continue;
    }
    auto step = up_->next(from_viewer_);
    if (!step.ok()) return fail_splice(step.error());
    if (!step->found()) break;
    if (!relay_up(*step->unit, up)) break;
    if (splice_error_.failed()) return;
  }
  if (away_) {
    // The viewer left while the node is away: the session ends (its kept input goes nowhere).
    if (end_stream) {
      ByteChain none;
      emit_data(none, true);
    }
    return;
  }
  if (up.empty() && !end_stream) return;
  emit_data(up, end_stream);
}

bool ViewerRfbLink::relay_up(const rfb::ClientMessage& m, ByteChain& up) {
  if (m.type == rfb::kSetEncodings) {
    // Only what the server delimiter can measure reaches the node; after a reconnect no
    // encoding whose zlib stream cannot be reset.
    std::vector<int32_t> kept =
        resumed_ ? rfb::filter_encodings_for_resume(up_->encodings(), &up_->pixel_format())
                 : rfb::filter_encodings(up_->encodings(), &up_->pixel_format());
    from_viewer_.drain(m.length);
    if (away_) return true;  // resume() replays the latest list
    rfb::write_set_encodings(kept, up);
    gate_->set_client_encodings(kept);
    return true;
  }
  if (m.type == rfb::kSetPixelFormat) gate_->set_pixel_format(up_->pixel_format());
  if (away_ && m.length > queue_.cap()) {
    // Too big for the queue whatever it holds (a huge clipboard): it cannot be kept.
    up_discard_ = m.length;
    return true;
  }
  if (from_viewer_.size() < bytes_needed(m, away_)) return false;
  if (away_) {
    if (m.type != rfb::kSetPixelFormat &&
        queue_.push(m, from_viewer_, 0) == rfb::QueuePush::overflow) {
      fail_splice(Error(Errc::too_large,
                        "the viewer sent more input than can be kept while the console "
                        "reconnects"));
      return false;
    }
    from_viewer_.drain(m.length);
    return true;
  }
  input_.sent(m, from_viewer_, 0);
  up_pass_ = m.length;
  return true;
}

void ViewerRfbLink::write(ByteChain& data, bool end_stream) {
  if (closed() || away_) {
    data.clear();
    return;
  }
  if (!splicing_ || splice_error_.failed()) return write_lower(data, end_stream);
  down_in_.move_from(data);
  auto n = gate_->advance(down_in_);
  if (!n.ok()) return fail_splice(n.error());
  if (*n == 0 && !end_stream) return;
  ByteChain out;
  out.move_from(down_in_, *n);
  gate_->forwarded(*n);
  write_lower(out, end_stream);
}

Error ViewerRfbLink::suspend() {
  if (!splicing_ || splice_error_.failed() || closed()) {
    return Error(Errc::connection_lost, "the viewer's connection is closing");
  }
  if (away_) return Error();
  ByteChain to_viewer;
  Error e = gate_->finish_cut(down_in_, to_viewer);
  down_in_.clear();
  if (!to_viewer.empty()) write_lower(to_viewer);
  if (e.failed()) {
    fail_splice(e);
    return splice_error_;
  }
  away_ = true;
  queue_.set_button_mask_before(input_.button_mask());
  // What is left of a message half sent to the lost node cannot reach the new one.
  up_discard_ = up_pass_;
  up_pass_ = 0;
  resume_out_.clear();
  return Error();
}

Error ViewerRfbLink::resume(const rfb::ServerInit& init) {
  if (!away_) return Error(Errc::internal, "resume without a suspended link");
  if (closed()) return Error(Errc::connection_lost, "the viewer's connection is closing");
  const uint16_t old_w = gate_->viewer_width(), old_h = gate_->viewer_height();
  std::vector<int32_t> sent =
      rfb::filter_encodings_for_resume(up_->encodings(), &gate_->viewer_format());
  ByteChain to_viewer;
  if (gate_->resume_session(init.width, init.height, sent, to_viewer) ==
      rfb::ResizeResult::cannot_resize) {
    return Error(Errc::protocol, "the guest's screen changed from " + std::to_string(old_w) + "x" +
                                     std::to_string(old_h) + " to " + std::to_string(init.width) +
                                     "x" + std::to_string(init.height) +
                                     " across a reconnect, and the viewer cannot follow (it "
                                     "announced neither DesktopSize nor ExtendedDesktopSize)");
  }
  if (!to_viewer.empty()) write_lower(to_viewer);
  rfb::write_resume_to_server(gate_->viewer_format(), sent, init.width, init.height, input_, queue_,
                              resume_out_);
  away_ = false;
  resumed_ = true;
  post([this] { splice_up(false); });
  return Error();
}

void ViewerRfbLink::fail_splice(Error e) {
  if (splice_error_.failed()) return;
  splice_error_ = Error(e.code(), e.message() +
                                      " (the bridge relays only what it can delimit; "
                                      "--passthrough relays the console unread)");
  down_in_.clear();
  from_viewer_.clear();
  lower_->close(CloseMode::Abort);
}

void ViewerRfbLink::on_closed(const Error& error) {
  finish(splice_error_.failed() ? splice_error_ : error);
  if (!handshake_done_ && !handshake_failed_) {
    handshake_failed_ = true;
    events_.on_handshake_failed(
        error.failed() ? error
                       : Error(Errc::connection_lost, "the viewer left during the RFB handshake"));
  }
}

}  // namespace pvb
