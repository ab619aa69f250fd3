// FaultInjector: a Transport overlay that breaks the connection on purpose, at an exact byte
// offset, so every layer's error paths can be tested. It owns a lower transport and is its sink;
// what the plan does not touch passes through unchanged.
//
// - reset_after_read N: the sink receives exactly the first N bytes read, then the transport fails
//   with plan.error (the lower transport is aborted).
// - eof_after_read N: the sink receives exactly the first N bytes, the last of them with
//   end_stream; whatever the lower transport reads after that is dropped. Writing still works.
// - reset_after_write N: exactly the first N bytes written reach the lower transport (and, once
//   it has sent them, the peer); later writes are dropped; then the transport fails with
//   plan.error and the lower one is aborted.
// - corrupt_read {offset, mask}: the byte read at that offset is XORed with mask.
// N = 0 fires on the first read (on_data from the lower transport) or the first write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "engine/io/transport_overlay.h"

namespace pvb {

struct FaultPlan {
  std::optional<size_t> reset_after_read;
  std::optional<size_t> reset_after_write;
  std::optional<size_t> eof_after_read;
  std::optional<std::pair<size_t, uint8_t>> corrupt_read;  // xor byte at offset
  Error error = Error(Errc::connection_lost, "injected reset");
};

class FaultInjector : public TransportOverlay {
 public:
  FaultInjector(std::unique_ptr<Transport> lower, FaultPlan plan);

  void write(ByteChain& data, bool end_stream = false) override;

  size_t bytes_read() const { return read_total_; }        // handed to our sink so far
  size_t bytes_written() const { return written_total_; }  // handed to the lower transport
  bool fault_fired() const { return fault_fired_; }

 protected:
  void on_read_enable_changed(bool enabled) override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_write_low() override;

 private:
  void deliver(bool reoffer);
  size_t take(size_t max);  // rx_ -> offer_, corrupting on the way
  void check_write_fault_drained();
  void fire_reset();

  FaultPlan plan_;
  std::optional<size_t> read_limit_;  // the earlier of reset_after_read and eof_after_read
  bool read_limit_is_eof_ = false;

  ByteChain rx_;     // taken from the lower transport, not yet offered
  ByteChain offer_;  // offered to our sink (its leftovers first)
  size_t read_total_ = 0;
  bool rx_end_ = false;
  bool rx_end_told_ = false;
  bool read_fault_fired_ = false;
  bool corrupted_ = false;
  bool reoffer_posted_ = false;

  size_t written_total_ = 0;
  bool write_ended_ = false;
  bool write_fault_armed_ = false;  // N bytes written: fail once the lower has sent them
  bool fault_fired_ = false;
};

}  // namespace pvb
