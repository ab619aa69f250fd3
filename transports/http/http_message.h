// HTTP/1.1 message heads and the head parsers: no I/O, driven with plain bytes, so tests and
// fuzzers feed them anything. Shared by the RestClient, the WebSocket handshake and the mock
// pveproxy's server side.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/io/http_exchange.h"

namespace pvb {

struct HttpLimits {
  size_t max_head_bytes = 16 * 1024;  // request/status line + headers + blank line
  size_t max_header_lines = 100;
  size_t max_body_bytes = 32 * 1024 * 1024;  // 10,000 guests of cluster/resources fit easily
};

struct HttpResponseHead {
  int minor_version = 1;  // HTTP/1.<minor>
  int status = 0;
  std::string reason;
  HttpHeaders headers;
};

struct HttpRequestHead {
  int minor_version = 1;
  std::string method;
  std::string target;  // origin-form: /path?query
  HttpHeaders headers;
};

// Parse a complete head from the front of `in`. On success the head's bytes (through the blank
// line) are drained from `in` and the head returned; nullopt means "need more bytes" (nothing is
// drained); an Error (Errc::protocol or Errc::too_large) means the input can never be valid.
Result<std::optional<HttpResponseHead>> parse_response_head(ByteChain& in,
                                                            const HttpLimits& limits);
Result<std::optional<HttpRequestHead>> parse_request_head(ByteChain& in, const HttpLimits& limits);

// Resumable forms for incremental parsers: `progress` remembers how far the head was already
// scanned, so a head arriving a byte at a time costs O(size), not O(size^2). Pass the same
// progress with the same input (only appended to) until a head or an error comes back; it is
// reset when a head is returned.
struct HttpHeadProgress {
  size_t scanned = 0;     // bytes from the front of the input already examined
  size_t lines = 0;       // complete lines among them
  size_t line_bytes = 0;  // bytes of the current, unfinished line
  bool after_cr = false;  // the last byte examined was a CR
};
Result<std::optional<HttpResponseHead>> parse_response_head(ByteChain& in, const HttpLimits& limits,
                                                            HttpHeadProgress& progress);
Result<std::optional<HttpRequestHead>> parse_request_head(ByteChain& in, const HttpLimits& limits,
                                                          HttpHeadProgress& progress);

// Serialize a head (status line / request line, headers, blank line) onto out.
void write_request_head(const HttpRequestHead& head, ByteChain& out);
void write_response_head(const HttpResponseHead& head, ByteChain& out);

// The standard reason phrase for a status code ("Not Found"), or "Unknown".
std::string_view default_reason(int status);

}  // namespace pvb
