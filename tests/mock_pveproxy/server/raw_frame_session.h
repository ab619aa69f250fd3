// The raw_after_upgrade fault (every kind but never_close, which CloseFrameFilter plays): right
// after the 101, hand-made bytes go straight to the connection — server frames a well-behaved
// WebSocket library refuses to produce — and nothing is relayed. Client input is read and dropped;
// the session ends when the client goes away (or on shutdown).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "engine/core/byte_chain.h"
#include "engine/core/loop.h"
#include "engine/io/transport.h"
#include "tests/mock_pveproxy/mock_options.h"

namespace pvb::mock {

// The bytes of one misbehaving frame: a masked binary frame, a binary frame with RSV1-3 set, a
// header announcing 2^63-1 payload bytes (then a few bytes of it), a frame with the reserved
// opcode 0x3 (each carrying "RFB 003.008\n"), or one Ping of the flood; nothing for `silent`
// (the session then never writes: pings go unanswered, as from a hung server). The deaf kinds
// send the RFB banner in a binary frame and never read a byte (deaf_ping_flood then pings without
// end, as fast as the connection takes them).
ByteChain raw_frame_bytes(RawFrameKind kind);

class RawFrameSession final : private TransportSink {
 public:
  // The ping flood is bounded so a client that keeps up still sees the end of it.
  static constexpr uint64_t kPingFloodCount = 100000;

  // `lower` is the connected transport that carried the 101.
  RawFrameSession(std::unique_ptr<Transport> lower, RawFrameKind kind,
                  std::function<void(const Error&)> done);
  ~RawFrameSession() override;
  RawFrameSession(const RawFrameSession&) = delete;
  RawFrameSession& operator=(const RawFrameSession&) = delete;

  void start();
  uint64_t pings_sent() const { return pings_sent_; }

 private:
  void on_data(ByteChain& data, bool end_stream) override;
  void on_write_low() override;
  void on_closed(const Error& error) override;
  void flood();
  bool floods() const;

  std::unique_ptr<Transport> lower_;
  RawFrameKind kind_;
  std::function<void(const Error&)> done_;
  uint64_t pings_sent_ = 0;
  bool closing_ = false;
  AliveToken alive_;
};

}  // namespace pvb::mock
