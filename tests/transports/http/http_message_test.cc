#include "transports/http/http_message.h"

#include <gtest/gtest.h>

#include <string>

namespace pvb {
namespace {

// A chain whose bytes sit in several slices (one per piece), as a socket would deliver them.
ByteChain chain_of(std::initializer_list<std::string_view> pieces) {
  ByteChain out;
  for (std::string_view p : pieces) {
    ByteChain part(p);
    out.move_from(part);
  }
  return out;
}

TEST(HttpHeaders, CaseInsensitiveAndMultipleValues) {
  HttpHeaders h;
  h.add("Set-Cookie", "a=1");
  h.add("content-type", "application/json");
  h.add("SET-COOKIE", "b=2");
  EXPECT_EQ(h.get("Content-Type").value(), "application/json");
  EXPECT_EQ(h.get("set-cookie").value(), "a=1");
  auto all = h.get_all("Set-Cookie");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1], "b=2");
  EXPECT_FALSE(h.get("Missing").has_value());
  h.remove("set-cookie");
  EXPECT_TRUE(h.get_all("Set-Cookie").empty());
  EXPECT_EQ(h.fields().size(), 1u);
}

TEST(HttpHeaders, HasTokenSplitsCommaLists) {
  HttpHeaders h;
  h.add("Connection", "keep-alive ,  Upgrade");
  h.add("connection", "TE");
  EXPECT_TRUE(h.has_token("Connection", "upgrade"));
  EXPECT_TRUE(h.has_token("CONNECTION", "te"));
  EXPECT_TRUE(h.has_token("Connection", "Keep-Alive"));
  EXPECT_FALSE(h.has_token("Connection", "close"));
  EXPECT_FALSE(h.has_token("Connection", "Upgrad"));
  EXPECT_FALSE(h.has_token("Upgrade", "websocket"));
}

TEST(ResponseHead, ParsesStatusReasonAndHeaders) {
  ByteChain in(
      "HTTP/1.1 500 VM 101 not running\r\n"
      "Content-Length: 13\r\n"
      "X-Empty:\r\n"
      "Cache-Control:  max-age=0 \t\r\n"
      "\r\n"
      "{\"data\":null}");
  auto r = parse_response_head(in, HttpLimits{});
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_TRUE(r->has_value());
  const HttpResponseHead& h = **r;
  EXPECT_EQ(h.minor_version, 1);
  EXPECT_EQ(h.status, 500);
  EXPECT_EQ(h.reason, "VM 101 not running");
  EXPECT_EQ(h.headers.get("content-length").value(), "13");
  EXPECT_EQ(h.headers.get("x-empty").value(), "");
  EXPECT_EQ(h.headers.get("cache-control").value(), "max-age=0");
  EXPECT_EQ(in.to_string(), "{\"data\":null}");  // the body is left in place
}

TEST(ResponseHead, EmptyAndMissingReasonAndHttp10) {
  ByteChain a("HTTP/1.0 204\r\n\r\n");
  auto r = parse_response_head(a, HttpLimits{});
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->minor_version, 0);
  EXPECT_EQ((*r)->status, 204);
  EXPECT_EQ((*r)->reason, "");
  ByteChain b("HTTP/1.1 200 \r\n\r\n");
  auto r2 = parse_response_head(b, HttpLimits{});
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->reason, "");
  ByteChain c("HTTP/1.1 401 authentication failure\xc3\xa9\r\n\r\n");
  auto r3 = parse_response_head(c, HttpLimits{});
  ASSERT_TRUE(r3.ok() && r3->has_value());
  EXPECT_EQ((*r3)->reason, "authentication failure\xc3\xa9");
}

TEST(ResponseHead, NeedsMoreAtEverySplitPoint) {
  const std::string full =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n";
  for (size_t k = 0; k < full.size(); ++k) {
    ByteChain in = chain_of({full.substr(0, k / 2), full.substr(k / 2, k - k / 2)});
    auto r = parse_response_head(in, HttpLimits{});
    ASSERT_TRUE(r.ok()) << "prefix " << k << ": " << r.error().message();
    EXPECT_FALSE(r->has_value()) << "prefix " << k;
    EXPECT_EQ(in.size(), k) << "nothing drained at prefix " << k;
  }
  // And complete when split at every point across two slices.
  for (size_t k = 0; k <= full.size(); ++k) {
    ByteChain in = chain_of({full.substr(0, k), full.substr(k), "{}"});
    auto r = parse_response_head(in, HttpLimits{});
    ASSERT_TRUE(r.ok() && r->has_value()) << "split " << k;
    EXPECT_EQ((*r)->headers.get("content-length").value(), "2");
    EXPECT_EQ(in.to_string(), "{}");
  }
}

