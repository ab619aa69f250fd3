#include "transports/ws/handshake.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/core/byte_chain.h"

namespace pvb {
namespace {

HttpHeaders cookie(std::string value) {
  HttpHeaders h;
  h.add("Cookie", "PVEAuthCookie=" + std::move(value));
  return h;
}

WsClientHandshake build_ok(Random& rng, const HttpHeaders& extra = {}) {
  Result<WsClientHandshake> hs = build_client_handshake(
      "pve.example:8006", "/api2/json/nodes/n1/qemu/100/vncwebsocket?port=5900", extra, "binary",
      rng);
  EXPECT_TRUE(hs.ok()) << (hs.ok() ? "" : hs.error().message());
  return hs.ok() ? std::move(hs).value() : WsClientHandshake{};
}

HttpResponseHead answer_101(std::string_view key, std::string_view subprotocol = "binary") {
  return build_server_response(key, subprotocol);
}

TEST(WsHandshake, AcceptValueOfTheRfcExample) {
  EXPECT_EQ(ws_accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, ClientRequestCarriesEveryHandshakeHeader) {
  SeededRandom rng(7);
  WsClientHandshake hs = build_ok(rng, cookie("PVE%3Aroot%40pam%3AABC"));
  const HttpRequestHead& r = hs.request;
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.minor_version, 1);
  EXPECT_EQ(r.target, "/api2/json/nodes/n1/qemu/100/vncwebsocket?port=5900");
  EXPECT_EQ(r.headers.get("Host"), "pve.example:8006");
  EXPECT_TRUE(r.headers.has_token("Upgrade", "websocket"));
  EXPECT_TRUE(r.headers.has_token("Connection", "upgrade"));
  EXPECT_EQ(r.headers.get("Sec-WebSocket-Version"), "13");
  EXPECT_EQ(r.headers.get("Sec-WebSocket-Protocol"), "binary");
  EXPECT_EQ(r.headers.get("Sec-WebSocket-Key"), hs.key);
  EXPECT_EQ(r.headers.get("Cookie"), "PVEAuthCookie=PVE%3Aroot%40pam%3AABC");
  EXPECT_EQ(hs.key.size(), 24u);  // 16 bytes in base64

  // The server side accepts it, which also proves the key decodes to 16 bytes.
  Result<WsServerHandshake> server = validate_client_handshake(r);
  ASSERT_TRUE(server.ok()) << server.error().message();
  EXPECT_EQ(server->key, hs.key);
  ASSERT_EQ(server->subprotocols.size(), 1u);
  EXPECT_EQ(server->subprotocols[0], "binary");
}

TEST(WsHandshake, KeyComesFromTheInjectedRandom) {
  SeededRandom a(1), b(1), c(2);
  EXPECT_EQ(build_ok(a).key, build_ok(b).key);
  EXPECT_NE(build_ok(a).key, build_ok(c).key);
  EXPECT_NE(build_ok(a).key, build_ok(a).key);  // fresh each time
}

TEST(WsHandshake, RequestHeadSurvivesSerializeAndParse) {
  SeededRandom rng(3);
  WsClientHandshake hs = build_ok(rng, cookie("x"));
  ByteChain wire;
  write_request_head(hs.request, wire);
  Result<std::optional<HttpRequestHead>> parsed = parse_request_head(wire, HttpLimits{});
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed.value().has_value());
  EXPECT_TRUE(validate_client_handshake(**parsed).ok());
  EXPECT_TRUE(wire.empty());
}

TEST(WsHandshake, NoSubprotocolHeaderWhenNoneIsOffered) {
  SeededRandom rng(3);
  Result<WsClientHandshake> hs = build_client_handshake("h", "/", {}, "", rng);
  ASSERT_TRUE(hs.ok());
  EXPECT_FALSE(hs->request.headers.get("Sec-WebSocket-Protocol").has_value());
}

TEST(WsHandshake, ExtraHeadersMustKeepTheHeadUnderPveproxyLimits) {
  SeededRandom rng(3);
  // A big ticket cookie still fits ...
  Result<WsClientHandshake> fits =
      build_client_handshake("h", "/p", cookie(std::string(7000, 'a')), "binary", rng);
  EXPECT_TRUE(fits.ok());
  // ... one that would reach 8 KiB does not, and the error does not quote the secret.
  Result<WsClientHandshake> big =
      build_client_handshake("h", "/p", cookie(std::string(8100, 's')), "binary", rng);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), Errc::too_large);
  EXPECT_EQ(big.error().detail().find("sss"), std::string::npos);

  HttpHeaders many;
  for (int i = 0; i < 60; ++i) many.add("X-Filler-" + std::to_string(i), "1");
  Result<WsClientHandshake> lines = build_client_handshake("h", "/p", many, "binary", rng);
  ASSERT_FALSE(lines.ok());
  EXPECT_EQ(lines.error().code(), Errc::too_large);

  HttpHeaders some;
  for (int i = 0; i < 50; ++i) some.add("X-Filler-" + std::to_string(i), "1");
  EXPECT_TRUE(build_client_handshake("h", "/p", some, "binary", rng).ok());
}

TEST(WsHandshake, RejectsInjectionAndOverrides) {
  SeededRandom rng(3);
  HttpHeaders crlf;
  crlf.add("Cookie", "a\r\nX-Evil: 1");
  EXPECT_EQ(build_client_handshake("h", "/p", crlf, "binary", rng).error().code(), Errc::usage);

  HttpHeaders host;
  host.add("host", "other");
  EXPECT_EQ(build_client_handshake("h", "/p", host, "binary", rng).error().code(), Errc::usage);

  EXPECT_EQ(build_client_handshake("h", "no-slash", {}, "binary", rng).error().code(), Errc::usage);
  EXPECT_EQ(build_client_handshake("h", "/a b", {}, "binary", rng).error().code(), Errc::usage);
}

