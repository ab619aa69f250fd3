#include "transports/http/http_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace pvb {
namespace {

struct Parsed {
  Result<HttpParseState> state = HttpParseState::head;
  std::string body;
  std::string left;  // input bytes after the message
};

// Feeds `text` to a fresh response parser in pieces of `step` bytes (0: all at once), the way a
// transport would: unconsumed bytes stay in the buffer and newer bytes are appended behind them.
Parsed parse_response(std::string_view text, size_t step = 0, std::string_view method = "GET",
                      HttpLimits limits = {}) {
  HttpResponseParser p(limits);
  p.reset(method);
  Parsed out;
  ByteChain in, body;
  if (step == 0) step = text.size() + 1;
  for (size_t pos = 0; pos < text.size() || pos == 0; pos += step) {
    ByteChain piece(text.substr(pos, step));
    in.move_from(piece);
    out.state = p.feed(in, body);
    if (!out.state.ok() || *out.state == HttpParseState::complete) break;
  }
  out.body = body.to_string();
  out.left = in.to_string();
  return out;
}

const std::string kChunked =
    "HTTP/1.1 200 OK\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;name=value;quoted=\"a b\"\r\n"
    "{\"dat\r\n"
    "A \t; ext\r\n"
    "a\":[1,2,3]\r\n"
    "1\r\n"
    "}\r\n"
    "0\r\n"
    "X-Trailer: yes\r\n"
    "Other: 1\r\n"
    "\r\n";
const std::string kChunkedBody = "{\"data\":[1,2,3]}";

TEST(ResponseParser, ContentLengthExactLeavesTheRest) {
  Parsed r = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1");
  ASSERT_TRUE(r.state.ok());
  EXPECT_EQ(*r.state, HttpParseState::complete);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.left, "HTTP/1.1");
}

TEST(ResponseParser, ContentLengthBodyIsMovedNotCopied) {
  HttpResponseParser p;
  ByteChain in("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n");
  ByteChain payload(std::string(3000, 'x'));
  in.move_from(payload);
  ByteChain body;
  CopyStats before = copy_stats();
  auto s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, HttpParseState::complete);
  EXPECT_EQ(body.size(), 3000u);
  EXPECT_EQ(copy_stats().bytes, before.bytes);
  EXPECT_EQ(p.body_bytes(), 3000u);
}

TEST(ResponseParser, ChunkedWithExtensionsAndTrailers) {
  for (size_t step : {size_t{0}, size_t{1}, size_t{2}, size_t{7}}) {
    Parsed r = parse_response(kChunked + "NEXT", step);
    ASSERT_TRUE(r.state.ok()) << "step " << step << ": " << r.state.error().message();
    EXPECT_EQ(*r.state, HttpParseState::complete) << "step " << step;
    EXPECT_EQ(r.body, kChunkedBody) << "step " << step;
    // Bytes after the message are never consumed (the feeder stops at complete).
    EXPECT_TRUE(std::string("NEXT").starts_with(r.left)) << "step " << step;
    if (step == 0) {
      EXPECT_EQ(r.left, "NEXT");
    }
  }
}

TEST(ResponseParser, ChunkedCompleteAtEverySplitPoint) {
  for (size_t k = 0; k <= kChunked.size(); ++k) {
    HttpResponseParser p;
    ByteChain in(kChunked.substr(0, k)), body;
    auto s = p.feed(in, body);
    ASSERT_TRUE(s.ok()) << "split " << k;
    if (k < kChunked.size()) {
      EXPECT_NE(*s, HttpParseState::complete) << "split " << k;
    }
    ByteChain rest(kChunked.substr(k));
    in.move_from(rest);
    s = p.feed(in, body);
    ASSERT_TRUE(s.ok()) << "split " << k;
    EXPECT_EQ(*s, HttpParseState::complete) << "split " << k;
    EXPECT_EQ(body.to_string(), kChunkedBody) << "split " << k;
    EXPECT_TRUE(in.empty());
  }
}

TEST(ResponseParser, ChunkedBodyIsMovedNotCopied) {
  HttpResponseParser p;
  ByteChain in("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n");
  ByteChain data(std::string(4096, 'z'));
  in.move_from(data);
  ByteChain tail("\r\n0\r\n\r\n");
  in.move_from(tail);
  ByteChain body;
  CopyStats before = copy_stats();
  auto s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, HttpParseState::complete);
  EXPECT_EQ(body.size(), 4096u);
  EXPECT_EQ(copy_stats().bytes, before.bytes);
}

Error response_error(std::string_view text, HttpLimits limits = {}) {
  Parsed r = parse_response(text, 0, "GET", limits);
  return r.state.ok() ? Error() : r.state.error();
}

