// The mock's HTTP side in process, over MemPipes: replies in order with keep-alive and delays,
// pveproxy's request limits, TLS with the generated identity, and the REST-level faults.
#include <gtest/gtest.h>

#include "tests/mock_pveproxy/server/http_connection.h"
#include "tests/mock_pveproxy/server/http_reply.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "transports/tls/tls_transport.h"

namespace pvb::mock::test {
namespace {

const HeaderList kToken = {{"Authorization", token_auth()}};

TEST(HttpConnection, AnswersOverTlsWithTheServersCipherPreference) {
  Harness h(MockOptions{}, /*tls=*/true);
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(http_request("GET", "/api2/json/version", kToken));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return parse_replies(c.data).size() == 1 || c.closed; }));
  EXPECT_TRUE(c.connected);  // the client verified the chain for "localhost"
  EXPECT_EQ(parse_replies(c.data)[0].status, 200);
  auto* tls = static_cast<TlsTransport*>(t.get());
  EXPECT_EQ(tls->cipher_suite(), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(tls->protocol_version(), "TLSv1.2");
  ASSERT_TRUE(tls->peer_fingerprint().has_value());
  EXPECT_EQ(*tls->peer_fingerprint(), h.identity->fingerprint);
}

TEST(HttpConnection, KeepAliveAnswersPipelinedRequestsInOrderAfterADelay) {
  MockOptions o;
  o.auth_fail_delay_ms = 20;
  Harness h(o);
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  // Two good calls, a failing one (delayed), then one more, all written at once. pveproxy says
  // "Connection: close" after any status of 400 or more, so the last is never answered.
  ByteChain req(
      http_request("GET", "/api2/json/version", kToken) +
      http_request("GET", "/api2/json/cluster/resources", kToken) +
      http_request("GET", "/api2/json/version", {{"Authorization", "PVEAPIToken=x@pam!y=z"}}) +
      http_request("GET", "/api2/json/version", kToken));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.ended || c.closed; }));
  std::vector<HttpReply> r = parse_replies(c.data);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[1].status, 200);
  EXPECT_EQ(r[2].status, 401);
  EXPECT_EQ(*r[0].headers.get("Connection"), "Keep-Alive");
  EXPECT_EQ(*r[1].headers.get("Connection"), "Keep-Alive");
  EXPECT_EQ(*r[0].headers.get("Server"), "pve-api-daemon/3.0");
  EXPECT_EQ(*r[2].headers.get("Connection"), "close");
}

// pveproxy's keep_alive => 100: the 100th reply on one connection says close.
TEST(HttpConnection, AHundredRequestsPerConnection) {
  Harness h;
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  std::string all;
  for (int i = 0; i < 101; ++i) all += http_request("GET", "/api2/json/version", kToken);
  ByteChain req(all);
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.ended || c.closed; }));
  std::vector<HttpReply> r = parse_replies(c.data);
  ASSERT_EQ(r.size(), 100u);
  EXPECT_EQ(*r[98].headers.get("Connection"), "Keep-Alive");
  EXPECT_EQ(*r[99].headers.get("Connection"), "close");
}

// pveproxy's handle timeout: a kept-alive connection that stays idle after a reply is closed.
TEST(HttpConnection, IdleKeptAliveConnectionIsClosedAfterTheTimeout) {
  MockOptions o;
  o.keepalive_timeout_ms = 30;
  Harness h(o);
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(http_request("GET", "/api2/json/version", kToken));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.ended || c.closed; }));
  std::vector<HttpReply> r = parse_replies(c.data);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(*r[0].headers.get("Connection"), "Keep-Alive");
  EXPECT_TRUE(h.log_contains("closed (keep-alive timeout)"));
}

