#include "engine/io/transport.h"

#include <cassert>

namespace pvb {

void Transport::read_disable(bool disable) {
  if (disable) {
    if (read_disable_count_++ == 0) on_read_enable_changed(false);
  } else {
    assert(read_disable_count_ > 0);
    if (read_disable_count_ > 0 && --read_disable_count_ == 0) on_read_enable_changed(true);
  }
}

void Transport::emit_connected() {
  if (connected_ || closed_) return;
  connected_ = true;
  if (sink_) sink_->on_connected();
}

void Transport::emit_data(ByteChain& data, bool end_stream) {
  if (closed_ || !sink_) return;
  sink_->on_data(data, end_stream);
}

Transport::Transport(Loop& loop) : loop_(loop) {
  write_queue_.set_callbacks([this] { went_high(); }, [this] { went_low(); });
}

void Transport::went_high() {
  if (high_posted_) return;
  high_posted_ = true;
  post([this] {
    high_posted_ = false;
    // Only if still above: a drain may have come first (the level below may have changed
    // silently: look again).
    write_queue_.recheck();
    if (write_queue_.above() && !high_fired_ && !closed_) {
      high_fired_ = true;
      if (sink_) sink_->on_write_high();
    }
  });
}

void Transport::went_low() {
  // Always reported, even when the posted "high" has not run yet: a sink may have paused on
  // its own reading of pending_write_bytes() (the pump does), and must hear it may resume.
  high_fired_ = false;
  if (sink_ && !closed_) sink_->on_write_low();
}

void Transport::finish(Error error) {
  if (closed_) return;
  closed_ = true;
  failure_ = std::move(error);
  post([this] {
    if (sink_) sink_->on_closed(failure_);
  });
}

void Transport::post(std::function<void()> fn) {
  loop_.post([weak = alive_.weak(), fn = std::move(fn)] {
    if (!weak.expired()) fn();
  });
}

}  // namespace pvb
