// CloseFrameFilter: the never_close fault. Sits between the TLS connection and the server's
// WsTransport and passes everything through both ways, except that from the client's first Close
// frame on, the client's input is swallowed: the websocket never hears the Close, so it neither
// answers nor closes, and the TCP connection stays open with the session still relaying
// VM -> client. Only the client giving up (closing TCP) ends it. Frame boundaries are followed
// from the headers alone; payload bytes move through untouched (no copy).
#pragma once

#include <cstdint>
#include <memory>

#include "engine/io/transport_overlay.h"

namespace pvb::mock {

class CloseFrameFilter final : public TransportOverlay {
 public:
  // `lower` is connected already (it carried the upgrade); it is not restarted, and the filter
  // counts as connected at once. `leftover`: client bytes that came with the upgrade request.
  CloseFrameFilter(std::unique_ptr<Transport> lower, ByteChain leftover);

  void start() override;
  void close(CloseMode mode) override;

  bool swallowing() const { return swallowing_; }

 protected:
  void on_read_enable_changed(bool enabled) override;
  void on_data(ByteChain& data, bool end_stream) override;

 private:
  void pass_through();  // moves whole frames (or payload parts) from in_ to rx_
  void deliver();

  ByteChain in_;               // from the lower transport, not yet looked at
  ByteChain rx_;               // passed, not yet taken by our sink
  uint64_t payload_left_ = 0;  // of the frame being passed through
  bool swallowing_ = false;
  bool lower_ended_ = false;
  bool end_told_ = false;
};

}  // namespace pvb::mock
