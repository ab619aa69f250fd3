#include "transports/ws/zero_copy_codec.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace pvb {

namespace {

// The scalar masking shapes stay scalar whatever the optimizer would like: they are the baselines
// the benchmarks compare the vectorized one with.
#if defined(__clang__)
#define PVB_SCALAR_FUNCTION
#define PVB_SCALAR_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#elif defined(__GNUC__)
#define PVB_SCALAR_FUNCTION __attribute__((optimize("no-tree-vectorize")))
#define PVB_SCALAR_LOOP
#else
#define PVB_SCALAR_FUNCTION
#define PVB_SCALAR_LOOP
#endif

bool is_control(uint8_t opcode) {
  return (opcode & 0x8) != 0;
}

// The 4-byte key twice, rotated so that its first byte applies at payload offset `phase`.
uint64_t mask_word(const uint8_t key[4], size_t phase) {
  uint8_t bytes[8];
  for (size_t i = 0; i < 8; ++i) bytes[i] = key[(phase + i) & 3];
  uint64_t word;
  std::memcpy(&word, bytes, sizeof word);
  return word;
}

PVB_SCALAR_FUNCTION void mask_tail(const uint8_t* src, uint8_t* dst, size_t n, const uint8_t key[4],
                                   size_t phase) {
  PVB_SCALAR_LOOP
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i] ^ key[(phase + i) & 3]);
}

// Copies the first n bytes of `in` (n <= in.size()) into dst. Not counted: used for frame headers.
void peek_front(const ByteChain& in, uint8_t* dst, size_t n) {
  for (const Slice& s : in.slices()) {
    if (n == 0) break;
    const size_t k = std::min(n, s.size());
    std::memcpy(dst, s.data(), k);
    dst += k;
    n -= k;
  }
}

Error protocol(std::string detail) {
  return Error(Errc::protocol, "WebSocket: " + detail);
}

}  // namespace

// --- masking --------------------------------------------------------------------------------

PVB_SCALAR_FUNCTION void ws_mask_bytewise(const uint8_t* src, uint8_t* dst, size_t n,
                                          const uint8_t key[4], size_t phase) {
  mask_tail(src, dst, n, key, phase);
}

PVB_SCALAR_FUNCTION void ws_mask_words(const uint8_t* src, uint8_t* dst, size_t n,
                                       const uint8_t key[4], size_t phase) {
  const uint64_t mask = mask_word(key, phase);
  size_t i = 0;
  PVB_SCALAR_LOOP
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, src + i, 8);
    word ^= mask;
    std::memcpy(dst + i, &word, 8);
  }
  mask_tail(src + i, dst + i, n - i, key, phase + i);
}

void ws_mask_vectorizable(const uint8_t* src, uint8_t* dst, size_t n, const uint8_t key[4],
                          size_t phase) {
  const uint64_t mask = mask_word(key, phase);
  size_t i = 0;
  // Four words loaded before any is stored: in place works, and the block is one SIMD-friendly
  // straight line (SSE2 gives two 16-byte XORs, AVX2 one 32-byte XOR).
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, src + i, sizeof w);
    w[0] ^= mask;
    w[1] ^= mask;
    w[2] ^= mask;
    w[3] ^= mask;
    std::memcpy(dst + i, w, sizeof w);
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, src + i, 8);
    word ^= mask;
    std::memcpy(dst + i, &word, 8);
  }
  mask_tail(src + i, dst + i, n - i, key, phase + i);
}

// --- UTF-8 ------------------------------------------------------------------------------------

