// ssh's escape sequences for a terminal console, as a state machine over the keyboard's bytes (no
// I/O). The escape character (default '~') is special only at the start of a line (the first byte
// of the session, or right after Enter: CR or LF):
//   ~.  ends the session           ~?  lists the escapes (shown locally)
//   ~~  sends one '~'               ~ followed by anything else sends both bytes
// A held escape character waits for the next byte, however long that takes (like ssh).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/error.h"

namespace pvb {

struct EscapeResult {
  bool disconnect = false;  // ~. seen: bytes after it were dropped
  int help = 0;             // how many times ~? was typed
};

class EscapeFilter {
 public:
  // nullopt: no escape character (--escape none): every byte passes.
  explicit EscapeFilter(std::optional<uint8_t> escape = '~') : escape_(escape) {}

  // Appends the bytes to send to `out`.
  EscapeResult feed(std::span<const uint8_t> in, std::string& out);

  bool holding() const { return held_; }
  std::optional<uint8_t> escape() const { return escape_; }

 private:
  std::optional<uint8_t> escape_;
  bool line_start_ = true;
  bool held_ = false;  // an escape character at a line start, waiting for the next byte
};

// The text ~? shows (CR LF line ends: the terminal is in raw mode), for escape character `c`.
std::string escape_help_text(uint8_t c);

// "--escape" values: one character ("~", "^]" for a control character), or "none".
Result<std::optional<uint8_t>> parse_escape_char(std::string_view text);

}  // namespace pvb
