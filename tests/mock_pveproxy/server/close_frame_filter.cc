#include "tests/mock_pveproxy/server/close_frame_filter.h"

#include <algorithm>

#include "transports/ws/ws_frame_guard.h"

namespace pvb::mock {

CloseFrameFilter::CloseFrameFilter(std::unique_ptr<Transport> lower, ByteChain leftover)
    : TransportOverlay(std::move(lower)) {
  in_.move_from(leftover);
  pass_through();
  // The websocket's server side never starts its lower transport (the HTTP layer did): this one
  // is connected from the start, like the TLS connection under it.
  emit_connected();
}

void CloseFrameFilter::start() {
  post([this] { deliver(); });
}

void CloseFrameFilter::close(CloseMode mode) {
  if (closed()) return;
  lower_->close(mode);
  if (mode == CloseMode::Abort) finish(Error());
}

void CloseFrameFilter::on_read_enable_changed(bool enabled) {
  lower_->read_disable(!enabled);
  if (enabled) {
    post([this] {
      if (reading_enabled()) deliver();
    });
  }
}

void CloseFrameFilter::on_data(ByteChain& data, bool end_stream) {
  in_.move_from(data);
  if (end_stream) lower_ended_ = true;
  pass_through();
  deliver();
}

void CloseFrameFilter::pass_through() {
  while (!in_.empty()) {
    if (swallowing_) {
      in_.clear();
      return;
    }
    if (payload_left_ > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(payload_left_, in_.size()));
      rx_.move_from(in_, n);
      payload_left_ -= n;
      continue;
    }
    std::optional<WsFrameHeader> header = peek_ws_frame_header(in_);
    if (!header) return;  // the rest of the header has not arrived
    if (header->info.opcode == ws_opcode::kClose) {
      swallowing_ = true;
      continue;
    }
    rx_.move_from(in_, header->header_length);
    payload_left_ = header->info.payload_length;
  }
}

void CloseFrameFilter::deliver() {
  if (closed() || !connected() || !reading_enabled()) return;
  // The client going away ends the session, Close frame or not.
  const bool end_now = lower_ended_ && !end_told_;
  if (rx_.empty() && !end_now) return;
  if (end_now) end_told_ = true;
  emit_data(rx_, end_now);
}

}  // namespace pvb::mock
