#include "transports/ws/ws_frame_guard.h"

#include <algorithm>
#include <string>

namespace pvb {

namespace {

// Copies up to n header bytes from the front of `in`. Not counted as a payload copy.
size_t peek_bytes(const ByteChain& in, uint8_t* out, size_t n) {
  size_t done = 0;
  for (const Slice& s : in.slices()) {
    if (done == n) break;
    size_t k = std::min(n - done, s.size());
    std::copy_n(s.data(), k, out + done);
    done += k;
  }
  return done;
}

bool is_control(uint8_t opcode) {
  return (opcode & 0x8) != 0;
}

bool is_known_opcode(uint8_t opcode) {
  switch (opcode) {
    case ws_opcode::kContinuation:
    case ws_opcode::kText:
    case ws_opcode::kBinary:
    case ws_opcode::kClose:
    case ws_opcode::kPing:
    case ws_opcode::kPong:
      return true;
    default:
      return false;
  }
}

std::string hex_opcode(uint8_t opcode) {
  static const char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[opcode & 0xf];
}

Error protocol(std::string detail) {
  return Error(Errc::protocol, "WebSocket: " + detail);
}

}  // namespace

std::optional<WsFrameHeader> peek_ws_frame_header(const ByteChain& in) {
  uint8_t h[kWsMaxFrameHeader];
  size_t have = peek_bytes(in, h, sizeof h);
  if (have < 2) return std::nullopt;

  WsFrameHeader out{};
  out.info.fin = (h[0] & 0x80) != 0;
  out.info.rsv = static_cast<uint8_t>((h[0] >> 4) & 0x7);
  out.info.opcode = static_cast<uint8_t>(h[0] & 0xf);
  out.info.masked = (h[1] & 0x80) != 0;
  const uint8_t len7 = h[1] & 0x7f;
  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  out.header_length = 2 + ext + (out.info.masked ? 4 : 0);
  if (have < out.header_length) return std::nullopt;

  uint64_t len = len7;
  if (ext > 0) {
    len = 0;
    for (size_t i = 0; i < ext; ++i) len = (len << 8) | h[2 + i];
  }
  out.info.payload_length = len;
  out.minimal_length = ext == 0 || (ext == 2 && len >= 126) || (ext == 8 && len > 0xffff);
  return out;
}

Error WsFrameGuard::admit(const WsFrameHeader& header) {
  const WsFrameInfo& f = header.info;
  if (f.rsv != 0) {
    return protocol("frame with RSV bits " + std::to_string(f.rsv) +
                    " set (no extension was negotiated)");
  }
  if (!is_known_opcode(f.opcode))
    return protocol("frame with reserved opcode " + hex_opcode(f.opcode));
  if (peer_role_ == WsRole::server && f.masked) return protocol("masked frame from the server");
  if (peer_role_ == WsRole::client && !f.masked) return protocol("unmasked frame from the client");
  if (f.payload_length >> 63) return protocol("frame length of 2^63 bytes or more");
  if (!header.minimal_length) {
    return protocol("frame length " + std::to_string(f.payload_length) +
                    " not in its shortest encoding");
  }

  if (is_control(f.opcode)) {
    if (!f.fin) return protocol("fragmented control frame (opcode " + hex_opcode(f.opcode) + ")");
    if (f.payload_length > 125) {
      return protocol("control frame payload of " + std::to_string(f.payload_length) +
                      " bytes (at most 125 allowed)");
    }
    if (f.opcode == ws_opcode::kClose && f.payload_length == 1) {
      return protocol("Close frame with a 1-byte payload");
    }
    return Error();
  }

  if (f.opcode == ws_opcode::kContinuation && !in_message_) {
    return protocol("continuation frame without a message to continue");
  }
  if (f.opcode != ws_opcode::kContinuation && in_message_) {
    return protocol("new data frame inside an unfinished fragmented message");
  }
  const uint64_t so_far = f.opcode == ws_opcode::kContinuation ? message_bytes_ : 0;
  if (f.payload_length > max_message_ || so_far > max_message_ - f.payload_length) {
    return Error(Errc::too_large,
                 "WebSocket: message of at least " + std::to_string(so_far + f.payload_length) +
                     " bytes exceeds the limit of " + std::to_string(max_message_));
  }
  message_bytes_ = so_far + f.payload_length;
  in_message_ = !f.fin;
  if (f.fin) message_bytes_ = 0;
  return Error();
}

}  // namespace pvb
