// HTTP/1.1 message body framing (RFC 9112 section 6) and a zero-copy body decoder. No I/O.
//
// The decoder moves body bytes out of the input chain into the caller's chain (ByteChain::move_from
// with a count: slices are shared, never copied) and consumes the framing around them (chunk-size
// lines, chunk CRLFs, trailers). It stops exactly at the end of the body, so whatever follows
// (the next pipelined message) stays in the input.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "transports/http/http_message.h"

namespace pvb {

struct BodyFraming {
  enum class Kind {
    none,         // no body at all (HEAD, 1xx, 204, 304, a request without length)
    length,       // Content-Length bytes
    chunked,      // Transfer-Encoding: chunked
    until_close,  // a response delimited by the end of the connection
  };
  Kind kind = Kind::none;
  uint64_t length = 0;  // for Kind::length
  // The message must not be followed by another on this connection: a body read until close, or
  // both Transfer-Encoding and Content-Length present (a smuggling hint; RFC 9112 section 6.3).
  bool forces_close = false;
};

// How the body of a response to `request_method` is delimited. Errors (Errc::protocol) for an
// invalid Content-Length (not digits, overflow, conflicting values) or a transfer coding other
// than chunked.
Result<BodyFraming> response_body_framing(const HttpResponseHead& head,
                                          std::string_view request_method);
// Same for a request: chunked, Content-Length, or no body.
Result<BodyFraming> request_body_framing(const HttpRequestHead& head);

class HttpBodyDecoder {
 public:
  // Longest chunk-size line (size, extensions, CRLF) and trailer line accepted.
  static constexpr size_t kMaxChunkLineBytes = 4096;
  // Total trailer section bytes accepted (trailers are read and dropped).
  static constexpr size_t kMaxTrailerBytes = 16 * 1024;

  HttpBodyDecoder() = default;
  HttpBodyDecoder(BodyFraming framing, uint64_t max_body_bytes);

  // Moves body bytes from `in` to the end of `body` and consumes framing, up to the end of the
  // body. Errors: Errc::protocol (malformed chunk framing), Errc::too_large (body over the limit,
  // chunk-size or trailer line too long). After an error the decoder stays failed.
  Error decode(ByteChain& in, ByteChain& body);
  // The connection ended: completes a body read until close; anything else still unfinished is
  // Errc::connection_lost.
  Error finish_at_end_of_stream();

  bool done() const { return state_ == State::done; }
  uint64_t body_bytes() const { return body_bytes_; }
  const BodyFraming& framing() const { return framing_; }

 private:
  enum class State { size_line, data, data_crlf, trailers, raw, done, failed };
  Error fail(Error e);
  Error add_body_bytes(uint64_t n);  // checks the limit before any byte is accepted
  Error read_size_line(ByteChain& in, bool& progressed);
  Error read_trailer_line(ByteChain& in, bool& progressed);

  BodyFraming framing_;
  uint64_t max_body_bytes_ = 0;
  State state_ = State::done;
  uint64_t body_bytes_ = 0;
  uint64_t remaining_ = 0;  // in the current chunk, or of the Content-Length
  size_t trailer_bytes_ = 0;
  Error error_;  // why the decoder failed, repeated by every later decode()
};

}  // namespace pvb
