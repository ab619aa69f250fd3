#include "transports/testing/chunk_limiter.h"

namespace pvb {

ChunkLimiter::ChunkLimiter(std::unique_ptr<Transport> lower, size_t chunk)
    : TransportOverlay(std::move(lower)), chunk_(chunk > 0 ? chunk : 1) {}

void ChunkLimiter::write(ByteChain& data, bool end_stream) {
  if (closed() || write_ended_) {
    data.clear();
    return;
  }
  if (end_stream) write_ended_ = true;
  if (data.empty() && end_stream) {
    ByteChain none;
    write_lower(none, true);
  }
  while (!data.empty()) {
    ByteChain piece;
    piece.move_from(data, chunk_);  // a split shares the block: still no copy
    write_lower(piece, end_stream && data.empty());
  }
}

void ChunkLimiter::on_read_enable_changed(bool enabled) {
  lower_->read_disable(!enabled);
  if (!enabled || reoffer_posted_) return;
  if (offer_.empty() && rx_.empty() && !(rx_end_ && !rx_end_told_)) return;
  // Leftovers are offered again even if the lower transport has nothing new.
  reoffer_posted_ = true;
  post([this] {
    reoffer_posted_ = false;
    deliver(true);
  });
}

void ChunkLimiter::on_data(ByteChain& data, bool end_stream) {
  rx_.move_from(data);
  if (end_stream) rx_end_ = true;
  deliver(false);
}

void ChunkLimiter::deliver(bool reoffer) {
  // Each round adds at most chunk_ new bytes behind what the sink left; a sink that consumes
  // nothing still sees every byte arrive one round at a time.
  while (!closed() && reading_enabled() && sink()) {
    size_t added = offer_.move_from(rx_, chunk_);
    bool end = rx_end_ && rx_.empty() && !rx_end_told_;
    bool again = reoffer && !offer_.empty();
    if (added == 0 && !end && !again) break;
    reoffer = false;
    if (end) rx_end_told_ = true;
    emit_data(offer_, end);
  }
}

}  // namespace pvb
