#include "engine/terminal/escape_filter.h"

#include "engine/core/text.h"

namespace pvb {

EscapeResult EscapeFilter::feed(std::span<const uint8_t> in, std::string& out) {
  EscapeResult r;
  for (uint8_t b : in) {
    if (!escape_) {
      out.push_back(static_cast<char>(b));
      continue;
    }
    if (held_) {
      held_ = false;
      if (b == '.') {
        r.disconnect = true;
        return r;
      }
      if (b == '?') {
        ++r.help;
        line_start_ = true;  // as in ssh: another escape may follow at once
        continue;
      }
      if (b == *escape_) {
        out.push_back(static_cast<char>(b));
        line_start_ = false;
        continue;
      }
      // Not an escape after all: both bytes go through.
      out.push_back(static_cast<char>(*escape_));
      // fall through to handle b as an ordinary byte
    } else if (line_start_ && b == *escape_) {
      held_ = true;
      continue;
    }
    out.push_back(static_cast<char>(b));
    line_start_ = b == '\r' || b == '\n';
  }
  return r;
}

static std::string show(uint8_t c) {
  if (c < 0x20) return std::string("^") + static_cast<char>(c + '@');
  if (c == 0x7f) return "^?";
  return std::string(1, static_cast<char>(c));
}

std::string escape_help_text(uint8_t c) {
  std::string e = show(c);
  return "\r\nSupported escape sequences:\r\n " + e + ".   - end the session\r\n " + e +
         "?   - this message\r\n " + e + e +
         "  - send the escape character by typing it twice\r\n"
         "(Note that escapes are only recognized immediately after newline.)\r\n";
}

Result<std::optional<uint8_t>> parse_escape_char(std::string_view text) {
  if (text == "none") return std::optional<uint8_t>();
  if (text.size() == 1 && static_cast<uint8_t>(text[0]) < 0x80) {
    return std::optional<uint8_t>(static_cast<uint8_t>(text[0]));
  }
  if (text.size() == 2 && text[0] == '^') {
    char c = text[1];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c >= '@' && c <= '_') return std::optional<uint8_t>(static_cast<uint8_t>(c - '@'));
    if (c == '?') return std::optional<uint8_t>(uint8_t{0x7f});
  }
  return Error(Errc::usage, "--escape: expected one ASCII character, ^X, or none; got '" +
                                printable(text, 16) + "'");
}

}  // namespace pvb