TEST(ResponseParser, ChunkFramingErrors) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(response_error(head + "10000000000000000\r\n").code(), Errc::protocol);  // 2^64
  EXPECT_EQ(response_error(head + "FFFFFFFFFFFFFFFF\r\n").code(), Errc::too_large);  // limit
  EXPECT_EQ(response_error(head + "0000000000000000000001\r\nx\r\n0\r\n\r\n").code(), Errc::ok);
  EXPECT_EQ(response_error(head + "xyz\r\n").code(), Errc::protocol);
  EXPECT_EQ(response_error(head + "\r\n").code(), Errc::protocol);     // empty size
  EXPECT_EQ(response_error(head + "5 x\r\n").code(), Errc::protocol);  // junk after the size
  EXPECT_EQ(response_error(head + "-5\r\n").code(), Errc::protocol);
  EXPECT_EQ(response_error(head + "5\nhello").code(), Errc::protocol);       // bare LF
  EXPECT_EQ(response_error(head + "3\r\nabcX\r\n").code(), Errc::protocol);  // no CRLF after data
  EXPECT_EQ(response_error(head + "0\r\nbad trailer\r\n\r\n").code(), Errc::protocol);
  EXPECT_EQ(response_error(head + "1;" + std::string(5000, 'e')).code(), Errc::too_large);
  EXPECT_EQ(response_error(head + "0\r\nX: " + std::string(5000, 't')).code(), Errc::too_large);
  std::string many_trailers = head + "0\r\n";
  for (int i = 0; i < 2000; ++i) many_trailers += "X-T: 1234567890\r\n";
  EXPECT_EQ(response_error(many_trailers).code(), Errc::too_large);
}

TEST(ResponseParser, BodyLimits) {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  // Content-Length over the limit fails at the head, before any body byte.
  Error e = response_error("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", limits);
  EXPECT_EQ(e.code(), Errc::too_large);
  EXPECT_EQ(
      response_error("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", limits).code(),
      Errc::ok);
  // Chunks add up.
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5\r\n01234\r\n6\r\n",
                           limits)
                .code(),
            Errc::too_large);
  // Until close: the bytes up to the limit are delivered, whatever the delivery sizes.
  for (size_t step : {size_t{0}, size_t{1}, size_t{4}}) {
    Parsed r = parse_response("HTTP/1.1 200 OK\r\n\r\n0123456789AB", step, "GET", limits);
    ASSERT_FALSE(r.state.ok());
    EXPECT_EQ(r.state.error().code(), Errc::too_large);
    EXPECT_EQ(r.body, "0123456789") << "step " << step;
  }
}

TEST(ResponseParser, InvalidFramingHeaders) {
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n").code(), Errc::protocol);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").code(), Errc::protocol);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n").code(), Errc::protocol);
  EXPECT_EQ(
      response_error("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n").code(),
      Errc::protocol);
  EXPECT_EQ(
      response_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").code(),
      Errc::protocol);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").code(),
            Errc::protocol);
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n").code(),
            Errc::protocol);
  // Repeated identical lengths are one length.
  Parsed r =
      parse_response("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(r.state.ok());
  EXPECT_EQ(r.body, "ok");
  // Case-insensitive coding name.
  r = parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(r.state.ok());
  EXPECT_EQ(*r.state, HttpParseState::complete);
}

TEST(ResponseParser, UntilCloseCompletesAtEndOfStream) {
  HttpResponseParser p;
  ByteChain in("HTTP/1.0 200 OK\r\n\r\nsome"), body;
  auto s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, HttpParseState::body);
  ByteChain more(" body");
  in.move_from(more);
  s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, HttpParseState::body);
  s = p.finish();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, HttpParseState::complete);
  EXPECT_EQ(body.to_string(), "some body");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, TruncatedBodyAtEndOfStreamIsConnectionLost) {
  HttpResponseParser p;
  ByteChain in("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), body;
  ASSERT_TRUE(p.feed(in, body).ok());
  auto s = p.finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::connection_lost);
  // The failure sticks.
  ByteChain again("defghij");
  EXPECT_FALSE(p.feed(again, body).ok());

  HttpResponseParser q;
  ByteChain partial("HTTP/1.1 200"), b2;
  ASSERT_TRUE(q.feed(partial, b2).ok());
  auto s2 = q.finish();
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().code(), Errc::connection_lost);
}

TEST(ResponseParser, NoBodyForHead204And304) {
  const char* with_length = "Content-Length: 42\r\n\r\nNEXT";
  Parsed r = parse_response(std::string("HTTP/1.1 200 OK\r\n") + with_length, 0, "HEAD");
  ASSERT_TRUE(r.state.ok());
  EXPECT_EQ(*r.state, HttpParseState::complete);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.left, "NEXT");
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    r = parse_response(std::string("HTTP/1.1 ") + status + "\r\n" + with_length);
    ASSERT_TRUE(r.state.ok()) << status;
    EXPECT_EQ(*r.state, HttpParseState::complete) << status;
    EXPECT_EQ(r.left, "NEXT") << status;
  }
}

TEST(ResponseParser, InterimResponsesAreSkipped) {
  Parsed r = parse_response(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      3);
  ASSERT_TRUE(r.state.ok());
  EXPECT_EQ(*r.state, HttpParseState::complete);
  EXPECT_EQ(r.body, "ok");
}

