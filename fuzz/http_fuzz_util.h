// Pieces shared by fuzz_http_response and fuzz_http_request: the limits a run uses, what one run
// of a parser produced (so a run fed in chunks can be compared with a run fed at once), and the
// checks made after each complete message.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "fuzz/fuzz_support.h"
#include "transports/http/http_message.h"

namespace pvb::fuzz {

// Flag bit 0 picks small limits, so the fuzzer reaches every limit with short inputs; otherwise
// the production defaults.
inline HttpLimits limits_for(uint8_t flags) {
  if ((flags & 1) == 0) return HttpLimits{};
  return HttpLimits{.max_head_bytes = 600, .max_header_lines = 8, .max_body_bytes = 300};
}

// Large enough for any head the parser accepted under any limits, re-serialized.
inline HttpLimits roomy_limits() {
  return HttpLimits{.max_head_bytes = 1 << 20, .max_header_lines = 1 << 16, .max_body_bytes = 0};
}

struct ParsedMessage {
  std::string start_line;  // "200 1 OK" / "GET /x 1": whatever identifies the head
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = false;
  bool operator==(const ParsedMessage&) const = default;
};

// Everything a run observed. leftover = the input not consumed when parsing stopped (what is
// buffered plus what was never fed), so runs with different cuts are comparable.
struct ParseRun {
  std::vector<ParsedMessage> messages;
  Errc error = Errc::ok;
  std::string error_detail;
  std::string leftover;
};

inline std::string describe(const ParseRun& run) {
  std::string s = std::to_string(run.messages.size()) + " messages, error " + errc_name(run.error) +
                  " '" + printable(run.error_detail) + "', leftover '" + printable(run.leftover) +
                  "'";
  for (const ParsedMessage& m : run.messages) {
    s += "\n    [" + printable(m.start_line) + "] " + std::to_string(m.headers.size()) +
         " headers, body '" + printable(m.body) + "'";
  }
  return s;
}

// The parser only ever drains from the front of its input: what is left must be exactly the end
// of what was fed, and it can only shrink relative to the fed total.
inline void check_leftover_is_suffix(const std::string& fed, const ByteChain& in) {
  FUZZ_CHECK(in.size() <= fed.size(),
             "input grew: " + std::to_string(in.size()) + " > fed " + std::to_string(fed.size()));
  FUZZ_CHECK(chain_string(in) == std::string_view(fed).substr(fed.size() - in.size()),
             "leftover is not the unconsumed suffix of the input");
}

// Errors carry an error code and one line of text.
inline void check_parse_error(const Error& e) {
  FUZZ_CHECK(e.code() == Errc::protocol || e.code() == Errc::too_large ||
                 e.code() == Errc::connection_lost,
             std::string("unexpected error code ") + errc_name(e.code()));
  FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
}

}  // namespace pvb::fuzz
