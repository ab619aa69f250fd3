// Small text helpers shared by every layer that writes user-facing text or files others parse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pvb {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 if it is invalid
// (overlong forms, surrogates, values past U+10FFFF, truncated sequences).
size_t utf8_sequence_length(std::string_view s, size_t i);
// s with every invalid UTF-8 byte replaced by U+FFFD.
std::string valid_utf8(std::string_view s);
// s made safe to quote in a one-line message: invalid UTF-8 and control characters become '?',
// and it is cut to max bytes (with "..." appended).
std::string printable(std::string_view s, size_t max = 80);

// ASCII case-insensitive comparison (HTTP field names, host names, tokens).
char ascii_lower(char c);
bool ascii_iequals(std::string_view a, std::string_view b);
// s without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim_blanks(std::string_view s);

}  // namespace pvb
