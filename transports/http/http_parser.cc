#include "transports/http/http_parser.h"

namespace pvb {

bool http_keep_alive(int minor_version, const HttpHeaders& headers) {
  if (headers.has_token("Connection", "close")) return false;
  return minor_version >= 1 || headers.has_token("Connection", "keep-alive");
}

// --- HttpResponseParser ------------------------------------------------------------------------

HttpResponseParser::HttpResponseParser(HttpLimits limits) : limits_(limits) {}

void HttpResponseParser::reset(std::string_view request_method) {
  request_method_ = std::string(request_method);
  state_ = HttpParseState::head;
  head_ = HttpResponseHead();
  head_progress_ = HttpHeadProgress();
  body_ = HttpBodyDecoder();
  keep_alive_ = false;
  error_ = Error();
}

Result<HttpParseState> HttpResponseParser::failed(Error e) {
  error_ = e;
  return e;
}

Result<HttpParseState> HttpResponseParser::feed(ByteChain& in, ByteChain& body) {
  if (error_.failed()) return error_;
  while (state_ == HttpParseState::head) {
    auto parsed = parse_response_head(in, limits_, head_progress_);
    if (!parsed.ok()) return failed(parsed.error());
    if (!parsed->has_value()) return state_;
    HttpResponseHead head = std::move(**parsed);
    if (head.status >= 100 && head.status < 200 && head.status != 101) continue;  // interim
    head_ = std::move(head);
    if (head_.status == 101) {
      // The connection now speaks another protocol; what follows the head is not ours.
      keep_alive_ = false;
      state_ = HttpParseState::complete;
      return state_;
    }
    auto framing = response_body_framing(head_, request_method_);
    if (!framing.ok()) return failed(framing.error());
    keep_alive_ = http_keep_alive(head_.minor_version, head_.headers) && !framing->forces_close;
    body_ = HttpBodyDecoder(*framing, limits_.max_body_bytes);
    state_ = HttpParseState::body;
  }
  if (state_ == HttpParseState::body) {
    if (Error e = body_.decode(in, body); e.failed()) return failed(e);
    if (body_.done()) state_ = HttpParseState::complete;
  }
  return state_;
}

Result<HttpParseState> HttpResponseParser::finish() {
  if (error_.failed()) return error_;
  if (state_ == HttpParseState::head) {
    return failed(
        Error(Errc::connection_lost, "connection closed before a complete response head"));
  }
  if (state_ == HttpParseState::body) {
    if (Error e = body_.finish_at_end_of_stream(); e.failed()) return failed(e);
    state_ = HttpParseState::complete;
  }
  return state_;
}

// --- HttpRequestParser -------------------------------------------------------------------------

HttpRequestParser::HttpRequestParser(HttpLimits limits) : limits_(limits) {}

void HttpRequestParser::reset() {
  state_ = HttpParseState::head;
  head_ = HttpRequestHead();
  head_progress_ = HttpHeadProgress();
  body_ = HttpBodyDecoder();
  keep_alive_ = false;
  upgrade_ = false;
  error_ = Error();
}

Result<HttpParseState> HttpRequestParser::failed(Error e) {
  error_ = e;
  return e;
}

Result<HttpParseState> HttpRequestParser::feed(ByteChain& in, ByteChain& body) {
  if (error_.failed()) return error_;
  if (state_ == HttpParseState::head) {
    auto parsed = parse_request_head(in, limits_, head_progress_);
    if (!parsed.ok()) return failed(parsed.error());
    if (!parsed->has_value()) return state_;
    head_ = std::move(**parsed);
    auto framing = request_body_framing(head_);
    if (!framing.ok()) return failed(framing.error());
    keep_alive_ = http_keep_alive(head_.minor_version, head_.headers) && !framing->forces_close;
    upgrade_ = head_.headers.has_token("Connection", "upgrade") &&
               head_.headers.get("Upgrade").has_value();
    body_ = HttpBodyDecoder(*framing, limits_.max_body_bytes);
    state_ = HttpParseState::body;
  }
  if (state_ == HttpParseState::body) {
    if (Error e = body_.decode(in, body); e.failed()) return failed(e);
    if (body_.done()) state_ = HttpParseState::complete;
  }
  return state_;
}

Error HttpRequestParser::finish(const ByteChain& unparsed) {
  if (error_.failed()) return error_;
  if (state_ == HttpParseState::complete) return Error();
  if (state_ == HttpParseState::head && unparsed.empty()) return Error();
  error_ = Error(Errc::connection_lost, "connection closed in the middle of a request");
  return error_;
}

}  // namespace pvb
