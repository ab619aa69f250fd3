// Incremental HTTP/1.1 message parsers over ByteChain input, no I/O: HttpResponseParser for the
// client side (RestClient, the WebSocket handshake) and HttpRequestParser for the server side
// (the mock pveproxy).
//
// Usage: feed() the transport's receive buffer whenever bytes arrive. The parser takes the head,
// then moves body bytes (zero-copy) onto the caller's `body` chain, and stops at the end of the
// message: bytes after it (a pipelined request, WebSocket frames after a 101 or an upgrade request)
// are left in the input for whoever reads next. After `complete`, call reset() to parse the next
// message on the same connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "transports/http/http_body.h"
#include "transports/http/http_message.h"

namespace pvb {

enum class HttpParseState {
  head,      // waiting for (the rest of) the head
  body,      // head() is available; more body bytes are to come
  complete,  // the whole message has been read
};

class HttpResponseParser {
 public:
  explicit HttpResponseParser(HttpLimits limits = {});

  // Prepares for the response to a request made with `request_method` (a HEAD response has no
  // body). The constructor prepares for a GET.
  void reset(std::string_view request_method = "GET");

  // Interim 1xx responses (100 Continue, 103 Early Hints) are read and skipped; a 101 Switching
  // Protocols completes the message at once. Errors are final: the parser stays failed.
  Result<HttpParseState> feed(ByteChain& in, ByteChain& body);
  // The connection ended (end_stream). Completes a body delimited by the close; otherwise a
  // message that is not complete is Errc::connection_lost.
  Result<HttpParseState> finish();

  HttpParseState state() const { return state_; }
  bool has_head() const { return state_ != HttpParseState::head; }
  const HttpResponseHead& head() const { return head_; }
  // Whether another request may follow on this connection after this response (HTTP/1.1 unless
  // "Connection: close", HTTP/1.0 only with "Connection: keep-alive", never after a body read
  // until close, an ambiguous framing, or a 101). Meaningful once the head is in.
  bool keep_alive() const { return keep_alive_; }
  uint64_t body_bytes() const { return body_.body_bytes(); }

 private:
  Result<HttpParseState> failed(Error e);

  HttpLimits limits_;
  std::string request_method_ = "GET";
  HttpParseState state_ = HttpParseState::head;
  HttpResponseHead head_;
  HttpHeadProgress head_progress_;
  HttpBodyDecoder body_;
  bool keep_alive_ = false;
  Error error_;
};

class HttpRequestParser {
 public:
  explicit HttpRequestParser(HttpLimits limits = {});

  // Prepares for the next request on the same connection.
  void reset();

  Result<HttpParseState> feed(ByteChain& in, ByteChain& body);
  // The connection ended. ok when it ended between requests (nothing of a new one in `unparsed`),
  // Errc::connection_lost in the middle of a request.
  Error finish(const ByteChain& unparsed);

  HttpParseState state() const { return state_; }
  bool has_head() const { return state_ != HttpParseState::head; }
  const HttpRequestHead& head() const { return head_; }
  // Whether the client lets the connection carry another request after the response.
  bool keep_alive() const { return keep_alive_; }
  // "Connection: upgrade" with an "Upgrade" field: the bytes after this request's head belong to
  // the new protocol and are left in the input.
  bool upgrade_requested() const { return upgrade_; }
  uint64_t body_bytes() const { return body_.body_bytes(); }

 private:
  Result<HttpParseState> failed(Error e);

  HttpLimits limits_;
  HttpParseState state_ = HttpParseState::head;
  HttpRequestHead head_;
  HttpHeadProgress head_progress_;
  HttpBodyDecoder body_;
  bool keep_alive_ = false;
  bool upgrade_ = false;
  Error error_;
};

// Whether a connection may be kept after a message with this version and headers (RFC 9112
// section 9.3): HTTP/1.1 unless "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
bool http_keep_alive(int minor_version, const HttpHeaders& headers);

}  // namespace pvb