TEST(ResponseParser, SwitchingProtocolsLeavesFramesInPlace) {
  HttpResponseParser p;
  ByteChain in(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Protocol: binary\r\n\r\n\x82\x03RFB"),
      body;
  auto s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, HttpParseState::complete);
  EXPECT_EQ(p.head().status, 101);
  EXPECT_EQ(p.head().headers.get("sec-websocket-protocol").value(), "binary");
  EXPECT_FALSE(p.keep_alive());
  EXPECT_EQ(in.to_string(), "\x82\x03RFB");
  EXPECT_TRUE(body.empty());
  // Complete is sticky until reset: nothing more is consumed.
  s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(in.size(), 5u);
}

TEST(ResponseParser, ErrorStatusWithBodyIsAResponse) {
  Parsed r = parse_response(
      "HTTP/1.1 401 authentication failure\r\nContent-Length: 13\r\n\r\n{\"data\":null}");
  ASSERT_TRUE(r.state.ok());
  EXPECT_EQ(r.body, "{\"data\":null}");
}

bool response_keep_alive(std::string_view text, std::string_view method = "GET") {
  HttpResponseParser p;
  p.reset(method);
  ByteChain in(text), body;
  auto s = p.feed(in, body);
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(p.has_head());
  return p.keep_alive();
}

TEST(ResponseParser, KeepAliveRules) {
  EXPECT_TRUE(response_keep_alive("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(
      response_keep_alive("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(
      response_keep_alive("HTTP/1.1 200 OK\r\nConnection: x, Close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(response_keep_alive("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(response_keep_alive(
      "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(response_keep_alive("HTTP/1.1 200 OK\r\n\r\n"));  // until close
  EXPECT_FALSE(response_keep_alive(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"));
  EXPECT_TRUE(response_keep_alive("HTTP/1.1 204 No Content\r\n\r\n"));
  EXPECT_TRUE(response_keep_alive("HTTP/1.1 200 OK\r\n\r\n", "HEAD"));
}

TEST(ResponseParser, ResetParsesTheNextResponse) {
  HttpResponseParser p;
  ByteChain in(
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
      "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nB"),
      body;
  ASSERT_EQ(*p.feed(in, body), HttpParseState::complete);
  EXPECT_EQ(body.to_string(), "A");
  body.clear();
  p.reset("POST");
  ASSERT_EQ(*p.feed(in, body), HttpParseState::complete);
  EXPECT_EQ(p.head().status, 404);
  EXPECT_EQ(body.to_string(), "B");
  EXPECT_TRUE(in.empty());
}

TEST(RequestParser, PipelinedRequests) {
  HttpRequestParser p;
  ByteChain in(
      "POST /access/ticket HTTP/1.1\r\nContent-Length: 7\r\n\r\nuser=ab"
      "GET /version HTTP/1.1\r\n\r\n"
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"),
      body;
  auto s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(*s, HttpParseState::complete);
  EXPECT_EQ(p.head().method, "POST");
  EXPECT_EQ(body.to_string(), "user=ab");
  EXPECT_TRUE(p.keep_alive());
  EXPECT_FALSE(in.empty());

  body.clear();
  p.reset();
  s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(*s, HttpParseState::complete);
  EXPECT_EQ(p.head().target, "/version");
  EXPECT_TRUE(body.empty());

  p.reset();
  s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(*s, HttpParseState::complete);
  EXPECT_EQ(body.to_string(), "hi");
  EXPECT_TRUE(in.empty());
  EXPECT_TRUE(p.finish(in).ok());
}

TEST(RequestParser, UpgradeLeavesFrameBytes) {
  HttpRequestParser p;
  ByteChain in(
      "GET /vncwebsocket?port=5900 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
      "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n\x82\x81\x01\x02"),
      body;
  auto s = p.feed(in, body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, HttpParseState::complete);
  EXPECT_TRUE(p.upgrade_requested());
  EXPECT_EQ(in.to_string(), "\x82\x81\x01\x02");
}

TEST(RequestParser, RequestKeepAliveAndErrors) {
  HttpRequestParser p;
  ByteChain in("GET / HTTP/1.0\r\n\r\n"), body;
  ASSERT_EQ(*p.feed(in, body), HttpParseState::complete);
  EXPECT_FALSE(p.keep_alive());
  EXPECT_FALSE(p.upgrade_requested());

  HttpRequestParser bad;
  ByteChain te("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
  auto s = bad.feed(te, body);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::protocol);

  HttpLimits limits;
  limits.max_body_bytes = 4;
  HttpRequestParser small(limits);
  ByteChain big("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n12345");
  s = small.feed(big, body);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::too_large);
}

TEST(RequestParser, EndOfStreamBetweenAndInsideRequests) {
  HttpRequestParser p;
  ByteChain empty;
  EXPECT_TRUE(p.finish(empty).ok());
  ByteChain partial("GET / HT"), body;
  ASSERT_TRUE(p.feed(partial, body).ok());
  EXPECT_EQ(p.finish(partial).code(), Errc::connection_lost);

  HttpRequestParser q;
  ByteChain in("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n12");
  ASSERT_EQ(*q.feed(in, body), HttpParseState::body);
  EXPECT_EQ(q.finish(in).code(), Errc::connection_lost);
}

}  // namespace
}  // namespace pvb
