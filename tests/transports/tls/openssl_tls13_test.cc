// What only the OpenSSL backend does: TLS 1.3 (between two OpenSSL ends, suites by name, a TLS
// 1.3-only server, tickets that arrive after the handshake and are used once), and how the mbedTLS
// backend fails against a TLS 1.3-only server.
#include <gtest/gtest.h>

#include "tls_backend_suite.h"

namespace pvb {
namespace {

using namespace tls_test;

constexpr TlsBackendKind kOpenssl = TlsBackendKind::openssl;
constexpr TlsBackendKind kMbedtls = TlsBackendKind::mbedtls;

std::shared_ptr<TlsContext> openssl_client(std::vector<std::string> suites = {}) {
  TlsClientConfig config = ca_config(pki().ca);
  config.cipher_suites = std::move(suites);
  return client_on(kOpenssl, config);
}

// A server as an admin makes pveproxy with DISABLE_TLS_1_2: TLS 1.3 suites only.
std::shared_ptr<TlsContext> tls13_only_server() {
  return server_on(kOpenssl, pki().leaf, &pki().ca,
                   {"TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"});
}

TEST(OpensslTls13, TwoOpensslEndsSpeakTls13) {
  Loop loop;
  TlsPair p(loop, openssl_client(), server_on(kOpenssl, pki().leaf, &pki().ca), "pve1.example.com");
  ASSERT_TRUE(p.handshake()) << p.c.error.message() << " / " << p.s.error.message();
  EXPECT_EQ(p.client->protocol_version(), "TLSv1.3");
  EXPECT_EQ(p.client->cipher_suite(), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(p.client->peer_fingerprint(), pki().leaf.fingerprint);
  const std::string up = random_bytes(300000, 31);
  const std::string down = random_bytes(200000, 32);
  ByteChain a(up), b(down);
  p.client->write(a, true);
  p.server->write(b, true);
  ASSERT_TRUE(loop.run_until([&] { return (p.c.ended && p.s.ended) || p.c.closed || p.s.closed; }));
  EXPECT_TRUE(p.s.data == up);
  EXPECT_TRUE(p.c.data == down);
}

TEST(OpensslTls13, Tls13SuitesByNameAndTheServersOrder) {
  Loop loop;
  // The client names only ChaCha20 for TLS 1.3: TLS 1.3 only, with that suite.
  TlsPair p(loop, openssl_client({"TLS_CHACHA20_POLY1305_SHA256"}),
            server_on(kOpenssl, pki().leaf, &pki().ca), "pve1.example.com");
  ASSERT_TRUE(p.handshake()) << p.c.error.message();
  EXPECT_EQ(p.client->protocol_version(), "TLSv1.3");
  EXPECT_EQ(p.server->cipher_suite(), "TLS_CHACHA20_POLY1305_SHA256");

  // A client preferring AES-256 and ChaCha20 over AES-128 gets the server's first choice.
  TlsPair q(loop,
            openssl_client({"TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384",
                            "tls-aes-128-gcm-sha256"}),
            server_on(kOpenssl, pki().leaf, &pki().ca), "pve1.example.com");
  ASSERT_TRUE(q.handshake()) << q.c.error.message();
  EXPECT_EQ(q.client->cipher_suite(), "TLS_AES_128_GCM_SHA256");
}

TEST(OpensslTls13, OpensslClientConnectsToATls13OnlyServer) {
  Loop loop;
  TlsPair p(loop, openssl_client(), tls13_only_server(), "pve1.example.com");
  ASSERT_TRUE(p.handshake()) << p.c.error.message() << " / " << p.s.error.message();
  EXPECT_EQ(p.client->protocol_version(), "TLSv1.3");
  ByteChain hello("hello");
  p.client->write(hello);
  ASSERT_TRUE(loop.run_until([&] { return p.s.data.size() == 5 || p.s.closed; }));
  EXPECT_EQ(p.s.data, "hello");
}

TEST(OpensslTls13, MbedtlsClientAgainstATls13OnlyServerPointsAtABackendThatCan) {
  Loop loop;
  TlsPair p(loop, client_on(kMbedtls, ca_config(pki().ca)), tls13_only_server(),
            "pve1.example.com");
  EXPECT_FALSE(p.handshake());
  loop.run_until([&] { return p.c.closed && p.s.closed; });
  EXPECT_EQ(p.c.error.code(), Errc::tls);
  EXPECT_NE(p.c.error.message().find("the server requires TLS 1.3, which the mbedTLS backend "
                                     "(TLS 1.2 only) cannot speak"),
            std::string::npos)
      << p.c.error.message();
  EXPECT_NE(p.c.error.message().find("protocol_version (70)"), std::string::npos)
      << p.c.error.message();
  EXPECT_EQ(p.s.error.code(), Errc::tls);
  EXPECT_NE(p.s.error.message().find("older than 1.3"), std::string::npos) << p.s.error.message();
}

TEST(OpensslTls13, OpensslClientLimitedToTls12AgainstATls13OnlyServer) {
  Loop loop;
  TlsPair p(loop, openssl_client({"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}), tls13_only_server(),
            "pve1.example.com");
  EXPECT_FALSE(p.handshake());
  loop.run_until([&] { return p.c.closed && p.s.closed; });
  EXPECT_EQ(p.c.error.code(), Errc::tls);
  EXPECT_NE(p.c.error.message().find("(we offer TLS 1.2 only"), std::string::npos)
      << p.c.error.message();
}

TEST(OpensslTls13, Tls13SuiteNamesAreForTheOpensslBackendOnly) {
  TlsClientConfig config = ca_config(pki().ca);
  config.cipher_suites = {"TLS_AES_128_GCM_SHA256"};
  config.backend = kMbedtls;
  auto mbed = TlsContext::create_client(config);
  ASSERT_FALSE(mbed.ok());
  EXPECT_EQ(mbed.error().code(), Errc::usage);
  config.backend = kOpenssl;
  EXPECT_TRUE(TlsContext::create_client(config).ok());
  config.cipher_suites = {"TLS_AES_128_CCM_SHA256"};  // a TLS 1.3 suite, but not one we allow
  auto ccm = TlsContext::create_client(config);
  ASSERT_FALSE(ccm.ok());
  EXPECT_NE(ccm.error().message().find("not allowed"), std::string::npos);
}

// --- resumption -------------------------------------------------------------------------------

// Handshakes two engines by hand; with `deliver_ticket`, the client then reads what the server
// sent after its Finished (a TLS 1.3 NewSessionTicket), as a connection that carries data does.
void connect_engines(TlsEngine& client, TlsEngine& server, bool deliver_ticket) {
  for (int round = 0; round < 10 && !(client.handshake_done() && server.handshake_done());
       ++round) {
    ASSERT_TRUE(client.handshake().ok());
    ByteChain c2s;
    client.take_output(c2s);
    server.feed(c2s);
    ASSERT_TRUE(server.handshake().ok());
    if (deliver_ticket || !client.handshake_done()) {
      ByteChain s2c;
      server.take_output(s2c);
      client.feed(s2c);
    }
  }
  ASSERT_TRUE(client.handshake_done() && server.handshake_done());
  if (deliver_ticket) {
    ByteChain plain;
    auto st = client.read(plain, SIZE_MAX);
    ASSERT_TRUE(st.ok()) << st.error().message();
    EXPECT_TRUE(plain.empty());
  }
}

std::unique_ptr<TlsEngine> engine(const std::shared_ptr<TlsContext>& ctx, std::string_view name) {
  auto e = ctx->new_engine(name);
  EXPECT_TRUE(e.ok()) << e.error().message();
  return e.ok() ? std::move(e).value() : nullptr;
}

TEST(OpensslTls13, TicketArrivesAfterTheHandshakeAndIsUsedOnce) {
  auto client_ctx = openssl_client();
  auto server_ctx = server_on(kOpenssl, pki().leaf, &pki().ca);
  auto c1 = engine(client_ctx, "pve1.example.com");
  auto s1 = engine(server_ctx, "");
  // The second connection's engine exists before the first has its ticket: the cache is looked
  // up when the handshake starts, not when the engine is made.
  auto c2 = engine(client_ctx, "pve1.example.com");
  auto s2 = engine(server_ctx, "");
  auto c3 = engine(client_ctx, "pve1.example.com");
  auto s3 = engine(server_ctx, "");
  ASSERT_TRUE(c1 && s1 && c2 && s2 && c3 && s3);
  connect_engines(*c1, *s1, true);
  EXPECT_FALSE(c1->session_resumed());

  // Resumes with the ticket, and does not read the fresh one the server sends.
  connect_engines(*c2, *s2, false);
  EXPECT_EQ(c2->protocol_version(), "TLSv1.3");
  EXPECT_TRUE(c2->session_resumed());
  EXPECT_TRUE(s2->session_resumed());
  EXPECT_EQ(c2->peer_fingerprint(), pki().leaf.fingerprint);

  // The first ticket was spent (RFC 8446 C.4: never reuse one): a full handshake.
  connect_engines(*c3, *s3, true);
  EXPECT_FALSE(c3->session_resumed());

  // c3 read its ticket: the next connection resumes again.
  auto c4 = engine(client_ctx, "pve1.example.com");
  auto s4 = engine(server_ctx, "");
  connect_engines(*c4, *s4, true);
  EXPECT_TRUE(c4->session_resumed());
}

TEST(OpensslTls13, Tls12SessionsAreKeptForSeveralConnections) {
  auto client_ctx = openssl_client({"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  auto server_ctx = server_on(kOpenssl, pki().leaf, &pki().ca);
  auto c1 = engine(client_ctx, "pve1.example.com");
  auto s1 = engine(server_ctx, "");
  ASSERT_TRUE(c1 && s1);
  connect_engines(*c1, *s1, false);  // a TLS 1.2 ticket comes inside the handshake
  EXPECT_EQ(c1->protocol_version(), "TLSv1.2");
  for (int i = 0; i < 2; ++i) {
    auto c = engine(client_ctx, "pve1.example.com");
    auto s = engine(server_ctx, "");
    ASSERT_TRUE(c && s);
    connect_engines(*c, *s, false);
    EXPECT_TRUE(c->session_resumed()) << i;
  }
  // forget_sessions() drops it.
  client_ctx->forget_sessions("pve1.example.com");
  auto c = engine(client_ctx, "pve1.example.com");
  auto s = engine(server_ctx, "");
  connect_engines(*c, *s, false);
  EXPECT_FALSE(c->session_resumed());
}

TEST(OpensslTls13, FailedHandshakeForgetsTheTls12Session) {
  // TLS 1.2: its sessions stay cached when used (a TLS 1.3 one is gone once offered anyway).
  auto client_ctx = openssl_client({"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  auto server_ctx = server_on(kOpenssl, pki().leaf, &pki().ca);
  auto c1 = engine(client_ctx, "pve1.example.com");
  auto s1 = engine(server_ctx, "");
  connect_engines(*c1, *s1, true);
  // A server with another certificate under the same name: refused, and the session is gone.
  auto c2 = engine(client_ctx, "pve1.example.com");
  auto s2 = engine(server_on(kOpenssl, pki().stranger, &pki().other_ca), "");
  ASSERT_TRUE(c2 && s2);
  Result<bool> failed = false;
  for (int round = 0; round < 5 && failed.ok(); ++round) {
    failed = c2->handshake();
    ByteChain c2s;
    c2->take_output(c2s);
    s2->feed(c2s);
    (void)s2->handshake();
    ByteChain s2c;
    s2->take_output(s2c);
    c2->feed(s2c);
  }
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Errc::tls_verify);
  auto c3 = engine(client_ctx, "pve1.example.com");
  auto s3 = engine(server_ctx, "");
  connect_engines(*c3, *s3, true);
  EXPECT_FALSE(c3->session_resumed());
}

}  // namespace
}  // namespace pvb
