#include "transports/testing/fault_injector.h"

#include <algorithm>

namespace pvb {

FaultInjector::FaultInjector(std::unique_ptr<Transport> lower, FaultPlan plan)
    : TransportOverlay(std::move(lower)), plan_(std::move(plan)) {
  // The lower's "low" (its queue is empty: the base sets its marks to 0/0) is also when a write
  // fault fires.
  const auto& reset = plan_.reset_after_read;
  const auto& eof = plan_.eof_after_read;
  if (reset && (!eof || *reset <= *eof)) {
    read_limit_ = *reset;
  } else if (eof) {
    read_limit_ = *eof;
    read_limit_is_eof_ = true;
  }
}

// --- writing -------------------------------------------------------------------------------------

void FaultInjector::write(ByteChain& data, bool end_stream) {
  if (closed() || write_ended_ || write_fault_armed_) {
    data.clear();
    return;
  }
  if (plan_.reset_after_write && data.size() >= *plan_.reset_after_write - written_total_) {
    ByteChain allowed;
    allowed.move_from(data, *plan_.reset_after_write - written_total_);
    data.clear();
    written_total_ += allowed.size();
    write_fault_armed_ = true;
    if (!allowed.empty()) write_lower(allowed);
    // Usually the lower transport's "low" (it empties its queue) fires the fault. If nothing was
    // left to send there is no "low" to wait for: this posted check covers that.
    post([this] { check_write_fault_drained(); });
    return;
  }
  written_total_ += data.size();
  if (end_stream) write_ended_ = true;
  write_lower(data, end_stream);
}

void FaultInjector::check_write_fault_drained() {
  if (!write_fault_armed_ || fault_fired_ || closed()) return;
  if (lower_->pending_write_bytes() == 0) fire_reset();
}

void FaultInjector::fire_reset() {
  if (closed()) return;
  fault_fired_ = true;
  lower_->close(CloseMode::Abort);
  finish(plan_.error);
}

void FaultInjector::on_write_low() {
  TransportOverlay::on_write_low();
  check_write_fault_drained();
}

// --- reading -------------------------------------------------------------------------------------

void FaultInjector::on_data(ByteChain& data, bool end_stream) {
  if (read_fault_fired_) {
    data.clear();
    return;
  }
  rx_.move_from(data);
  if (end_stream) rx_end_ = true;
  deliver(false);
}

size_t FaultInjector::take(size_t max) {
  const size_t n = std::min(max, rx_.size());
  size_t moved = 0;
  if (plan_.corrupt_read && !corrupted_) {
    const auto [offset, mask] = *plan_.corrupt_read;
    if (offset >= read_total_ && offset < read_total_ + n) {
      moved = offset - read_total_;
      offer_.move_from(rx_, moved);
      // A copy, not an in-place edit: the block may be shared with the writer's chain.
      uint8_t byte = static_cast<uint8_t>(rx_.at(0) ^ mask);
      rx_.drain(1);
      offer_.append(&byte, 1);
      ++moved;
      corrupted_ = true;
    }
  }
  offer_.move_from(rx_, n - moved);
  read_total_ += n;
  return n;
}

void FaultInjector::deliver(bool reoffer) {
  while (!closed() && reading_enabled() && sink() && !read_fault_fired_) {
    const size_t room = read_limit_ ? *read_limit_ - read_total_ : SIZE_MAX;
    const size_t added = take(room);
    const bool at_limit = read_limit_ && read_total_ == *read_limit_;
    const bool again = reoffer && !offer_.empty();
    reoffer = false;
    if (at_limit) {
      read_fault_fired_ = true;
      rx_.clear();
      if (read_limit_is_eof_) {
        fault_fired_ = true;
        rx_end_told_ = true;
        emit_data(offer_, true);
        return;
      }
      if (added > 0 || again) emit_data(offer_, false);
      fire_reset();
      return;
    }
    const bool end = rx_end_ && rx_.empty() && !rx_end_told_;
    if (added == 0 && !end && !again) return;
    if (end) rx_end_told_ = true;
    emit_data(offer_, end);
  }
}

void FaultInjector::on_read_enable_changed(bool enabled) {
  lower_->read_disable(!enabled);
  if (!enabled || reoffer_posted_) return;
  if (offer_.empty() && rx_.empty() && !(rx_end_ && !rx_end_told_)) return;
  reoffer_posted_ = true;
  post([this] {
    reoffer_posted_ = false;
    deliver(true);
  });
}

}  // namespace pvb
