// The WebSocket frame codec seam (RFC 6455 framing, no I/O). WsTransport talks to this interface
// only: the zero-copy codec is the default, the wslay-backed one stays as the reference the
// zero-copy one is differentially tested against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/core/random.h"

namespace pvb {

enum class WsRole { client, server };

// RFC 6455 opcodes.
namespace ws_opcode {
inline constexpr uint8_t kContinuation = 0x0;
inline constexpr uint8_t kText = 0x1;
inline constexpr uint8_t kBinary = 0x2;
inline constexpr uint8_t kClose = 0x8;
inline constexpr uint8_t kPing = 0x9;
inline constexpr uint8_t kPong = 0xA;
}  // namespace ws_opcode

// RFC 6455 close status codes we use.
inline constexpr uint16_t kWsCloseNormal = 1000;
inline constexpr uint16_t kWsCloseNoStatus = 1005;  // "no status code in the Close frame"

struct WsFrameInfo {
  bool fin;
  uint8_t rsv;  // (RSV1 << 2) | (RSV2 << 1) | RSV3
  uint8_t opcode;
  bool masked;
  uint64_t payload_length;
};

// What decoding produces. Callbacks come from inside WsCodec::decode().
class WsCodecSink {
 public:
  virtual ~WsCodecSink() = default;
  // Every frame header, once validated, before its payload. Lets the mock pveproxy enforce
  // pveproxy's stricter rules (no fragmentation, size limits) on top of RFC 6455.
  virtual void on_frame_start(const WsFrameInfo&) {}
  // Text or binary message data, streamed: a message may arrive in several calls, the last one
  // with message_end set (possibly with an empty payload). The sink must take all of `payload`
  // (move_from or clear); what it leaves is dropped.
  virtual void on_message_data(ByteChain& payload, bool text, bool message_end) = 0;
  virtual void on_ping(ByteChain& payload) = 0;
  virtual void on_pong(ByteChain& payload) = 0;
  // code is 1005 (kWsCloseNoStatus) when the Close frame carried none. Nothing is decoded after
  // a Close frame: later input is consumed and ignored.
  virtual void on_close(uint16_t code, std::string_view reason) = 0;
};

class WsCodec {
 public:
  virtual ~WsCodec() = default;
  // Decodes what it can from `in` (drains what it consumed; an incomplete frame header, or with
  // some implementations an incomplete control frame of at most 139 bytes, stays in `in`),
  // calling the sink. A protocol violation returns an Error (Errc::protocol, or
  // Errc::too_large) and the codec is dead after: every later decode() returns the same error.
  virtual Error decode(ByteChain& in) = 0;
  // Frames `payload` (all of it, moved/consumed) as binary frames of at most max_frame_payload
  // bytes each, FIN set, never fragmented (no continuation frames), masked in the client role,
  // appending the wire bytes to `out`. An empty payload makes one empty binary frame. Nothing is
  // encoded after encode_close(): the payload is dropped.
  virtual void encode_data(ByteChain& payload, ByteChain& out) = 0;
  // Control frames carry at most 125 payload bytes; longer payloads are truncated.
  virtual void encode_ping(std::span<const uint8_t> payload, ByteChain& out) = 0;
  virtual void encode_pong(std::span<const uint8_t> payload, ByteChain& out) = 0;
  // code 0 or 1005 sends a Close frame without a status code (and without the reason); the
  // reason is truncated to 123 bytes. Only the first call encodes anything.
  virtual void encode_close(uint16_t code, std::string_view reason, ByteChain& out) = 0;
};

// Which WsCodec implementation make_ws_codec() builds.
enum class WsCodecImpl {
  zero_copy,  // zero_copy_codec.h: payload slices move, masking is the only copy (the default)
  wslay,      // wslay_codec.h: the reference implementation (copies every payload byte twice)
};

struct WsCodecOptions {
  WsRole role = WsRole::client;
  // Payload bytes per data frame. Clamped so that no whole frame (header included) exceeds
  // 64 KiB: pveproxy before 8.3 reads frames into a 64 KiB buffer and dies on bigger ones.
  size_t max_frame_payload = 16 * 1024;
  // Largest message accepted when decoding (the sum of its frames); beyond it: Errc::too_large.
  uint64_t max_message = 16 * 1024 * 1024;
  WsCodecImpl implementation = WsCodecImpl::zero_copy;
};

// Largest whole frame we ever emit, and the payload limit that follows for the biggest header
// (2 + 8 length bytes + 4 mask bytes).
inline constexpr size_t kWsMaxWireFrame = 64 * 1024;
inline constexpr size_t kWsMaxFrameHeader = 14;
// Bytes of the header of a frame with this payload length (RFC 6455 5.2).
constexpr size_t ws_header_size(uint64_t payload_length, bool masked) {
  return (payload_length < 126 ? 2 : payload_length <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
}
inline constexpr size_t kWsMaxFramePayload = kWsMaxWireFrame - kWsMaxFrameHeader;

// The wslay-backed codec (wslay_codec.cc). Mask keys come from `rng` (client role).
std::unique_ptr<WsCodec> make_wslay_codec(const WsCodecOptions& options, WsCodecSink& sink,
                                          Random& rng);
// The zero-copy codec (zero_copy_codec.cc): same contract, same errors for the same frames.
std::unique_ptr<WsCodec> make_zero_copy_codec(const WsCodecOptions& options, WsCodecSink& sink,
                                              Random& rng);

// The codec options.implementation names.
inline std::unique_ptr<WsCodec> make_ws_codec(const WsCodecOptions& options, WsCodecSink& sink,
                                              Random& rng) {
  return options.implementation == WsCodecImpl::wslay ? make_wslay_codec(options, sink, rng)
                                                      : make_zero_copy_codec(options, sink, rng);
}

}  // namespace pvb