Error response_error(std::string_view text, HttpLimits limits = {}) {
  ByteChain in(text);
  auto r = parse_response_head(in, limits);
  if (r.ok()) return Error();
  return r.error();
}

TEST(ResponseHead, MalformedInputsAreProtocolErrors) {
  const char* bad[] = {
      "HTTP/1.1 20 OK\r\n\r\n",                      // two-digit status
      "HTTP/1.1 2000 OK\r\n\r\n",                    // four digits
      "HTTP/1.1 abc OK\r\n\r\n",                     // not a number
      "HTTP/1.1 099 OK\r\n\r\n",                     // leading zero
      "HTTP/2.0 200 OK\r\n\r\n",                     // not HTTP/1.x
      "HTTP/1.1  200 OK\r\n\r\n",                    // two spaces
      "HTTP/1.1\r\n\r\n",                            // no status
      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",      // space in the field name
      "HTTP/1.1 200 OK\r\nName : x\r\n\r\n",         // space before the colon
      "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",          // missing colon
      "HTTP/1.1 200 OK\r\n: x\r\n\r\n",              // empty name
      "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",  // obs-fold
      "HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n",         // control character in a value
      "HTTP/1.1 200 O\x7fK\r\n\r\n",                 // control character in the reason
      "HTTP/1.1 200 OK\nA: b\r\n\r\n",               // bare LF
      "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",          // bare CR
      "http/1.1 200 OK\r\n\r\n",                     // lowercase protocol name
      "SSH-2.0-OpenSSH\r\n",                         // not HTTP, and incomplete: fails at once
      "\x15\x03\x03\x00\x02",                        // a TLS alert
  };
  for (const char* text : bad) {
    Error e = response_error(text);
    EXPECT_EQ(e.code(), Errc::protocol) << "input: " << text;
  }
}

TEST(ResponseHead, BareLineFeedFailsBeforeTheHeadIsComplete) {
  EXPECT_EQ(response_error("HTTP/1.1 200 OK\n").code(), Errc::protocol);
}

TEST(ResponseHead, TooLongHeadIsTooLargeBeforeBufferingMore) {
  HttpLimits limits;
  limits.max_head_bytes = 64;
  // No terminator yet, but the limit is already reached: fail now rather than wait.
  std::string text = "HTTP/1.1 200 OK\r\nX-Long: " + std::string(60, 'a');
  Error e = response_error(text, limits);
  EXPECT_EQ(e.code(), Errc::too_large);
  EXPECT_EQ(e.detail(), "response header too large (over 64 bytes)");
  // Exactly at the limit is fine.
  std::string fits = "HTTP/1.1 200 OK\r\nX: " + std::string(64 - 24, 'a') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), 64u);
  EXPECT_TRUE(response_error(fits, limits).ok());
  EXPECT_EQ(response_error(fits + "", HttpLimits{}).code(), Errc::ok);
  // The default message names the default limit.
  std::string huge = "HTTP/1.1 200 OK\r\nX: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(response_error(huge).detail(), "response header too large (over 16384 bytes)");
}

TEST(ResponseHead, TooManyHeaderLines) {
  HttpLimits limits;
  limits.max_header_lines = 3;
  std::string ok = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  EXPECT_TRUE(response_error(ok, limits).ok());
  std::string many = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n";  // incomplete
  EXPECT_EQ(response_error(many, limits).code(), Errc::too_large);
}

TEST(ResponseHead, ResumableScanMatchesOneShotParse) {
  const std::string full = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\nbody";
  HttpHeadProgress progress;
  ByteChain in;
  std::optional<HttpResponseHead> head;
  for (char c : full) {
    ByteChain one(std::string_view(&c, 1));
    in.move_from(one);
    auto r = parse_response_head(in, HttpLimits{}, progress);
    ASSERT_TRUE(r.ok());
    if (r->has_value()) {
      head = std::move(**r);
      break;
    }
    EXPECT_EQ(progress.scanned, in.size());  // each byte examined once
  }
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->headers.get("b").value(), "2");
  EXPECT_EQ(progress.scanned, 0u);  // reset for the next head
  EXPECT_TRUE(in.empty());          // "body" was never fed: the loop stopped at the head

  // The byte-by-byte scan fails exactly where the one-shot scan does.
  HttpLimits limits;
  limits.max_head_bytes = 40;
  HttpHeadProgress p2;
  ByteChain in2;
  std::string text = "HTTP/1.1 200 OK\r\nX: " + std::string(100, 'a');
  size_t fed = 0;
  Error error;
  for (char c : text) {
    ByteChain one(std::string_view(&c, 1));
    in2.move_from(one);
    ++fed;
    auto r = parse_response_head(in2, limits, p2);
    if (!r.ok()) {
      error = r.error();
      break;
    }
  }
  EXPECT_EQ(error.code(), Errc::too_large);
  EXPECT_EQ(fed, 41u);
}