TEST(WsHandshake, ServerAnswerRoundTripValidates) {
  SeededRandom rng(5);
  WsClientHandshake hs = build_ok(rng);
  HttpResponseHead ok = answer_101(hs.key);
  EXPECT_EQ(ok.status, 101);
  EXPECT_EQ(ok.headers.get("Sec-WebSocket-Accept"), ws_accept_for_key(hs.key));
  Error e = validate_server_handshake(ok, hs.key, "binary");
  EXPECT_TRUE(e.ok()) << e.message();
}

TEST(WsHandshake, Non101IsConsoleRefusedWithStatusAndReason) {
  HttpResponseHead r;
  r.status = 401;
  r.reason = "authentication failure";
  Error e = validate_server_handshake(r, "k", "binary");
  EXPECT_EQ(e.code(), Errc::console_refused);
  EXPECT_EQ(e.detail(), "websocket upgrade refused: 401 authentication failure");

  r.status = 500;
  r.reason = "VM 101 not running";
  EXPECT_EQ(validate_server_handshake(r, "k", "binary").detail(),
            "websocket upgrade refused: 500 VM 101 not running");
}

TEST(WsHandshake, WrongOrMissingAcceptIsProtocolErrorNamingBoth) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  HttpResponseHead r = answer_101(key);
  r.headers.remove("Sec-WebSocket-Accept");
  r.headers.add("Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  Error e = validate_server_handshake(r, key, "binary");
  EXPECT_EQ(e.code(), Errc::protocol);
  EXPECT_NE(e.detail().find("expected s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  EXPECT_NE(e.detail().find("got AAAAAAAAAAAAAAAAAAAAAAAAAAA="), std::string::npos);

  r.headers.remove("Sec-WebSocket-Accept");
  e = validate_server_handshake(r, key, "binary");
  EXPECT_EQ(e.code(), Errc::protocol);
  EXPECT_NE(e.detail().find("without Sec-WebSocket-Accept"), std::string::npos);
}

TEST(WsHandshake, MissingUpgradeOrConnectionTokens) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  HttpResponseHead r = answer_101(key);
  r.headers.remove("Upgrade");
  EXPECT_EQ(validate_server_handshake(r, key, "binary").code(), Errc::protocol);

  r = answer_101(key);
  r.headers.remove("Connection");
  r.headers.add("Connection", "keep-alive");
  EXPECT_EQ(validate_server_handshake(r, key, "binary").code(), Errc::protocol);

  r = answer_101(key);  // tokens compare case-insensitively, in lists
  r.headers.remove("Connection");
  r.headers.add("Connection", "keep-alive, UPGRADE");
  EXPECT_TRUE(validate_server_handshake(r, key, "binary").ok());
}

TEST(WsHandshake, SubprotocolMustBeEchoed) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
  Error missing = validate_server_handshake(answer_101(key, ""), key, "binary");
  EXPECT_EQ(missing.code(), Errc::protocol);
  EXPECT_NE(missing.detail().find("binary"), std::string::npos);

  EXPECT_EQ(validate_server_handshake(answer_101(key, "base64"), key, "binary").code(),
            Errc::protocol);
  // Not offered, but chosen: also wrong.
  EXPECT_EQ(validate_server_handshake(answer_101(key, "binary"), key, "").code(), Errc::protocol);
  EXPECT_TRUE(validate_server_handshake(answer_101(key, ""), key, "").ok());
}

TEST(WsHandshake, ServerRejectsBadUpgradeRequests) {
  SeededRandom rng(9);
  const HttpRequestHead good = build_ok(rng).request;

  HttpRequestHead r = good;
  r.method = "POST";
  EXPECT_EQ(validate_client_handshake(r).error().code(), Errc::protocol);

  r = good;
  r.headers.remove("Sec-WebSocket-Version");
  r.headers.add("Sec-WebSocket-Version", "8");
  EXPECT_NE(validate_client_handshake(r).error().detail().find("only 13"), std::string::npos);

  r = good;
  r.headers.remove("Sec-WebSocket-Key");
  EXPECT_EQ(validate_client_handshake(r).error().code(), Errc::protocol);

  r = good;
  r.headers.remove("Sec-WebSocket-Key");
  r.headers.add("Sec-WebSocket-Key", "c2hvcnQ=");  // "short": 5 bytes
  EXPECT_EQ(validate_client_handshake(r).error().code(), Errc::protocol);

  r = good;
  r.headers.remove("Upgrade");
  EXPECT_EQ(validate_client_handshake(r).error().code(), Errc::protocol);

  r = good;
  r.headers.remove("Connection");
  EXPECT_EQ(validate_client_handshake(r).error().code(), Errc::protocol);

  r = good;
  r.minor_version = 0;
  EXPECT_EQ(validate_client_handshake(r).error().code(), Errc::protocol);
}

TEST(WsHandshake, ServerListsEveryOfferedSubprotocol) {
  SeededRandom rng(9);
  HttpRequestHead r = build_ok(rng).request;
  r.headers.remove("Sec-WebSocket-Protocol");
  r.headers.add("Sec-WebSocket-Protocol", "chat, binary");
  r.headers.add("Sec-WebSocket-Protocol", "base64");
  Result<WsServerHandshake> hs = validate_client_handshake(r);
  ASSERT_TRUE(hs.ok());
  EXPECT_EQ(hs->subprotocols, (std::vector<std::string>{"chat", "binary", "base64"}));
}

}  // namespace
}  // namespace pvb
