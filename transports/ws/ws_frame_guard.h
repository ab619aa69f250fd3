// Frame-header parsing and RFC 6455 admission rules, shared by the codecs. wslay notices most of
// these violations too, but it reacts by silently queueing a Close and disabling reads, which
// tells us nothing about what went wrong; checking each header before wslay sees it gives every
// violation its own clear error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "transports/ws/ws_codec.h"

namespace pvb {

struct WsFrameHeader {
  WsFrameInfo info;
  size_t header_length;  // 2..14 bytes, mask key included
  bool minimal_length;   // the length used the shortest encoding, as RFC 6455 requires
};

// Parses the frame header at the front of `in` without consuming it; nullopt until the whole
// header has arrived.
std::optional<WsFrameHeader> peek_ws_frame_header(const ByteChain& in);

class WsFrameGuard {
 public:
  // `peer_role` is the role of the endpoint that sent the frames being checked.
  WsFrameGuard(WsRole peer_role, uint64_t max_message)
      : peer_role_(peer_role), max_message_(max_message) {}

  // Checks one header against RFC 6455 and the current message (continuations, size limit) and
  // records it. Errc::protocol for violations, Errc::too_large past max_message.
  Error admit(const WsFrameHeader& header);

 private:
  WsRole peer_role_;
  uint64_t max_message_;
  bool in_message_ = false;     // a fragmented text/binary message is waiting for its last frame
  uint64_t message_bytes_ = 0;  // payload bytes of that message so far
};

}  // namespace pvb
