// What a handshake state machine says after being fed: wait for more bytes, finished (the bytes
// left in the input are the first messages of the session), or failed for good.
#pragma once

#include <string>
#include <string_view>

namespace pvb::rfb {

enum class HandshakeStatus { need_more, done, failed };

// A peer's text (a failure reason, a desktop name) made safe for a one-line error: control
// characters and non-ASCII bytes become '?', and it is cut at max_chars.
std::string printable_text(std::string_view text, size_t max_chars = 200);

}  // namespace pvb::rfb