// pveproxy accepts a websocket upgrade on a connection that has already answered requests.
TEST(HttpConnection, UpgradeOnAConnectionThatServedRequests) {
  Harness h;
  std::optional<ConsoleTicket> console = h.vncproxy(100);
  ASSERT_TRUE(console.has_value());
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain first(http_request("GET", "/api2/json/version", kToken));
  t->write(first);
  ASSERT_TRUE(h.run_until([&] { return parse_replies(c.data).size() == 1 || c.closed; }));
  ByteChain upgrade(h.upgrade_request(100, *console));
  t->write(upgrade);
  ASSERT_TRUE(h.run_until([&] { return parse_replies(c.data).size() == 2 || c.closed; }));
  std::string after;
  std::vector<HttpReply> r = parse_replies(c.data, &after);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[1].status, 101);
  // The fake VM's RFB banner comes in a binary frame.
  ASSERT_TRUE(h.run_until([&] {
    parse_replies(c.data, &after);
    return frame_payloads(after).size() >= 12 || c.closed;
  }));
  EXPECT_EQ(frame_payloads(after).substr(0, 12), "RFB 003.008\n");
}

// The fault close_reused: a matching request on a used connection is answered by a close; on a
// fresh connection it is served.
TEST(HttpConnection, CloseReusedFaultClosesOnlyUsedConnections) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("close_reused=/version").ok());
  Harness h(o);
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(http_request("GET", "/api2/json/cluster/resources", kToken) +
                http_request("GET", "/api2/json/version", kToken));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.ended || c.closed; }));
  EXPECT_EQ(parse_replies(c.data).size(), 1u);
  EXPECT_TRUE(h.log_contains("closed unanswered (fault close_reused)"));
  EXPECT_EQ(h.call("GET", "/api2/json/version", kToken).status, 200);
}

TEST(HttpConnection, ConnectionCloseEndsAfterTheReply) {
  Harness h;
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(http_request("GET", "/api2/json/version",
                             {{"Authorization", token_auth()}, {"Connection", "close"}}));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.ended; }));
  std::vector<HttpReply> r = parse_replies(c.data);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(*r[0].headers.get("Connection"), "close");
}

HeaderList many_headers(size_t n, size_t value_bytes = 4) {
  HeaderList list = kToken;
  for (size_t i = 0; list.size() < n; ++i) {
    list.emplace_back("X-Filler-" + std::to_string(i), std::string(value_bytes, 'v'));
  }
  return list;
}

// Sends one raw request on a fresh connection and returns the single reply (the connection then
// ends for errors).
HttpReply one_shot(Harness& h, const std::string& request, bool* ended = nullptr) {
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(request);
  t->write(req);
  h.run_until([&] { return parse_replies(c.data).size() == 1 || c.closed; });
  if (ended) {
    h.run_until([&] { return c.ended || c.closed; });
    *ended = c.ended || c.closed;
  }
  std::vector<HttpReply> r = parse_replies(c.data);
  return r.empty() ? HttpReply{} : r.front();
}

TEST(HttpConnection, HeadLinesUnderSixtyFourAreAcceptedMoreAre431) {
  Harness h;
  // Host + 60 others = 61 header fields: with the request line and the blank line, 63 lines.
  EXPECT_EQ(one_shot(h, http_request("GET", "/api2/json/version", many_headers(60))).status, 200);
  bool ended = false;
  HttpReply r = one_shot(h, http_request("GET", "/api2/json/version", many_headers(61)), &ended);
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.reason, "too many http header lines");
  EXPECT_TRUE(ended);
}

TEST(HttpConnection, HeadOf8KiBIs431) {
  Harness h;
  // Pad one header so that the whole head is 8191 bytes, then 8192.
  auto padded = [&](size_t total) {
    std::string base =
        http_request("GET", "/api2/json/version", {{"Authorization", token_auth()}, {"X-Pad", ""}});
    return http_request(
        "GET", "/api2/json/version",
        {{"Authorization", token_auth()}, {"X-Pad", std::string(total - base.size(), 'p')}});
  };
  EXPECT_EQ(padded(8191).size(), 8191u);
  EXPECT_EQ(one_shot(h, padded(8191)).status, 200);
  HttpReply r = one_shot(h, padded(8192));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.reason, "http header too large");
}

