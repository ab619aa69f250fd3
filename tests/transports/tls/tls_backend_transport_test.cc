// TlsTransport over a MemPipe, for every pair of backends (tls_backend_suite.h): handshake, data
// both ways, ends, errors, backpressure, resumption.
#include "transports/tls/tls_transport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tls_backend_suite.h"

namespace pvb {
namespace {

using namespace tls_test;

class TlsTransportSuite : public BackendPairTest {};

TEST_P(TlsTransportSuite, HandshakeReportsPeerAndParameters) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake()) << p.c.error.message() << " / " << p.s.error.message();
  EXPECT_EQ(p.client->protocol_version(), pair().version());
  EXPECT_EQ(p.server->protocol_version(), pair().version());
  // The server's order wins: AES-GCM first; the key is ECDSA.
  EXPECT_EQ(p.client->cipher_suite(), pair().default_suite());
  EXPECT_EQ(p.server->cipher_suite(), p.client->cipher_suite());
  ASSERT_TRUE(p.client->peer_fingerprint().has_value());
  EXPECT_EQ(*p.client->peer_fingerprint(), pki().leaf.fingerprint);
  auto chain = p.client->peer_chain_der();
  ASSERT_EQ(chain.size(), 2u);  // leaf, then the CA the server sent along
  EXPECT_EQ(chain[0], pki().leaf.der);
  EXPECT_EQ(chain[1], pki().ca.der);
  EXPECT_FALSE(p.client->session_resumed());
  EXPECT_TRUE(p.server->peer_chain_der().empty());  // no client certificates
  EXPECT_FALSE(p.c.closed || p.s.closed);
}

