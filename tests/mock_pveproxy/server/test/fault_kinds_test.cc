// The hostile faults in process, over MemPipes: endless and huge HTTP replies, JSON of the wrong
// types, silence, a wrong Sec-WebSocket-Accept, resets, chopped writes, TLS alerts, a
// renegotiation request, a certificate that changes between connections, a websocket that says
// nothing, and what the log tells about a client's Close.
#include <gtest/gtest.h>

#include "tests/mock_pveproxy/server/connection_faults.h"
#include "tests/mock_pveproxy/server/hostile_reply.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "transports/http/http_parser.h"
#include "transports/tls/tls_transport.h"
#include "transports/ws/handshake.h"

namespace pvb::mock::test {
namespace {

const HeaderList kToken = {{"Authorization", token_auth()}};

MockOptions with_faults(std::initializer_list<std::string> specs) {
  MockOptions o;
  for (const std::string& spec : specs) EXPECT_TRUE(o.add_fault(spec).ok()) << spec;
  return o;
}

// Installs the connection faults of the harness's options, with the harness's certificate.
void install_connection_faults(Harness& h) {
  TlsServerConfig tls;
  tls.cert_chain_pem = h.identity->chain_pem;
  tls.key_pem = h.identity->key_pem;
  Result<std::unique_ptr<ConnectionFaults>> faults = ConnectionFaults::create(
      h.api->options(), tls, [&h](const std::string& line) { h.logs.push_back(line); });
  ASSERT_TRUE(faults.ok()) << faults.error().message();
  ASSERT_TRUE(*faults != nullptr);
  h.server->set_connection_faults(std::move(*faults));
}

// Sends one GET on a fresh connection; `c` collects what comes back.
std::unique_ptr<Transport> send_get(Harness& h, Collector& c, std::string_view path) {
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(http_request("GET", path, kToken));
  t->write(req);
  return t;
}

TEST(FaultKinds, ParseWithTheirArguments) {
  MockOptions o = with_faults(
      {"endless_headers=/version", "endless_headers=/cluster", "huge_body=/vncproxy",
       "wrong_types=/access", "no_reply=/status", "bad_ws_accept", "reset_upgrade", "reset_after=0",
       "chunk_writes=1", "tls_alert=request", "cert_change_after=1", "raw_after_upgrade=silent"});
  EXPECT_EQ(o.hostile_reply_for("/api2/json/version"), FaultKind::endless_headers);
  EXPECT_EQ(o.hostile_reply_for("/api2/json/cluster/resources"), FaultKind::endless_headers);
  EXPECT_EQ(o.hostile_reply_for("/api2/json/nodes/pve1/qemu/100/vncproxy"), FaultKind::huge_body);
  EXPECT_EQ(o.hostile_reply_for("/api2/json/nodes/pve1/qemu/100/status/current"),
            FaultKind::no_reply);
  EXPECT_FALSE(o.hostile_reply_for("/api2/json/access/ticket"));
  EXPECT_TRUE(o.path_fault(FaultKind::wrong_types, "/api2/json/access/ticket"));
  EXPECT_TRUE(o.bad_ws_accept());
  EXPECT_TRUE(o.reset_upgrade());
  EXPECT_EQ(o.reset_after(), 0u);
  EXPECT_EQ(o.chunk_writes(), 1u);
  EXPECT_EQ(o.tls_alert(), TlsAlertPoint::request);
  EXPECT_FALSE(o.tls_renegotiate());
  EXPECT_EQ(o.cert_change_after(), 1u);
  EXPECT_EQ(o.raw_after_upgrade(), RawFrameKind::silent);
  EXPECT_TRUE(o.has_connection_faults());
  EXPECT_FALSE(with_faults({"huge_body=/x"}).has_connection_faults());
  EXPECT_EQ(with_faults({"tls_alert=handshake"}).tls_alert(), TlsAlertPoint::handshake);

  for (const char* bad : {"endless_headers", "huge_body=", "tls_alert", "tls_alert=later",
                          "reset_after=x", "chunk_writes=0", "bad_ws_accept=1",
                          "tls_renegotiate=yes", "cert_change_after", "raw_after_upgrade=mute"}) {
    Result<Fault> f = parse_fault(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code(), Errc::usage) << bad;
  }
  MockOptions twice;
  EXPECT_TRUE(twice.add_fault("reset_after=5").ok());
  EXPECT_TRUE(twice.add_fault("reset_after=6").failed());
}

TEST(FaultKinds, EndlessHeadersNeverEndTheHead) {
  Harness h(with_faults({"endless_headers=/version"}));
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/version");
  ASSERT_TRUE(h.run_until([&] { return c.data.size() >= 1024 * 1024 || c.closed; }));
  EXPECT_TRUE(c.data.starts_with(HostileReply::head(FaultKind::endless_headers)));
  EXPECT_EQ(c.data.find("\r\n\r\n"), std::string::npos);
  EXPECT_NE(c.data.find("\r\nX-Endless-00000100: xxx"), std::string::npos);
  // Our own parser gives up at its head limit.
  ByteChain in(c.data);
  ByteChain body;
  HttpResponseParser parser(HttpLimits{});
  Result<HttpParseState> state = parser.feed(in, body);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code(), Errc::too_large);
  EXPECT_TRUE(h.log_contains("GET /api2/json/version: endless_headers (fault)"));
  // The client leaving ends the stream and the connection.
  t->close(CloseMode::Abort);
  ASSERT_TRUE(h.run_until([&] { return h.server->http_connections() == 0; }));
}

TEST(FaultKinds, HugeBodyAnnouncesAGibibyteAndStreamsIt) {
  Harness h(with_faults({"huge_body=/version"}));
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/version");
  ASSERT_TRUE(h.run_until([&] { return c.data.size() >= 2 * 1024 * 1024 || c.closed; }));
  ByteChain in(c.data);
  ByteChain body;
  HttpResponseParser parser(HttpLimits{.max_body_bytes = uint64_t{2} << 30});
  Result<HttpParseState> state = parser.feed(in, body);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, HttpParseState::body);
  EXPECT_EQ(parser.head().headers.get("Content-Length"), "1073741824");
  EXPECT_TRUE(body.to_string(12) == "{\"data\":\"xxx") << body.to_string(12);
  // With our client's limits, the length alone is refused.
  ByteChain again(c.data);
  HttpResponseParser strict(HttpLimits{});
  EXPECT_EQ(strict.feed(again, body).error().code(), Errc::too_large);
  t->close(CloseMode::Abort);
  ASSERT_TRUE(h.run_until([&] { return h.server->http_connections() == 0; }));
}