TEST(HttpConnection, BodyOver64KiBIs413AndGarbageIs400) {
  Harness h;
  HttpReply big = one_shot(
      h, http_request("POST", "/api2/json/access/ticket", {}, std::string(64 * 1024 + 1, 'a')));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(one_shot(h, "NONSENSE\r\n\r\n").status, 400);
}

TEST(HttpConnection, ExpectContinueGetsAnInterimReply) {
  Harness h;
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  std::string body = "username=root@pam&password=mock-root-password";
  std::string request =
      http_request("POST", "/api2/json/access/ticket", {{"Expect", "100-continue"}}, body);
  ByteChain head(request.substr(0, request.size() - body.size()));
  t->write(head);
  ASSERT_TRUE(
      h.run_until([&] { return c.data.find("100 Continue") != std::string::npos || c.closed; }));
  EXPECT_TRUE(c.data.starts_with("HTTP/1.1 100 Continue\r\n\r\n"));
  ByteChain rest(body);
  t->write(rest);
  ASSERT_TRUE(
      h.run_until([&] { return c.data.find("\"ticket\"") != std::string::npos || c.closed; }));
  EXPECT_NE(c.data.find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(HttpConnection, OversizedHeaderFaultAddsAHugeHeaderLine) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("oversized_header").ok());
  Harness h(o);
  HttpReply r = h.call("GET", "/api2/json/version", kToken);
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.headers.get("X-Mock-Oversized").has_value());
  EXPECT_EQ(r.headers.get("X-Mock-Oversized")->size(), kOversizedHeaderBytes);
}

TEST(HttpConnection, SlowFaultDelaysButStillAnswers) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("slow=5").ok());
  Harness h(o);
  EXPECT_EQ(h.call("GET", "/api2/json/version", kToken).status, 200);
}

TEST(HttpConnection, UnknownPathIs404AndTheLogHasNoQuery) {
  Harness h;
  HttpReply r = h.call("GET", "/nothing?secret=s3cr3t");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(h.log_contains("GET /nothing 404"));
  EXPECT_FALSE(h.log_contains("s3cr3t"));
}

TEST(HttpReply, HeadersLikePveproxy) {
  MockResponse reply = error_reply(500, "VM 101 not running");
  reply.reason = "VM 101 not running\r\nInjected: yes";
  ByteChain out;
  write_mock_reply(reply, true, 784111777, out);
  std::vector<HttpReply> r = parse_replies(out.to_string());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 500);
  EXPECT_EQ(r[0].reason, "VM 101 not running  Injected: yes");  // control characters replaced
  EXPECT_EQ(*r[0].headers.get("Date"), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(*r[0].headers.get("Content-Length"), std::to_string(reply.body.size()));
  EXPECT_EQ(*r[0].headers.get("Cache-Control"), "max-age=0");
  EXPECT_FALSE(r[0].headers.get("Injected").has_value());
}

TEST(HttpReply, RequestErrorReplies) {
  EXPECT_EQ(request_error_reply(Error(Errc::too_large, "request header has too many fields"), false)
                .status,
            431);
  EXPECT_EQ(request_error_reply(Error(Errc::too_large, "request header too large"), false).reason,
            "http header too large");
  EXPECT_EQ(request_error_reply(Error(Errc::too_large, "body too large"), true).status, 413);
  EXPECT_EQ(request_error_reply(Error(Errc::protocol, "bad"), false).status, 400);
}

TEST(HttpReply, LimitsMatchTheClientsHandshakeCheck) {
  HttpLimits l = pveproxy_request_limits();
  EXPECT_EQ(l.max_head_bytes, 8191u);
  EXPECT_EQ(l.max_body_bytes, 64u * 1024);
}

}  // namespace
}  // namespace pvb::mock::test