TEST_P(TlsTransportSuite, ServerHonoursItsCipherListAndClientItsOwn) {
  Loop loop;
  TlsClientConfig chacha_only = ca_config(pki().ca);
  chacha_only.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  TlsPair p(loop, client(chacha_only), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake()) << p.c.error.message();
  // Naming only TLS 1.2 suites keeps an OpenSSL client at TLS 1.2.
  EXPECT_EQ(p.client->protocol_version(), "TLSv1.2");
  EXPECT_EQ(p.client->cipher_suite(), "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");

  TlsClientConfig aes256 = ca_config(pki().ca);
  aes256.cipher_suites = {"TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"};  // mbedTLS spelling works too
  TlsPair q(loop, client(aes256), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(q.handshake()) << q.c.error.message();
  EXPECT_EQ(q.client->cipher_suite(), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
}

TEST_P(TlsTransportSuite, NoCommonCipherFailsCleanly) {
  Loop loop;
  TlsClientConfig chacha = ca_config(pki().ca);
  chacha.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  TlsPair p(loop, client(chacha),
            server(pki().leaf, &pki().ca, {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}),
            "pve1.example.com");
  EXPECT_FALSE(p.handshake());
  loop.run_until([&] { return p.c.closed && p.s.closed; });
  EXPECT_EQ(p.c.error.code(), Errc::tls);
  EXPECT_EQ(p.s.error.code(), Errc::tls);
  EXPECT_NE(p.s.error.message().find("no cipher suite in common"), std::string::npos)
      << p.s.error.message();
  EXPECT_NE(p.c.error.message().find("handshake_failure"), std::string::npos)
      << p.c.error.message();
}

// Writes `to_server` from the client and `to_client` from the server at the same time, each with
// end_stream, and checks both arrive byte-exact followed by the end.
void exchange(TlsPair& p, const std::string& to_server, const std::string& to_client) {
  ByteChain a(to_server), b(to_client);
  p.client->write(a, true);
  p.server->write(b, true);
  EXPECT_TRUE(a.empty());
  ASSERT_TRUE(
      p.loop.run_until([&] { return (p.c.ended && p.s.ended) || p.c.closed || p.s.closed; }));
  EXPECT_FALSE(p.c.closed) << p.c.error.message();
  EXPECT_FALSE(p.s.closed) << p.s.error.message();
  EXPECT_EQ(p.s.data.size(), to_server.size());
  EXPECT_TRUE(p.s.data == to_server);
  EXPECT_EQ(p.c.data.size(), to_client.size());
  EXPECT_TRUE(p.c.data == to_client);
}

class TlsTransportSizes : public ::testing::TestWithParam<std::tuple<BackendPair, size_t>> {};

TEST_P(TlsTransportSizes, BytesArriveExactlyBothWaysAtOnce) {
  const auto [backends, n] = GetParam();
  Loop loop;
  TlsPair p(loop, client_on(backends.client, ca_config(pki().ca)),
            server_on(backends.server, pki().leaf, &pki().ca), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  exchange(p, random_bytes(n, 1000 + n), random_bytes(n, 2000 + n));
}

INSTANTIATE_TEST_SUITE_P(Sizes, TlsTransportSizes,
                         ::testing::Combine(all_backend_pairs(),
                                            ::testing::Values(0, 1, 16 * 1024, 16 * 1024 + 1,
                                                              4 * 1024 * 1024)),
                         [](const ::testing::TestParamInfo<std::tuple<BackendPair, size_t>>& info) {
                           return pair_name(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST_P(TlsTransportSuite, OneByteDeliveriesBothWays) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com", MemPipeOptions{1});
  ASSERT_TRUE(p.handshake()) << p.c.error.message() << " / " << p.s.error.message();
  exchange(p, random_bytes(40000, 7), random_bytes(33333, 8));
}

TEST_P(TlsTransportSuite, WritesBeforeStartAreSentAfterTheHandshake) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ByteChain early("early bird");
  p.client->write(early);
  EXPECT_EQ(p.client->pending_write_bytes(), 10u);
  p.start();
  loop.run_until([&] { return p.s.data.size() == 10 || p.s.closed; });
  EXPECT_EQ(p.s.data, "early bird");
}

TEST_P(TlsTransportSuite, SmallWritesAreBatchedIntoFewRecordsAndOneLowerWrite) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  const uint64_t writes_before = p.client_tap->writes;
  const uint64_t out_before = p.client_tap->bytes_out;
  std::string all;
  for (int i = 0; i < 1000; ++i) {
    std::string piece = "piece " + std::to_string(i) + ";";
    all += piece;
    ByteChain c(piece);
    p.client->write(c);
  }
  loop.run_until([&] { return p.s.data.size() == all.size() || p.s.closed; });
  EXPECT_EQ(p.s.data, all);
  EXPECT_EQ(p.client_tap->writes - writes_before, 1u);
  // ~10 KB in one record: 29 bytes of record overhead (22 in TLS 1.3), not 29 per piece.
  const uint64_t ciphertext = p.client_tap->bytes_out - out_before;
  EXPECT_LE(ciphertext, all.size() + 64);
}

// One block per 16 KiB record (what a WebSocket client's frames are) is encrypted where it lies,
// even behind a small slice: only the small one is copied, the records behind stay aligned.
TEST_P(TlsTransportSuite, BlockSizedSlicesAreEncryptedInPlaceBehindASmallOne) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  ByteChain small("hello");
  std::vector<ByteChain> blocks(2);
  std::string all = "hello";
  for (ByteChain& b : blocks) {
    const std::string bytes = random_bytes(TlsEngine::kMaxRecordPlaintext, all.size());
    std::span<uint8_t> room = b.reserve(bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    b.commit(bytes.size());
    ASSERT_EQ(b.slice_count(), 1u);
    all += bytes;
  }
  const uint64_t copies_before = copy_stats().bytes;
  p.client->write(small);
  for (ByteChain& b : blocks) p.client->write(b);
  loop.run_until([&] { return p.s.data.size() == all.size() || p.s.closed; });
  EXPECT_TRUE(p.s.data == all);
  // The collector's to_string copies what it receives; anything else is the sender's gathering
  // (32 KiB if the records straddled the slices) or a few coalesced bytes of ciphertext.
  const uint64_t copied = copy_stats().bytes - copies_before - all.size();
  EXPECT_LE(copied, 256u);
}

TEST_P(TlsTransportSuite, CloseNotifyIsEndStreamAndHalfCloseKeepsTheOtherWay) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  ByteChain bye("request");
  p.client->write(bye, true);
  loop.run_until([&] { return p.s.ended || p.s.closed; });
  EXPECT_EQ(p.s.data, "request");
  EXPECT_TRUE(p.s.ended);
  EXPECT_FALSE(p.s.closed);
  // Our direction is closed, the server's is not: its answer still arrives.
  ByteChain answer("response");
  p.server->write(answer, true);
  loop.run_until([&] { return p.c.ended || p.c.closed; });
  EXPECT_EQ(p.c.data, "response");
  EXPECT_TRUE(p.c.ended);
  EXPECT_FALSE(p.c.closed);
}

TEST_P(TlsTransportSuite, LowerEndWithoutCloseNotifyIsEndStream) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  ByteChain data("last");
  p.server->write(data);
  loop.run_until([&] { return p.c.data.size() == 4; });
  ByteChain none;
  p.server->lower_transport().write(none, true);  // the server just shuts TCP down, as many do
  loop.run_until([&] { return p.c.ended || p.c.closed; });
  EXPECT_TRUE(p.c.ended);
  EXPECT_FALSE(p.c.closed);
  EXPECT_EQ(p.c.data, "last");
}

TEST_P(TlsTransportSuite, FlushCloseSendsPendingThenCloseNotify) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  const std::string payload = random_bytes(100000, 3);
  ByteChain c(payload);
  p.client->write(c);
  p.client->close(CloseMode::Flush);
  loop.run_until([&] { return (p.c.closed && p.s.ended) || p.s.closed; });
  EXPECT_TRUE(p.c.closed);
  EXPECT_TRUE(p.c.error.ok()) << p.c.error.message();
  EXPECT_TRUE(p.s.ended);
  EXPECT_TRUE(p.s.data == payload);
}

