// The client side of Proxmox's termproxy protocol (PROTOCOL.md section 6), with no I/O: what the
// client sends (the login line, input, resize, keepalive) and the one thing it must parse before
// the raw terminal output starts (the server's "OK").
//
//   client -> "<user>:<ticket>\n"            once, first
//   server -> "OK"                           2 bytes, within 10 s; anything else: refused
//   server -> raw terminal output ...        (in the same frame as OK or later ones)
//   client -> "0:<byte length>:<bytes>"      input (the length counts bytes, not characters)
//   client -> "1:<cols>:<rows>:"             the terminal's size, columns first
//   client -> "2"                            keepalive (ignored by the server)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/byte_chain.h"

namespace pvb {

// Input bytes per "0:" message: small enough for any termproxy read buffer.
inline constexpr size_t kTermproxyMaxInputChunk = 4096;
inline constexpr std::string_view kTermproxyKeepalive = "2";

// "<user>:<ticket>\n" (holds the ticket: wipe it after use).
std::string termproxy_login_message(std::string_view user, std::string_view ticket);
// Appends `bytes` to `out` as input messages ("0:<n>:<bytes>", at most kTermproxyMaxInputChunk
// bytes each). Empty input appends nothing.
void termproxy_append_input(ByteChain& out, std::span<const uint8_t> bytes);
void termproxy_append_input(ByteChain& out, ByteChain& bytes);  // drains `bytes`
// "1:<cols>:<rows>:"
std::string termproxy_resize_message(unsigned cols, unsigned rows);

// Waits for the server's "OK" at the start of the stream.
class TermproxyOkWaiter {
 public:
  enum class State { waiting, ok, refused };

  // Consumes the "OK" from the front of `in` once both bytes are there (the rest of `in`, if any,
  // is terminal output for the caller). Bytes that cannot begin "OK" make the state `refused`
  // (they are left in `in`, for the error message).
  State feed(ByteChain& in);
  State state() const { return state_; }

 private:
  State state_ = State::waiting;
};

}  // namespace pvb
