// ChunkLimiter: a Transport overlay that makes every byte boundary a read and write boundary.
// It owns a lower transport and is its sink. Received data reaches its own sink at most `chunk`
// new bytes per on_data call (bytes the sink leaves are offered again in front of them), and
// writes go to the lower transport as separate writes of at most `chunk` bytes. Everything else
// (connected, end_stream, close, failures, pending bytes, watermarks) passes through. Purpose:
// every parser above it must cope with 1-byte reads and writes.
#pragma once

#include <cstddef>
#include <memory>

#include "engine/io/transport_overlay.h"

namespace pvb {

class ChunkLimiter : public TransportOverlay {
 public:
  explicit ChunkLimiter(std::unique_ptr<Transport> lower, size_t chunk = 1);

  void write(ByteChain& data, bool end_stream = false) override;

 protected:
  void on_read_enable_changed(bool enabled) override;
  void on_data(ByteChain& data, bool end_stream) override;

 private:
  void deliver(bool reoffer);

  size_t chunk_;
  ByteChain rx_;              // taken from the lower transport, not yet offered
  ByteChain offer_;           // offered to our sink: its leftovers, then at most chunk_ new bytes
  bool rx_end_ = false;       // the lower transport delivered end_stream
  bool rx_end_told_ = false;  // and we passed it on
  bool write_ended_ = false;
  bool reoffer_posted_ = false;
};

}  // namespace pvb