TEST_P(TlsTransportSuite, AbortResetsThePeerWithTheLowerError) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  p.client->close(CloseMode::Abort);
  loop.run_until([&] { return p.c.closed && p.s.closed; });
  EXPECT_TRUE(p.c.error.ok());
  EXPECT_EQ(p.s.error.code(), Errc::connection_lost);  // the lower transport's error, unchanged
}

TEST_P(TlsTransportSuite, FlippedCiphertextByteIsATlsError) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  // Corrupt a byte inside the next record's ciphertext (past its 5-byte header and nonce).
  p.server_tap->corrupt_in_at = static_cast<int64_t>(p.server_tap->bytes_in) + 20;
  ByteChain c(std::string(100, 'x'));
  p.client->write(c);
  loop.run_until([&] { return p.s.closed && p.c.closed; });
  EXPECT_EQ(p.s.error.code(), Errc::tls);
  EXPECT_NE(p.s.error.message().find("bad_record_mac"), std::string::npos) << p.s.error.message();
  // The library's own words and code, for a bug report.
  const char* library_code = pair().server == TlsBackendKind::mbedtls ? "-0x7180" : "0x0A000119";
  EXPECT_NE(p.s.error.message().find(library_code), std::string::npos) << p.s.error.message();
  EXPECT_TRUE(p.s.data.empty());
  // The server told the client why.
  EXPECT_EQ(p.c.error.code(), Errc::tls);
  EXPECT_NE(p.c.error.message().find("received fatal alert bad_record_mac (20)"), std::string::npos)
      << p.c.error.message();
}

