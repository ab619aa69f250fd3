#include "tests/mock_pveproxy/server/frame_rules.h"

#include <string>

namespace pvb::mock {

size_t ws_header_bytes(const WsFrameInfo& frame) {
  size_t n = 2;
  if (frame.payload_length > 0xFFFF) {
    n += 8;
  } else if (frame.payload_length >= 126) {
    n += 2;
  }
  if (frame.masked) n += 4;
  return n;
}

Error check_client_frame(const WsFrameInfo& frame, const MockOptions& options) {
  if (!frame.masked) return Error(Errc::protocol, "websocket: client frame not masked");
  if (frame.rsv != 0) return Error(Errc::protocol, "websocket: client frame with RSV bits set");
  if (!frame.fin || frame.opcode == ws_opcode::kContinuation) {
    return Error(Errc::protocol, "websocket: fragmented frames are not supported");
  }
  if (size_t max = options.ws_max_payload_bytes(); max != 0 && frame.payload_length > max) {
    return Error(Errc::too_large, "websocket: payload of " + std::to_string(frame.payload_length) +
                                      " bytes exceeds " + std::to_string(max));
  }
  if (size_t max = options.ws_max_frame_bytes(); max != 0) {
    const uint64_t whole = frame.payload_length + ws_header_bytes(frame);
    if (whole > max) {
      return Error(Errc::too_large, "websocket: frame of " + std::to_string(whole) +
                                        " bytes overflows the " + std::to_string(max) +
                                        "-byte read buffer");
    }
  }
  return Error();
}

}  // namespace pvb::mock