TEST(FaultKinds, EndlessChunkedBodyHitsTheBodyLimit) {
  Harness h(with_faults({"endless_chunked=/version"}));
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/version");
  ASSERT_TRUE(h.run_until([&] { return c.data.size() >= 2 * 1024 * 1024 || c.closed; }));
  ByteChain in(c.data);
  ByteChain body;
  HttpResponseParser parser(HttpLimits{.max_body_bytes = 1024 * 1024});
  Result<HttpParseState> state = parser.feed(in, body);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code(), Errc::too_large);
  EXPECT_EQ(parser.head().headers.get("Transfer-Encoding"), "chunked");
  t->close(CloseMode::Abort);
  ASSERT_TRUE(h.run_until([&] { return h.server->http_connections() == 0; }));
}

TEST(FaultKinds, HostileStreamsWaitForTheClient) {
  // A client that reads nothing holds the stream at the transport's high mark.
  Harness h(with_faults({"endless_chunked=/version"}));
  auto [client_end, server_end] = make_mem_pipe(h.loop);
  h.server->accept(std::move(server_end), "stalled");
  Collector c;
  client_end->set_sink(&c);
  client_end->start();
  client_end->read_disable(true);
  ByteChain req(http_request("GET", "/api2/json/version", kToken));
  client_end->write(req);
  h.run_until([] { return false; });
  EXPECT_TRUE(c.data.empty());
  EXPECT_EQ(h.server->http_connections(), 1u);
  client_end->read_disable(false);
  ASSERT_TRUE(h.run_until([&] { return c.data.size() >= 1024 * 1024; }));
}