TEST_P(TlsTransportSuite, BackpressureHoldsPlaintextUntilTheReaderResumes) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  p.server->read_disable(true);
  const std::string payload = random_bytes(4 * 1024 * 1024, 11);
  ByteChain c(payload);
  p.client->write(c);
  ASSERT_TRUE(loop.run_until([&] { return p.c.highs == 1 || p.c.closed; }));
  // Let the flushes run to their limit; nothing reaches the paused reader.
  for (int i = 0; i < 20; ++i) loop.post([] {});
  loop.run_until([&] { return false; });
  EXPECT_TRUE(p.s.data.empty());
  EXPECT_GT(p.client->pending_write_bytes(), p.client->write_high_mark());
  EXPECT_TRUE(p.client->above_write_high());
  // Only about kLowerBudget of it was encrypted; the rest waits as plaintext.
  EXPECT_LE(p.client->lower_transport().pending_write_bytes(),
            TlsTransport::kLowerBudget + 17 * 1024);
  EXPECT_EQ(p.c.lows, 0);

  p.server->read_disable(false);
  ASSERT_TRUE(loop.run_until([&] { return p.s.data.size() == payload.size() || p.s.closed; }));
  EXPECT_TRUE(p.s.data == payload);
  loop.run_until([&] { return p.c.lows == 1; });
  EXPECT_EQ(p.c.lows, 1);
  EXPECT_EQ(p.client->pending_write_bytes(), 0u);
}

TEST_P(TlsTransportSuite, FlushCloseTowardAReaderThatNeverResumesGivesUp) {
  // More plaintext than the lower may hold waits above a reader that never reads again: the
  // close_notify can never follow it, so close(Flush) gives up after its grace, with a timeout.
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake());
  p.server->read_disable(true);
  ByteChain c(random_bytes(4 * 1024 * 1024, 12));
  p.client->write(c);
  p.client->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return p.c.closed; }));
  EXPECT_EQ(p.c.error.code(), Errc::timeout) << p.c.error.message();
}

TEST_P(TlsTransportSuite, ReaderPausingInsideOnDataGetsTheRestAfterResuming) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  // A sink that takes 1000 bytes per call and pauses after each.
  struct Sipper : TransportSink {
    Transport* t = nullptr;
    std::string got;
    bool paused = false;
    void on_data(ByteChain& c, bool) override {
      size_t n = std::min<size_t>(1000, c.size());
      got += c.to_string(n);
      c.drain(n);
      if (!paused) {
        paused = true;
        t->read_disable(true);
      }
    }
    void on_closed(const Error&) override {}
  } sipper;
  sipper.t = p.server.get();
  p.server->set_sink(&sipper);
  p.start();
  const std::string payload = random_bytes(50000, 12);
  ByteChain c(payload);
  p.client->write(c);
  while (sipper.got.size() < payload.size()) {
    const size_t before = sipper.got.size();
    loop.run_until([&] { return sipper.got.size() > before || p.c.closed; });
    ASSERT_GT(sipper.got.size(), before);
    sipper.paused = false;
    p.server->read_disable(false);  // leftovers are re-offered, then newer bytes
  }
  EXPECT_TRUE(sipper.got == payload);
}

TEST_P(TlsTransportSuite, ReadDisabledBeforeStartStillHandshakesButDeliversNothing) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "pve1.example.com");
  p.server->read_disable(true);
  ASSERT_TRUE(p.handshake()) << p.c.error.message() << " / " << p.s.error.message();
  ByteChain c("held back");
  p.client->write(c, true);
  for (int i = 0; i < 10; ++i) loop.post([] {});
  loop.run_until([&] { return false; });  // everything that can happen without the reader
  EXPECT_EQ(p.s.data_calls, 0);
  EXPECT_FALSE(p.s.ended);
  p.server->read_disable(false);
  loop.run_until([&] { return p.s.ended || p.s.closed; });
  EXPECT_EQ(p.s.data, "held back");
  EXPECT_TRUE(p.s.ended);
}