bool Utf8Validator::feed(const uint8_t* p, size_t n) {
  if (failed_) return false;
  size_t i = 0;
  while (i < n) {
    if (need_ == 0) {
      // ASCII runs 8 bytes at a time.
      while (i + 8 <= n) {
        uint64_t word;
        std::memcpy(&word, p + i, 8);
        if ((word & 0x8080808080808080ull) != 0) break;
        i += 8;
      }
      if (i == n) break;
      const uint8_t b = p[i++];
      if (b < 0x80) continue;
      if (b < 0xC2) {
        failed_ = true;  // a continuation byte, or an overlong 2-byte form
      } else if (b < 0xE0) {
        need_ = 1;
      } else if (b < 0xF0) {
        need_ = 2;
        lo_ = b == 0xE0 ? 0xA0 : 0x80;  // E0 80..9F would be overlong
        hi_ = b == 0xED ? 0x9F : 0xBF;  // ED A0..BF would be a surrogate
      } else if (b < 0xF5) {
        need_ = 3;
        lo_ = b == 0xF0 ? 0x90 : 0x80;  // F0 80..8F would be overlong
        hi_ = b == 0xF4 ? 0x8F : 0xBF;  // F4 90.. would be past U+10FFFF
      } else {
        failed_ = true;
      }
      if (failed_) return false;
      continue;
    }
    const uint8_t b = p[i++];
    if (b < lo_ || b > hi_) {
      failed_ = true;
      return false;
    }
    lo_ = 0x80;
    hi_ = 0xBF;
    --need_;
  }
  return true;
}

bool ws_close_code_is_valid(uint16_t code) {
  return (code >= 1000 && code <= 1011 && code != 1004 && code != 1005 && code != 1006) ||
         (code >= 3000 && code <= 4999);
}

// --- the codec --------------------------------------------------------------------------------

ZeroCopyCodec::ZeroCopyCodec(const WsCodecOptions& options, WsCodecSink& sink, Random& rng)
    : sink_(sink),
      rng_(rng),
      role_(options.role),
      frame_payload_(std::clamp<size_t>(options.max_frame_payload, 1, kWsMaxFramePayload)),
      guard_(options.role == WsRole::client ? WsRole::server : WsRole::client,
             options.max_message) {}

// --- decoding -------------------------------------------------------------------------------

Error ZeroCopyCodec::decode(ByteChain& in) {
  if (dead_.failed()) return dead_;
  if (close_received_) {
    in.clear();  // nothing follows a Close frame
    return Error();
  }
  Error e = decode_frames(in);
  // A message that ended before a bad frame is still handed over (the wslay codec hands messages
  // over as their last frame ends); what the bad frame interrupted is dropped.
  flush_completed();
  if (e.failed()) return die(std::move(e));
  flush_partial();
  if (close_received_) in.clear();
  return Error();
}

Error ZeroCopyCodec::decode_frames(ByteChain& in) {
  while (!close_received_) {
    if (!in_frame_) {
      std::optional<WsFrameHeader> header = peek_ws_frame_header(in);
      if (!header) return Error();
      if (Error e = guard_.admit(*header); e.failed()) return e;
      begin_frame(*header);
      if (header->info.masked) {
        uint8_t bytes[kWsMaxFrameHeader];
        peek_front(in, bytes, header->header_length);
        std::memcpy(frame_key_, bytes + header->header_length - 4, 4);
      }
      in.drain(header->header_length);
      // The payload already here is taken before the sink hears of the frame: the message that
      // ended just before is then still ours, so its slices count as ours when deciding whether
      // this payload can be unmasked in place (see writable_in_place).
      Error e = take_payload(in);
      flush_completed();
      sink_.on_frame_start(header->info);
      if (e.failed()) return e;
    } else if (Error e = take_payload(in); e.failed()) {
      return e;
    }
    if (frame_left_ > 0) return Error();  // the rest of the payload has not arrived yet
    if (Error e = end_frame(); e.failed()) return e;
  }
  return Error();
}

void ZeroCopyCodec::begin_frame(const WsFrameHeader& header) {
  in_frame_ = true;
  frame_left_ = header.info.payload_length;
  frame_opcode_ = header.info.opcode;
  frame_fin_ = header.info.fin;
  frame_masked_ = header.info.masked;
  frame_phase_ = 0;
  control_length_ = 0;
  if (frame_opcode_ == ws_opcode::kText || frame_opcode_ == ws_opcode::kBinary) {
    message_text_ = frame_opcode_ == ws_opcode::kText;
    utf8_.reset();
  }
}