TEST(FaultKinds, RetypedJsonWrapsEveryScalarOfData) {
  EXPECT_EQ(retype_json(R"({"data":{"ticket":"PVE:x","port":5900,"ok":true,"n":null,)"
                        R"("list":[1,"a",{"b":false}]},"success":1})"),
            R"({"data":{"ticket":["PVE:x"],"port":[5900],"ok":[true],"n":null,)"
            R"("list":[[1],["a"],{"b":[false]}]},"success":1})");
  EXPECT_EQ(retype_json(R"({"data":"UPID:pve1"})"), R"({"data":["UPID:pve1"]})");
  EXPECT_EQ(retype_json("not json"), "not json");

  Harness h(with_faults({"wrong_types=/version"}));
  HttpReply r = h.call("GET", "/api2/json/version", kToken);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("version":["8.4.1"])"), std::string::npos) << r.body;
  EXPECT_EQ(r.headers.get("Content-Length"), std::to_string(r.body.size()));
}

TEST(FaultKinds, NoReplyLeavesTheConnectionSilent) {
  Harness h(with_faults({"no_reply=/version"}));
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/version");
  h.run_until([] { return false; });
  EXPECT_TRUE(c.data.empty());
  EXPECT_FALSE(c.closed);
  EXPECT_EQ(h.server->http_connections(), 1u);
  EXPECT_TRUE(h.log_contains("GET /api2/json/version: no_reply (fault)"));
  // Other paths still answer.
  EXPECT_EQ(h.call("GET", "/api2/json/cluster/resources", kToken).status, 200);
}

TEST(FaultKinds, BadWsAcceptStillSays101ButWithAnotherKey) {
  Harness h(with_faults({"bad_ws_accept"}));
  RawWsClient c(h, 100);
  ASSERT_TRUE(c.ok);
  std::vector<HttpReply> r = parse_replies(c.collector.data.substr(0, c.head_bytes));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 101);
  std::optional<std::string_view> accept = r[0].headers.get("Sec-WebSocket-Accept");
  ASSERT_TRUE(accept);
  const std::string right = ws_accept_for_key("dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_NE(*accept, right);
  EXPECT_EQ(accept->size(), right.size());
}

TEST(FaultKinds, ResetUpgradeAnswersTheUpgradeWithAReset) {
  Harness h(with_faults({"reset_upgrade"}));
  std::optional<ConsoleTicket> console = h.vncproxy(100);
  ASSERT_TRUE(console);
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(h.upgrade_request(100, *console));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.closed; }));
  EXPECT_TRUE(c.data.empty());
  EXPECT_TRUE(c.error.failed());
  EXPECT_EQ(h.server->console_sessions(), 0u);
}

TEST(FaultKinds, SilentWebsocketAnswersNothing) {
  Harness h(with_faults({"raw_after_upgrade=silent"}));
  RawWsClient c(h, 100);
  ASSERT_TRUE(c.ok);
  c.send(client_frame(kFin | 0x9, "are you there?"));
  h.run_until([] { return false; });
  EXPECT_TRUE(c.after_head().empty());
  EXPECT_EQ(h.server->console_sessions(), 1u);
  c.transport->close(CloseMode::Flush);
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  EXPECT_EQ(h.server->finished_consoles()[0].mode, "raw:silent");
}

TEST(FaultKinds, TheLogTellsWhetherTheClientSentAClose) {
  Harness h;
  {
    RawWsClient c(h, 302);  // echo
    ASSERT_TRUE(c.ok);
    c.send(client_frame(kFin | 0x8, std::string("\x03\xe8", 2)));
    ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  }
  {
    RawWsClient c(h, 302);
    ASSERT_TRUE(c.ok);
    c.transport->close(CloseMode::Flush);
    ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  }
  ASSERT_EQ(h.server->finished_consoles().size(), 2u);
  EXPECT_EQ(h.server->finished_consoles()[0].client_close_code, 1000);
  EXPECT_NE(describe_console_end(h.server->finished_consoles()[0]).find("client Close 1000"),
            std::string::npos);
  EXPECT_FALSE(h.server->finished_consoles()[1].client_close_code);
  EXPECT_NE(describe_console_end(h.server->finished_consoles()[1]).find("no Close frame"),
            std::string::npos);
}

