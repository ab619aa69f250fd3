#include "engine/console/viewer_rfb_link.h"

#include "engine/rfb/encodings.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_init.h"

namespace pvb {

namespace {

// Viewer bytes kept while the viewer waits for the node's ServerInit (it may send its first
// SetPixelFormat, SetEncodings and update request at once): beyond this, reading pauses.
constexpr size_t kHeldBeforeSplice = 64 * 1024;

// Appends references to data's bytes from `offset` on: the same blocks, no copy.
void share_from(const ByteChain& data, size_t offset, ByteChain& into) {
  for (const Slice& s : data.slices()) {
    if (offset >= s.size()) {
      offset -= s.size();
      continue;
    }
    Slice part = s;
    part.begin += static_cast<uint32_t>(offset);
    offset = 0;
    into.append_slice(std::move(part));
  }
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
  down_.emplace(init.pixel_format, init.width, init.height);
  splicing_ = true;
  if (!reading_enabled()) read_disable(false);
  if (!from_viewer_.empty() || viewer_ended_) {
    post([this] { splice_up(viewer_ended_); });
  }
}

void ViewerRfbLink::splice_up(bool end_stream) {
  if (splice_error_.failed() || closed()) return;
  ByteChain up;
  while (!from_viewer_.empty()) {
    if (up_pass_ > 0) {
      up_pass_ -= up.move_from(from_viewer_, up_pass_);
      continue;
    }
    auto step = up_->next(from_viewer_);
    if (!step.ok()) return fail_splice(step.error());
    if (!step->found()) break;
    const rfb::ClientMessage& m = *step->unit;
    if (m.type == rfb::kSetEncodings) {
      // Only what the server delimiter can measure reaches the node.
      std::vector<int32_t> kept = rfb::filter_encodings(up_->encodings(), &up_->pixel_format());
      from_viewer_.drain(m.length);
      rfb::write_set_encodings(kept, up);
      down_->set_client_encodings(kept);
      continue;
    }
    if (m.type == rfb::kSetPixelFormat) down_->set_pixel_format(up_->pixel_format());
    up_pass_ = m.length;
  }
  if (up.empty() && !end_stream) return;
  emit_data(up, end_stream);
}

void ViewerRfbLink::write(ByteChain& data, bool end_stream) {
  if (closed()) {
    data.clear();
    return;
  }
  if (splicing_ && splice_error_.ok()) measure_down(data);
  write_lower(data, end_stream);
}

void ViewerRfbLink::measure_down(const ByteChain& data) {
  if (down_skip_ >= data.size()) {
    down_skip_ -= data.size();
    return;
  }
  share_from(data, down_skip_, down_unit_);
  down_skip_ = 0;
  while (!down_unit_.empty() && down_unit_.size() >= down_need_) {
    auto step = down_->next(down_unit_);
    if (!step.ok()) return fail_splice(step.error());
    if (!step->found()) {
      down_need_ = step->need;
      return;
    }
    down_need_ = 0;
    const uint64_t length = step->unit->length;
    if (length <= down_unit_.size()) {
      down_unit_.drain(length);
    } else {
      down_skip_ = length - down_unit_.size();
      down_unit_.clear();
    }
  }
}

void ViewerRfbLink::fail_splice(Error e) {
  if (splice_error_.failed()) return;
  splice_error_ = Error(e.code(), e.message() +
                                      " (the bridge relays only what it can delimit; "
                                      "--passthrough relays the console unread)");
  down_unit_.clear();
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