Error ZeroCopyCodec::take_payload(ByteChain& in) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(frame_left_, in.size()));
  if (n == 0) return Error();
  frame_left_ -= n;
  if (is_control(frame_opcode_)) {
    // At most 125 bytes: copied (counted), then unmasked where they landed.
    uint8_t* dst = control_.data() + control_length_;
    peek_front(in, dst, n);
    count_copy(n);
    if (frame_masked_) ws_mask_vectorizable(dst, dst, n, frame_key_, frame_phase_);
    control_length_ += n;
    frame_phase_ = (frame_phase_ + n) & 3;
    in.drain(n);
    return Error();
  }
  take_data(in, n);
  return message_text_ ? check_text(n) : Error();
}

void ZeroCopyCodec::take_data(ByteChain& in, size_t n) {
  if (frame_masked_) {
    unmask_into_pending(in, n);
  } else {
    pending_.move_from(in, n);  // the zero-copy path: slices change hands
  }
}

void ZeroCopyCodec::unmask_into_pending(ByteChain& in, size_t n) {
  size_t phase = frame_phase_;
  while (n > 0) {
    const Slice& s = in.front();
    const size_t k = std::min(n, s.size());
    if (writable_in_place(in, k)) {
      uint8_t* p = s.block->data() + s.begin;
      ws_mask_vectorizable(p, p, k, frame_key_, phase);
      pending_.move_from(in, k);
    } else {
      unmask_copy(s.data(), k, phase);  // someone else can see these bytes
      in.drain(k);
    }
    phase += k;
    n -= k;
  }
  frame_phase_ = phase & 3;
}

// Unmasks n bytes into space of our own (one counted copy) and appends them to pending_. The
// copies are packed: copy_tail_ keeps a view of the last bytes copied, so the next copy lands right
// after them in the same block (ByteChain appends in place behind a chain's last slice) rather
// than in a fresh 16 KiB block per small frame.
void ZeroCopyCodec::unmask_copy(const uint8_t* src, size_t n, size_t phase) {
  size_t done = 0;
  while (done < n) {
    std::span<uint8_t> room = copy_tail_.reserve(1);
    const size_t m = std::min(n - done, room.size());
    ws_mask_vectorizable(src + done, room.data(), m, frame_key_, phase + done);
    copy_tail_.commit(m);
    const Slice& last = copy_tail_.slices().back();
    pending_.append_slice(Slice{last.block, static_cast<uint32_t>(last.end - m), last.end});
    done += m;
  }
  copy_tail_.drain(copy_tail_.size() - copy_tail_.slices().back().size());
  count_copy(n);
}

// True when the first n bytes of in's front slice may be modified: every reference to their
// block is a slice of `in`, pending_ or completed_, and none of those others covers these bytes.
// Only the slices near the front of `in` and the back of our chains are looked at (that is where
// neighbours from the same block are), so this is O(1); a reference further away makes the block
// count as shared, which costs a copy but is never wrong.
bool ZeroCopyCodec::writable_in_place(const ByteChain& in, size_t n) const {
  constexpr size_t kWindow = 4;
  const Slice& target = in.front();
  const Block* block = target.block.get();
  const uint32_t refs = in.front_block_references();
  const size_t begin = target.begin, end = target.begin + n;
  uint32_t ours = 0;
  bool overlap = false;
  auto visit = [&](const Slice& s) {
    if (s.block.get() != block) return;
    ++ours;
    if (&s != &target && s.begin < end && begin < s.end) overlap = true;
  };
  const auto& front = in.slices();
  for (size_t i = 0; i < std::min(kWindow, front.size()); ++i) visit(front[i]);
  for (const ByteChain* chain : {&pending_, &completed_}) {
    const auto& slices = chain->slices();
    for (size_t i = slices.size() - std::min(kWindow, slices.size()); i < slices.size(); ++i) {
      visit(slices[i]);
    }
  }
  return ours == refs && !overlap;
}