TEST(RequestHead, ParsesAndLeavesFollowingBytes) {
  ByteChain in(
      "GET /api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=PVE%3A HTTP/1.1\r\n"
      "Host: pve1:8006\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "\r\n"
      "\x82\x85");
  auto r = parse_request_head(in, HttpLimits{});
  ASSERT_TRUE(r.ok() && r->has_value());
  const HttpRequestHead& h = **r;
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=PVE%3A");
  EXPECT_EQ(h.minor_version, 1);
  EXPECT_TRUE(h.headers.has_token("connection", "upgrade"));
  EXPECT_EQ(in.to_string(), "\x82\x85");
}

TEST(RequestHead, NeedsMoreAtEveryPrefix) {
  const std::string full = "POST /access/ticket HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
  for (size_t k = 0; k < full.size(); ++k) {
    ByteChain in(full.substr(0, k));
    auto r = parse_request_head(in, HttpLimits{});
    ASSERT_TRUE(r.ok()) << "prefix " << k;
    EXPECT_FALSE(r->has_value());
    EXPECT_EQ(in.size(), k);
  }
}

TEST(RequestHead, MalformedRequestLines) {
  const char* bad[] = {
      "GET /\r\n\r\n",                      // no version
      "GET  / HTTP/1.1\r\n\r\n",            // empty target
      "GET / HTTP/1.1 \r\n\r\n",            // trailing space
      "G(T / HTTP/1.1\r\n\r\n",             // method not a token
      "GET / HTTP/2\r\n\r\n",               // version
      "GET /a\x01 HTTP/1.1\r\n\r\n",        // control in target
      "GET / HTTP/1.1\r\nA\tB: x\r\n\r\n",  // bad field name
      "\r\n\r\n",                           // empty request line
  };
  for (const char* text : bad) {
    ByteChain in(text);
    auto r = parse_request_head(in, HttpLimits{});
    ASSERT_FALSE(r.ok()) << "input: " << text;
    EXPECT_EQ(r.error().code(), Errc::protocol) << "input: " << text;
  }
  HttpLimits small;
  small.max_head_bytes = 32;
  ByteChain big("GET /" + std::string(100, 'x'));
  auto r = parse_request_head(big, small);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().detail(), "request header too large (over 32 bytes)");
}

TEST(WriteHead, RequestAndResponseRoundTrip) {
  HttpRequestHead req;
  req.method = "POST";
  req.target = "/api2/json/access/ticket";
  req.headers.add("Host", "pve1:8006");
  req.headers.add("Content-Length", "0");
  ByteChain out;
  write_request_head(req, out);
  EXPECT_EQ(out.to_string(),
            "POST /api2/json/access/ticket HTTP/1.1\r\nHost: pve1:8006\r\nContent-Length: "
            "0\r\n\r\n");
  auto back = parse_request_head(out, HttpLimits{});
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->target, req.target);
  EXPECT_EQ((*back)->headers.fields(), req.headers.fields());
  EXPECT_TRUE(out.empty());

  HttpResponseHead resp;
  resp.status = 404;
  resp.headers.add("Content-Length", "0");
  write_response_head(resp, out);
  EXPECT_EQ(out.to_string(), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  resp.reason = "VM 101 not running";
  resp.status = 500;
  out.clear();
  write_response_head(resp, out);
  auto r = parse_response_head(out, HttpLimits{});
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->reason, "VM 101 not running");
}

TEST(WriteHead, NeverSplitsTheHeadOnInjectedLineBreaks) {
  HttpRequestHead req;
  req.method = "GET";
  req.target = "/";
  req.headers.add("Cookie", "PVEAuthCookie=x\r\nInjected: yes");
  ByteChain out;
  write_request_head(req, out);
  auto r = parse_request_head(out, HttpLimits{});
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_FALSE((*r)->headers.get("Injected").has_value());
  EXPECT_EQ((*r)->headers.fields().size(), 1u);
}

TEST(WriteHead, WritingCountsNoPayloadCopies) {
  CopyStats before = copy_stats();
  HttpResponseHead resp;
  resp.status = 200;
  ByteChain out;
  write_response_head(resp, out);
  EXPECT_EQ(copy_stats().bytes, before.bytes);
}

TEST(DefaultReason, KnownAndUnknown) {
  EXPECT_EQ(default_reason(101), "Switching Protocols");
  EXPECT_EQ(default_reason(200), "OK");
  EXPECT_EQ(default_reason(401), "Unauthorized");
  EXPECT_EQ(default_reason(599), "Unknown");
}

}  // namespace
}  // namespace pvb
