// BenchConsole: the far end of the throughput benchmark (behind the mock's console websocket, or
// bench-far-end's bare TCP/TLS), as a Transport so the relay treats it like the fake VM. Made to
// cost nothing per byte:
// - source: an endless stream where byte i is (i mod 256), made of slices of one shared,
//   read-only 64 KiB block (no copy, no per-byte work), emitted as fast as the relay reads
//   (it stops while reading is disabled, which is how backpressure reaches it);
// - sink: counts what it is given and drops it;
// - echo: hands back what it is given (the slices move, nothing is copied) when reading is
//   enabled; what waits is its pending_write_bytes(), like a VM that stopped reading its socket.
// - rfb_source, rfb_echo: the far end of the RFB splice's benchmark, a VNC server that costs
//   nothing per byte either. Both do the server side of the RFB handshake (3.3, 3.7 or 3.8, as the
//   client asks; VNC Authentication, its response unchecked; a 1024x768 desktop of 32 bits per
//   pixel) and then read the client's messages (SetPixelFormat, SetEncodings,
//   FramebufferUpdateRequest, key, pointer, ClientCutText; anything else ends the connection with a
//   protocol error). rfb_source, from the first FramebufferUpdateRequest on, streams
//   FramebufferUpdates of one Raw rectangle of 1024x16 pixels each, forever, as fast as it is read:
//   every update is the same slice of one shared block, a 16-byte header and the source's 64 KiB
//   pattern (kRfbUpdateBytes in all). rfb_echo answers every FramebufferUpdateRequest with one 1x1
//   Raw update whose pixel is the request's number (0, 1, 2, ..., little-endian), so a client can
//   time and check round trips.
// An end of stream written to it is answered with an end of stream (after the echo drains).
#pragma once

#include <cstdint>
#include <string>

#include "engine/core/byte_chain.h"
#include "engine/io/transport.h"

namespace pvb {

class BenchConsole final : public Transport {
 public:
  // The source emits this much per loop iteration at most, then lets other I/O run.
  static constexpr size_t kSourceBurst = 256 * 1024;
  static constexpr size_t kPatternBytes = 64 * 1024;  // a multiple of 256: the pattern continues

  // rfb_source: the header of every update, then kPatternBytes of the pattern.
  static constexpr size_t kRfbUpdateHeader = 16;
  static constexpr size_t kRfbUpdateBytes = kRfbUpdateHeader + kPatternBytes;
  static constexpr uint16_t kRfbWidth = 1024;
  static constexpr uint16_t kRfbHeight = 768;
  static constexpr uint16_t kRfbUpdateRows = kPatternBytes / (4 * kRfbWidth);  // 16
  // rfb_echo's answer to one FramebufferUpdateRequest.
  static constexpr size_t kRfbEchoReplyBytes = 4 + 12 + 4;

  enum class Kind { source, sink, echo, rfb_source, rfb_echo };
  BenchConsole(Loop& loop, Kind kind);
  ~BenchConsole() override = default;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  Kind kind() const { return kind_; }
  uint64_t bytes_in() const { return bytes_in_; }    // written to it
  uint64_t bytes_out() const { return bytes_out_; }  // emitted by it

  // Byte `offset` of the source's stream.
  static uint8_t source_byte(uint64_t offset) { return static_cast<uint8_t>(offset & 0xFF); }

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  void schedule_emit();
  void emit();
  bool is_rfb() const { return kind_ == Kind::rfb_source || kind_ == Kind::rfb_echo; }
  // Consumes what the client sent (rfb_in_); false after a protocol error.
  bool parse_rfb();
  void rfb_reply(const void* bytes, size_t n);
  void fail_rfb(const std::string& why);

  // RFB kinds: where the client is, and what it has sent that is not complete yet.
  enum class RfbStep { version, security, auth_response, client_init, messages, failed };
  void send_rfb_challenge();
  RfbStep rfb_step_ = RfbStep::version;
  int rfb_minor_ = 8;
  std::string rfb_in_;
  bool streaming_ = false;      // rfb_source: asked for an update at least once
  uint32_t echo_requests_ = 0;  // rfb_echo: requests answered
  Slice update_;                // rfb_source: the shared block of one whole update

  Kind kind_;
  Slice pattern_;  // source: the shared block
  // write_queue(): echo: received, not yet handed back.
  ByteChain out_;  // emitted and not taken by the sink (re-offered first)
  bool started_ = false;
  bool emit_posted_ = false;
  bool end_written_ = false;  // an end of stream was written to us
  bool end_emitted_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace pvb