// --- below HTTP -------------------------------------------------------------------------------

TEST(ConnectionFaults, NoneWithoutConnectionFaults) {
  Result<std::unique_ptr<ConnectionFaults>> none =
      ConnectionFaults::create(with_faults({"huge_body=/x"}), TlsServerConfig{}, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

TEST(ConnectionFaults, ResetAfterZeroKillsTheTlsHandshake) {
  Harness h(with_faults({"reset_after=0"}), /*tls=*/true);
  install_connection_faults(h);
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/version");
  ASSERT_TRUE(h.run_until([&] { return c.closed; }));
  EXPECT_FALSE(c.connected);
  EXPECT_TRUE(c.error.failed());
  EXPECT_EQ(h.server->connection_faults()->connections(), 1u);
}

TEST(ConnectionFaults, ResetAfterCutsAReplyAtThatOffset) {
  // Enough for the handshake and a little of the reply: the client has the head, not the body.
  Harness h(with_faults({"reset_after=3000"}), /*tls=*/true);
  install_connection_faults(h);
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/cluster/resources");
  ASSERT_TRUE(h.run_until([&] { return c.closed; }));
  EXPECT_TRUE(c.connected);
  EXPECT_TRUE(c.error.failed());
  EXPECT_TRUE(parse_replies(c.data).empty()) << c.data.size();
}

TEST(ConnectionFaults, ChunkWritesStillAnswerCorrectly) {
  Harness h(with_faults({"chunk_writes=1"}), /*tls=*/true);
  install_connection_faults(h);
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/cluster/resources");
  ASSERT_TRUE(h.run_until([&] { return !parse_replies(c.data).empty() || c.closed; }));
  std::vector<HttpReply> r = parse_replies(c.data);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_NE(r[0].body.find("web01"), std::string::npos);
}

TEST(ConnectionFaults, HandshakeAlertIsAPlaintextFatalAlert) {
  EXPECT_EQ(handshake_failure_alert_record(), std::string("\x15\x03\x03\x00\x02\x02\x28", 7));
  Harness h(with_faults({"tls_alert=handshake"}), /*tls=*/true);
  install_connection_faults(h);
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/version");
  ASSERT_TRUE(h.run_until([&] { return c.closed; }));
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.error.code(), Errc::tls);
  EXPECT_NE(c.error.message().find("handshake_failure"), std::string::npos) << c.error.message();
  EXPECT_TRUE(h.log_contains("fatal TLS alert handshake_failure in answer to the ClientHello"));
}

// The TLS client of a test, on either backend, trusting the harness's CA.
std::unique_ptr<Transport> tls_client(Harness& h, TlsBackendKind backend, Collector& c) {
  TlsClientConfig cc;
  cc.backend = backend;
  cc.verify = TlsVerify::ca_file;
  cc.ca_pem = h.identity->ca_pem;
  auto [client_end, server_end] = make_mem_pipe(h.loop);
  h.server->accept(std::move(server_end), "tls-client");
  auto t = std::make_unique<TlsTransport>(std::move(client_end), *TlsContext::create_client(cc),
                                          "localhost");
  t->set_sink(&c);
  t->start();
  return t;
}

class HostileTls : public ::testing::TestWithParam<TlsBackendKind> {};

TEST_P(HostileTls, AlertAfterTheRequest) {
  Harness h(with_faults({"tls_alert=request"}), /*tls=*/true);
  install_connection_faults(h);
  Collector c;
  std::unique_ptr<Transport> t = tls_client(h, GetParam(), c);
  ByteChain req(http_request("GET", "/api2/json/version", kToken));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.closed; }));
  EXPECT_TRUE(c.connected);  // the real certificate: verification passed
  EXPECT_EQ(c.error.code(), Errc::tls);
  EXPECT_NE(c.error.message().find("internal_error"), std::string::npos) << c.error.message();
  EXPECT_TRUE(c.data.empty());
}