// Validates the last n bytes of pending_ (a text message's newest payload).
Error ZeroCopyCodec::check_text(size_t n) {
  size_t skip = pending_.size() - n;
  bool valid = true;
  pending_.for_each_slice([&](const Slice& s) {
    if (!valid) return;
    if (skip >= s.size()) {
      skip -= s.size();
      return;
    }
    valid = utf8_.feed(s.data() + skip, s.size() - skip);
    skip = 0;
  });
  return valid ? Error() : protocol("text message that is not valid UTF-8");
}

Error ZeroCopyCodec::end_frame() {
  in_frame_ = false;
  if (is_control(frame_opcode_)) return end_control_frame();
  if (!frame_fin_) return Error();
  if (message_text_ && !utf8_.at_boundary()) {
    return protocol("text message that is not valid UTF-8 (it ends inside a character)");
  }
  // Handed over before the next callback (or at the end of decode()).
  completed_.move_from(pending_);
  completed_text_ = message_text_;
  has_completed_ = true;
  return Error();
}

Error ZeroCopyCodec::end_control_frame() {
  const size_t n = control_length_;
  control_length_ = 0;
  if (frame_opcode_ == ws_opcode::kClose) {
    uint16_t code = kWsCloseNoStatus;
    std::string_view reason;
    if (n >= 2) {
      code = static_cast<uint16_t>((control_[0] << 8) | control_[1]);
      if (!ws_close_code_is_valid(code)) {
        return protocol("Close frame with an invalid status code (" + std::to_string(code) + ")");
      }
      Utf8Validator utf8;
      if (!utf8.feed(control_.data() + 2, n - 2) || !utf8.at_boundary()) {
        return protocol("Close frame with a reason that is not valid UTF-8");
      }
      reason = std::string_view(reinterpret_cast<const char*>(control_.data()) + 2, n - 2);
    }
    flush_partial();  // data that came before the Close goes first
    close_received_ = true;
    sink_.on_close(code, reason);
    return Error();
  }
  flush_partial();
  ByteChain payload;
  if (n > 0) payload.append(control_.data(), n);
  if (frame_opcode_ == ws_opcode::kPing) {
    sink_.on_ping(payload);
  } else {
    sink_.on_pong(payload);
  }
  return Error();
}

void ZeroCopyCodec::flush_completed() {
  if (!has_completed_) return;
  has_completed_ = false;
  sink_.on_message_data(completed_, completed_text_, true);
  completed_.clear();
}

void ZeroCopyCodec::flush_partial() {
  flush_completed();
  if (pending_.empty()) return;
  sink_.on_message_data(pending_, message_text_, false);
  pending_.clear();
}

Error ZeroCopyCodec::die(Error error) {
  pending_.clear();
  completed_.clear();
  has_completed_ = false;
  dead_ = std::move(error);
  return dead_;
}

// --- encoding -------------------------------------------------------------------------------

namespace {

// Masks n bytes from src into the reserved space at the end of `out` (as many blocks as needed).
// Not counted here: callers count the whole payload once.
void append_masked(const uint8_t* src, size_t n, const uint8_t key[4], size_t phase,
                   ByteChain& out) {
  size_t done = 0;
  while (done < n) {
    std::span<uint8_t> room = out.reserve(1);
    const size_t m = std::min(n - done, room.size());
    ws_mask_vectorizable(src + done, room.data(), m, key, phase + done);
    out.commit(m);
    done += m;
  }
}

}  // namespace

void ZeroCopyCodec::encode_data(ByteChain& payload, ByteChain& out) {
  if (close_encoded_) {
    payload.clear();
    return;
  }
  uint8_t key[4];
  if (payload.empty()) {
    write_header(ws_opcode::kBinary, 0, out, key);
    return;
  }
  while (!payload.empty()) {
    const size_t n = std::min(frame_payload_, payload.size());
    if (role_ == WsRole::client) {
      // Header and masked payload in one contiguous block when they fit one: a whole frame is
      // then one slice, which the TLS layer encrypts as is (see ConsoleOptions::ws_frame_payload).
      out.reserve(std::min(ws_header_size(n, true) + n, Block::kDefaultCapacity));
      write_header(ws_opcode::kBinary, n, out, key);
      mask_into(payload, n, key, out);
      continue;
    }
    write_header(ws_opcode::kBinary, n, out, key);
    out.move_from(payload, n);  // the zero-copy path: slices change hands
  }
}