TEST_P(TlsTransportSuite, SecondConnectionResumesTheSession) {
  Loop loop;
  auto client_ctx = trusting_client();
  auto server_ctx = leaf_server();
  const TlsHandshakeStats before = tls_handshake_stats();
  TlsPair first(loop, client_ctx, server_ctx, "pve1.example.com");
  ASSERT_TRUE(first.handshake());
  EXPECT_FALSE(first.client->session_resumed());
  EXPECT_FALSE(first.server->session_resumed());

  TlsPair second(loop, client_ctx, server_ctx, "pve1.example.com");
  ASSERT_TRUE(second.handshake()) << second.c.error.message();
  EXPECT_TRUE(second.client->session_resumed());
  EXPECT_TRUE(second.server->session_resumed());
  // Still knows whom it talks to, and the data path works.
  EXPECT_EQ(second.client->peer_fingerprint(), pki().leaf.fingerprint);
  exchange(second, "over a resumed session", "indeed");
  // Both roles count: one full handshake each, then one resumed each.
  EXPECT_EQ(tls_handshake_stats().full - before.full, 2u);
  EXPECT_EQ(tls_handshake_stats().resumed - before.resumed, 2u);

  // Another server name does not reuse that session.
  TlsPair other(loop, client_ctx, server_ctx, "192.0.2.10");
  ASSERT_TRUE(other.handshake()) << other.c.error.message();
  EXPECT_FALSE(other.client->session_resumed());
}

TEST_P(TlsTransportSuite, SessionOutlivesAnAbortedConnection) {
  Loop loop;
  auto client_ctx = trusting_client();
  auto server_ctx = leaf_server();
  {
    TlsPair first(loop, client_ctx, server_ctx, "pve1.example.com");
    ASSERT_TRUE(first.handshake());
    ByteChain hello("x");  // behind a TLS 1.3 ticket: once it arrives, so has the ticket
    first.server->write(hello);
    ASSERT_TRUE(loop.run_until([&] { return first.c.data == "x" || first.c.closed; }));
    first.client->close(CloseMode::Abort);  // no close_notify
    loop.run_until([&] { return first.s.closed; });
  }
  TlsPair second(loop, client_ctx, server_ctx, "pve1.example.com");
  ASSERT_TRUE(second.handshake()) << second.c.error.message();
  EXPECT_TRUE(second.client->session_resumed());
}

TEST_P(TlsTransportSuite, NoResumptionWhenTheCacheIsOff) {
  Loop loop;
  TlsClientConfig config = ca_config(pki().ca);
  config.session_cache = false;
  auto client_ctx = client(config);
  auto server_ctx = leaf_server();
  TlsPair first(loop, client_ctx, server_ctx, "pve1.example.com");
  ASSERT_TRUE(first.handshake());
  TlsPair second(loop, client_ctx, server_ctx, "pve1.example.com");
  ASSERT_TRUE(second.handshake());
  EXPECT_FALSE(second.client->session_resumed());
  EXPECT_FALSE(second.server->session_resumed());
}

TEST_P(TlsTransportSuite, NoResumptionWhenTheServerIssuesNoTickets) {
  Loop loop;
  auto client_ctx = trusting_client();
  TlsServerConfig config;
  config.backend = pair().server;
  config.cert_chain_pem = chain_pem(pki().leaf, &pki().ca);
  config.key_pem = pki().leaf.key_pem;
  config.session_tickets = false;
  auto server_ctx = TlsContext::create_server(config);
  ASSERT_TRUE(server_ctx.ok()) << server_ctx.error().message();
  TlsPair first(loop, client_ctx, server_ctx.value(), "pve1.example.com");
  ASSERT_TRUE(first.handshake());
  exchange(first, "ping", "pong");  // lets a TLS 1.3 client read whatever came after Finished
  TlsPair second(loop, client_ctx, server_ctx.value(), "pve1.example.com");
  ASSERT_TRUE(second.handshake()) << second.c.error.message();
  EXPECT_FALSE(second.client->session_resumed());
  EXPECT_FALSE(second.server->session_resumed());
}

TEST_P(TlsTransportSuite, EngineCreationFailureIsReportedAtStart) {
  Loop loop;
  TlsPair p(loop, trusting_client(), leaf_server(), "");  // CA verification without a name
  EXPECT_EQ(p.client->engine(), nullptr);
  p.client->start();
  loop.run_until([&] { return p.c.closed; });
  EXPECT_EQ(p.c.error.code(), Errc::usage);
  EXPECT_FALSE(p.c.connected);
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsTransportSuite, all_backend_pairs(), pair_param_name);

}  // namespace
}  // namespace pvb
