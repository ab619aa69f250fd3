// WsCodec over wslay's event API. Use it through make_wslay_codec() (ws_codec.h); the class is
// visible for tests and benchmarks.
//
// Two wslay contexts, because wslay's receive path answers Pings and Closes by itself (it queues
// a Pong or a Close reply into the context it decodes with), and this codec's contract leaves
// those answers to WsTransport:
// - the decoder has its write side shut, so wslay's automatic replies are refused at the queue
//   and never pile up;
// - the encoder never receives, so a Close received from the peer does not stop us framing data
//   or our own Close.
// Every frame header is checked by WsFrameGuard before wslay sees it (clear errors), and the bytes
// handed to wslay never run past the end of the frame being checked.
#pragma once

#include <wslay/wslay.h>

#include <cstdint>
#include <vector>

#include "transports/ws/ws_codec.h"
#include "transports/ws/ws_frame_guard.h"

namespace pvb {

class WslayCodec final : public WsCodec {
 public:
  WslayCodec(const WsCodecOptions& options, WsCodecSink& sink, Random& rng);
  ~WslayCodec() override;
  WslayCodec(const WslayCodec&) = delete;
  WslayCodec& operator=(const WslayCodec&) = delete;

  Error decode(ByteChain& in) override;
  void encode_data(ByteChain& payload, ByteChain& out) override;
  void encode_ping(std::span<const uint8_t> payload, ByteChain& out) override;
  void encode_pong(std::span<const uint8_t> payload, ByteChain& out) override;
  void encode_close(uint16_t code, std::string_view reason, ByteChain& out) override;

  // Payload bytes per data frame after clamping.
  size_t frame_payload_limit() const { return frame_payload_; }

 private:
  // wslay callbacks: `user` is the WslayCodec.
  static ssize_t recv_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, int flags, void* user);
  static ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int flags,
                         void* user);
  static int genmask_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, void* user);
  static void frame_start_cb(wslay_event_context_ptr,
                             const wslay_event_on_frame_recv_start_arg* arg, void* user);
  static void frame_chunk_cb(wslay_event_context_ptr,
                             const wslay_event_on_frame_recv_chunk_arg* arg, void* user);
  static void frame_end_cb(wslay_event_context_ptr, void* user);
  static void msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user);

  ssize_t feed_wslay(uint8_t* buf, size_t len);
  void on_control_message(const wslay_event_on_msg_recv_arg& arg);
  void flush_data(bool message_end);
  Error die(Error error);
  Error describe_wslay_rejection() const;
  void send_message(uint8_t opcode, const uint8_t* data, size_t n, ByteChain& out);
  void run_send(ByteChain& out);

  WsCodecSink& sink_;
  Random& rng_;
  size_t frame_payload_;
  wslay_event_context_ptr decoder_ = nullptr;
  wslay_event_context_ptr encoder_ = nullptr;

  // --- decoding ---
  WsFrameGuard guard_;
  ByteChain* in_ = nullptr;       // set while wslay_event_recv runs
  uint64_t frame_left_ = 0;       // bytes of the admitted frame not yet handed to wslay
  bool control_waiting_ = false;  // a control frame is buffered until it is complete
  size_t header_left_ = 0;        // of which header bytes (not counted as payload copies)
  uint8_t last_opcode_ = 0;       // of the last admitted frame, to explain wslay's rejections
  Error rejected_;                // a header WsFrameGuard refused during this decode()
  Error dead_;                    // once failed, always failed
  bool close_received_ = false;
  bool frame_is_data_ = false;  // the frame wslay is decoding now
  bool frame_fin_ = false;
  bool message_text_ = false;  // the current data message started with a text frame
  ByteChain data_;             // decoded message bytes not yet given to the sink

  // --- encoding ---
  ByteChain* out_ = nullptr;    // set while wslay_event_send runs
  bool expect_header_ = false;  // the next send callback carries a frame header
  bool close_encoded_ = false;
  std::vector<uint8_t> scratch_;  // a frame's payload when it spans several slices
};

}  // namespace pvb