void ZeroCopyCodec::encode_ping(std::span<const uint8_t> payload, ByteChain& out) {
  encode_control(ws_opcode::kPing, payload.data(), payload.size(), out);
}

void ZeroCopyCodec::encode_pong(std::span<const uint8_t> payload, ByteChain& out) {
  encode_control(ws_opcode::kPong, payload.data(), payload.size(), out);
}

void ZeroCopyCodec::encode_close(uint16_t code, std::string_view reason, ByteChain& out) {
  if (close_encoded_) return;
  uint8_t payload[125];
  size_t n = 0;
  if (code != 0 && code != kWsCloseNoStatus) {
    if (reason.size() > 123) {
      // Cut at 123 bytes, but never inside a UTF-8 character (the peer would reject the Close).
      size_t n = 123;
      while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
      reason = reason.substr(0, n);
    }
    payload[0] = static_cast<uint8_t>(code >> 8);
    payload[1] = static_cast<uint8_t>(code & 0xff);
    std::copy(reason.begin(), reason.end(), payload + 2);  // (reason.data() may be null)
    n = 2 + reason.size();
  }
  encode_control(ws_opcode::kClose, payload, n, out);
  close_encoded_ = true;
}

void ZeroCopyCodec::encode_control(uint8_t opcode, const uint8_t* data, size_t n, ByteChain& out) {
  if (close_encoded_) return;
  n = std::min<size_t>(n, 125);
  uint8_t key[4];
  write_header(opcode, n, out, key);
  if (n == 0) return;
  if (role_ == WsRole::server) {
    out.append(data, n);  // counted
    return;
  }
  append_masked(data, n, key, 0, out);
  count_copy(n);
}

void ZeroCopyCodec::write_header(uint8_t opcode, size_t payload_length, ByteChain& out,
                                 uint8_t key[4]) {
  uint8_t h[kWsMaxFrameHeader];
  size_t len = 0;
  const uint8_t mask_bit = role_ == WsRole::client ? 0x80 : 0;
  const uint64_t n = payload_length;
  h[len++] = static_cast<uint8_t>(0x80 | opcode);  // FIN, never fragmented
  if (n < 126) {
    h[len++] = static_cast<uint8_t>(mask_bit | n);
  } else if (n <= 0xffff) {
    h[len++] = static_cast<uint8_t>(mask_bit | 126);
    h[len++] = static_cast<uint8_t>(n >> 8);
    h[len++] = static_cast<uint8_t>(n & 0xff);
  } else {
    h[len++] = static_cast<uint8_t>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) h[len++] = static_cast<uint8_t>((n >> (8 * i)) & 0xff);
  }
  if (mask_bit) {
    rng_.fill(key, 4);
    std::memcpy(h + len, key, 4);
    len += 4;
  }
  out.append_header(h, len);
}

// Masks the first n bytes of `payload` into fresh space at the end of `out`, then drains them:
// the one honest copy of the client role.
void ZeroCopyCodec::mask_into(ByteChain& payload, size_t n, const uint8_t key[4], ByteChain& out) {
  size_t phase = 0;  // payload offset within the frame
  for (const Slice& s : payload.slices()) {
    if (phase == n) break;
    const size_t take = std::min(s.size(), n - phase);
    append_masked(s.data(), take, key, phase, out);
    phase += take;
  }
  count_copy(n);
  payload.drain(n);
}

std::unique_ptr<WsCodec> make_zero_copy_codec(const WsCodecOptions& options, WsCodecSink& sink,
                                              Random& rng) {
  return std::make_unique<ZeroCopyCodec>(options, sink, rng);
}

}  // namespace pvb
