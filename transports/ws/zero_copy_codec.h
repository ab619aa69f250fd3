// WsCodec without payload copies. Use it through make_zero_copy_codec() (ws_codec.h); the class is
// visible for tests and benchmarks.
//
// Decoding: frame headers are read in place (WsFrameGuard admits each one, exactly as for the
// wslay codec, so both reject the same frames with the same errors); unmasked payload is moved out
// of the input slice by slice (no copy); masked payload (server role) is unmasked in place when
// every reference to its block is a slice this decode holds, else unmasked into space of our own
// (one counted copy; in practice: small frames sharing a block with payload already handed to a
// reader that keeps it). Control payloads (at most 125 bytes) are copied. On top of the header
// rules, the checks wslay makes on payloads are repeated: text messages must be UTF-8, a Close
// frame's status code must be one a peer may send and its reason UTF-8.
//
// Encoding: headers are written with append_header (not payload); server-role payload slices move
// into the output (no copy); client-role payload is masked into freshly reserved output space
// (one counted copy: masking must write somewhere), 8-byte words four at a time. Mask keys come
// from the injected Random, 4 bytes per frame, in the order wslay asks for them, so both codecs
// produce the same wire bytes from the same seed.
//
// Callbacks come at the same points as from the wslay codec: a data message is handed over when
// its last frame is complete, before a control message, and at the end of decode(); data not
// handed over when a frame is rejected is dropped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "transports/ws/ws_codec.h"
#include "transports/ws/ws_frame_guard.h"

namespace pvb {

// RFC 6455 masking: dst[i] = src[i] ^ key[(phase + i) % 4]. `phase` is the payload offset of
// src[0], so a payload masked in pieces gives the same bytes as in one go. dst may equal src (in
// place) but must not overlap it otherwise. Three shapes, compared by the micro benchmarks:
void ws_mask_bytewise(const uint8_t* src, uint8_t* dst, size_t n, const uint8_t key[4],
                      size_t phase);  // one byte per step (the baseline)
void ws_mask_words(const uint8_t* src, uint8_t* dst, size_t n, const uint8_t key[4],
                   size_t phase);  // one 8-byte word per step, kept scalar
void ws_mask_vectorizable(const uint8_t* src, uint8_t* dst, size_t n, const uint8_t key[4],
                          size_t phase);  // four 8-byte words per step, which the compiler turns
                                          // into SIMD: what the codec uses (2x words, 18x bytes)

// Incremental UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF), rejecting at the first byte that cannot start or continue a character, as wslay does.
class Utf8Validator {
 public:
  // False once an invalid byte was seen (and from then on).
  bool feed(const uint8_t* p, size_t n);
  // True when no character was left unfinished.
  bool at_boundary() const { return need_ == 0 && !failed_; }
  void reset() { *this = Utf8Validator(); }

 private:
  uint8_t need_ = 0;               // continuation bytes still expected
  uint8_t lo_ = 0x80, hi_ = 0xBF;  // the range allowed for the next continuation byte
  bool failed_ = false;
};

// Whether a peer may send this status code in a Close frame (the same rule as wslay's).
bool ws_close_code_is_valid(uint16_t code);

class ZeroCopyCodec final : public WsCodec {
 public:
  ZeroCopyCodec(const WsCodecOptions& options, WsCodecSink& sink, Random& rng);
  ZeroCopyCodec(const ZeroCopyCodec&) = delete;
  ZeroCopyCodec& operator=(const ZeroCopyCodec&) = delete;

  Error decode(ByteChain& in) override;
  void encode_data(ByteChain& payload, ByteChain& out) override;
  void encode_ping(std::span<const uint8_t> payload, ByteChain& out) override;
  void encode_pong(std::span<const uint8_t> payload, ByteChain& out) override;
  void encode_close(uint16_t code, std::string_view reason, ByteChain& out) override;

  // Payload bytes per data frame after clamping.
  size_t frame_payload_limit() const { return frame_payload_; }

 private:
  // --- decoding ---
  Error decode_frames(ByteChain& in);
  void begin_frame(const WsFrameHeader& header);
  Error take_payload(ByteChain& in);
  void take_data(ByteChain& in, size_t n);
  void unmask_into_pending(ByteChain& in, size_t n);
  void unmask_copy(const uint8_t* src, size_t n, size_t phase);
  bool writable_in_place(const ByteChain& in, size_t n) const;
  Error check_text(size_t n);
  Error end_frame();
  Error end_control_frame();
  void flush_completed();
  void flush_partial();
  Error die(Error error);

  // --- encoding ---
  void write_header(uint8_t opcode, size_t payload_length, ByteChain& out, uint8_t key[4]);
  void mask_into(ByteChain& payload, size_t n, const uint8_t key[4], ByteChain& out);
  void encode_control(uint8_t opcode, const uint8_t* data, size_t n, ByteChain& out);

  WsCodecSink& sink_;
  Random& rng_;
  const WsRole role_;
  const size_t frame_payload_;

  // --- decoding ---
  WsFrameGuard guard_;
  Error dead_;  // once failed, always failed
  bool close_received_ = false;
  bool in_frame_ = false;    // a header was admitted; its payload is being taken
  uint64_t frame_left_ = 0;  // payload bytes of that frame still to come
  uint8_t frame_opcode_ = 0;
  bool frame_fin_ = false;
  bool frame_masked_ = false;
  uint8_t frame_key_[4] = {0, 0, 0, 0};
  size_t frame_phase_ = 0;      // payload bytes of the frame taken so far, modulo 4
  bool message_text_ = false;   // the data message in progress started with a text frame
  Utf8Validator utf8_;          // of that message, when text
  ByteChain pending_;           // data of the message in progress not yet handed over
  ByteChain completed_;         // a finished message, handed over before the next callback
  bool has_completed_ = false;  // (completed_ may be an empty message)
  bool completed_text_ = false;
  ByteChain copy_tail_;  // the last payload bytes unmasked by copying (see unmask_copy)
  std::array<uint8_t, 125> control_{};  // the control frame's payload, unmasked
  size_t control_length_ = 0;

  // --- encoding ---
  bool close_encoded_ = false;
};

}  // namespace pvb