TEST_P(HostileTls, RenegotiationIsRefusedByOurClient) {
  Harness h(with_faults({"tls_renegotiate"}), /*tls=*/true);
  install_connection_faults(h);
  Collector c;
  std::unique_ptr<Transport> t = tls_client(h, GetParam(), c);
  ByteChain req(http_request("GET", "/api2/json/version", kToken));
  t->write(req);
  ASSERT_TRUE(h.run_until([&] { return c.closed; }));
  EXPECT_TRUE(h.log_contains("TLS HelloRequest sent in answer to the request"));
  EXPECT_TRUE(h.log_contains("the client refused the renegotiation"))
      << ::testing::PrintToString(h.logs);
  EXPECT_EQ(c.error.code(), Errc::tls);
  EXPECT_NE(c.error.message().find("handshake_failure"), std::string::npos) << c.error.message();
}

INSTANTIATE_TEST_SUITE_P(Backends, HostileTls,
                         ::testing::Values(TlsBackendKind::mbedtls, TlsBackendKind::openssl),
                         [](const auto& info) {
                           return std::string(tls_backend_name(info.param));
                         });

TEST(ConnectionFaults, CertificateChangesAfterTheFirstConnection) {
  Harness h(with_faults({"cert_change_after=1"}), /*tls=*/true);
  install_connection_faults(h);
  ASSERT_TRUE(h.server->connection_faults()->second_fingerprint());
  EXPECT_NE(*h.server->connection_faults()->second_fingerprint(), h.identity->fingerprint);
  EXPECT_EQ(h.call("GET", "/api2/json/version", kToken).status, 200);
  // The second connection presents a certificate the harness's CA did not sign.
  Collector c;
  std::unique_ptr<Transport> t = send_get(h, c, "/api2/json/version");
  ASSERT_TRUE(h.run_until([&] { return c.closed; }));
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.error.code(), Errc::tls_verify) << c.error.message();
  EXPECT_TRUE(h.log_contains("served with the second certificate"));
}

// restart_api's drop (server/api_restart.h): the console and the kept-alive API connection of
// listener 0 go, their console port is free again in the API, and a connection of another
// listener stays. Each console that opens is reported (the restart is counted from it).
TEST(ListenerDrop, DropsOnlyThatListenersConnectionsAndReleasesTheirConsoles) {
  Harness h;
  int opened = 0;
  h.server->set_on_console_open([&](const ConsoleGrant& g) {
    EXPECT_EQ(g.vmid, 100u);
    ++opened;
  });
  RawWsClient console(h, 100);
  ASSERT_TRUE(console.ok);
  EXPECT_EQ(opened, 1);
  ASSERT_EQ(h.api->open_consoles(), 1u);
  Collector kept;  // an idle kept-alive API connection of listener 0
  std::unique_ptr<Transport> idle = h.connect(kept);
  Collector other;  // and one of listener 1 (another node)
  auto [client_end, server_end] = make_mem_pipe(h.loop);
  h.server->accept(std::move(server_end), "other-node-client", 1);
  client_end->set_sink(&other);
  client_end->start();
  h.run_until([] { return false; });
  ASSERT_EQ(h.server->http_connections(), 2u);

  EXPECT_EQ(h.server->drop_listener(2), (std::pair<size_t, size_t>{0, 0}));
  EXPECT_EQ(h.server->drop_listener(0), (std::pair<size_t, size_t>{1, 1}));
  ASSERT_TRUE(h.run_until([&] { return console.collector.closed && kept.closed; }));
  EXPECT_EQ(h.server->console_sessions(), 0u);
  EXPECT_EQ(h.api->open_consoles(), 0u);
  EXPECT_TRUE(h.log_contains("dropped (restart_api)"));
  EXPECT_FALSE(other.closed);
  EXPECT_EQ(h.server->http_connections(), 1u);
  // The other listener's connection still gets answers.
  ByteChain req(http_request("GET", "/api2/json/version", {{"Authorization", token_auth()}}));
  client_end->write(req);
  ASSERT_TRUE(h.run_until([&] { return !parse_replies(other.data).empty(); }));
  EXPECT_EQ(parse_replies(other.data)[0].status, 200);
}

}  // namespace
}  // namespace pvb::mock::test
