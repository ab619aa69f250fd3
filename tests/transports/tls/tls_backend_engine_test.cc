// The engine seam driven by hand, for each backend: between two of our engines, and against a raw
// mbedTLS peer configured the ways we refuse to be (renegotiation on, TLS 1.1).
#include <gtest/gtest.h>
#include <mbedtls/ssl.h>

#include <cstring>

#include "tls_backend_suite.h"
#include "transports/tls/mbedtls/mbedtls_random.h"

namespace pvb {
namespace {

using namespace tls_test;

// --- a raw mbedTLS peer, configured in ways our contexts refuse to be ---------------------------

struct RawPeerOptions {
  bool server = true;
  int max_minor = MBEDTLS_SSL_MINOR_VERSION_3;
  bool renegotiation = false;
};

class RawPeer {
 public:
  explicit RawPeer(RawPeerOptions o) {
    mbedtls_ssl_config_init(&conf_);
    mbedtls_ssl_init(&ssl);
    mbedtls_x509_crt_init(&crt_);
    mbedtls_pk_init(&key_);
    EXPECT_TRUE(random_.seed("raw peer").ok());
    EXPECT_EQ(mbedtls_ssl_config_defaults(&conf_,
                                          o.server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                          MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT),
              0);
    mbedtls_ssl_conf_rng(&conf_, &MbedtlsRandom::generate, random_.drbg());
    mbedtls_ssl_conf_min_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_1);
    mbedtls_ssl_conf_max_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, o.max_minor);
    mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_renegotiation(&conf_, o.renegotiation ? MBEDTLS_SSL_RENEGOTIATION_ENABLED
                                                           : MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    if (o.server) {
      const GeneratedCert& leaf = pki().leaf;
      EXPECT_EQ(mbedtls_x509_crt_parse(
                    &crt_, reinterpret_cast<const unsigned char*>(leaf.cert_pem.c_str()),
                    leaf.cert_pem.size() + 1),
                0);
      EXPECT_EQ(
          mbedtls_pk_parse_key(&key_, reinterpret_cast<const unsigned char*>(leaf.key_pem.c_str()),
                               leaf.key_pem.size() + 1, nullptr, 0),
          0);
      EXPECT_EQ(mbedtls_ssl_conf_own_cert(&conf_, &crt_, &key_), 0);
    }
    EXPECT_EQ(mbedtls_ssl_setup(&ssl, &conf_), 0);
    mbedtls_ssl_set_bio(&ssl, this, &RawPeer::send, &RawPeer::recv, nullptr);
  }
  ~RawPeer() {
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf_);
    mbedtls_pk_free(&key_);
    mbedtls_x509_crt_free(&crt_);
  }

  mbedtls_ssl_context ssl;
  std::string in;   // ciphertext from our engine
  std::string out;  // ciphertext for our engine

 private:
  static int send(void* p, const unsigned char* buf, size_t n) {
    static_cast<RawPeer*>(p)->out.append(reinterpret_cast<const char*>(buf), n);
    return static_cast<int>(n);
  }
  static int recv(void* p, unsigned char* buf, size_t n) {
    auto* self = static_cast<RawPeer*>(p);
    if (self->in.empty()) return MBEDTLS_ERR_SSL_WANT_READ;
    n = std::min(n, self->in.size());
    std::memcpy(buf, self->in.data(), n);
    self->in.erase(0, n);
    return static_cast<int>(n);
  }
  MbedtlsRandom random_;
  mbedtls_ssl_config conf_;
  mbedtls_x509_crt crt_;
  mbedtls_pk_context key_;
};

// Moves ciphertext both ways between an engine and a raw peer.
void pump(TlsEngine& engine, RawPeer& raw) {
  ByteChain out;
  engine.take_output(out);
  raw.in += out.to_string();
  if (!raw.out.empty()) {
    ByteChain in(raw.out);
    raw.out.clear();
    engine.feed(in);
  }
}

std::unique_ptr<TlsEngine> engine_for(const std::shared_ptr<TlsContext>& ctx,
                                      std::string_view name) {
  if (!ctx) return nullptr;
  auto e = ctx->new_engine(name);
  EXPECT_TRUE(e.ok()) << e.error().message();
  return e.ok() ? std::move(e).value() : nullptr;
}

// Handshakes our engine with the raw peer; returns the engine's final handshake result.
Result<bool> handshake_with(TlsEngine& engine, RawPeer& raw) {
  Result<bool> ours = false;
  int theirs = MBEDTLS_ERR_SSL_WANT_READ;
  for (int round = 0; round < 20; ++round) {
    ours = engine.handshake();
    pump(engine, raw);
    if (theirs == MBEDTLS_ERR_SSL_WANT_READ) theirs = mbedtls_ssl_handshake(&raw.ssl);
    pump(engine, raw);
    if (!ours.ok() || (ours.value() && theirs == 0)) break;
  }
  return ours;
}

// Passes ciphertext between two of our engines until both finished (or one failed).
void handshake_engines(TlsEngine& client, TlsEngine& server) {
  for (int round = 0; round < 10 && !(client.handshake_done() && server.handshake_done());
       ++round) {
    ASSERT_TRUE(client.handshake().ok());
    ByteChain c2s;
    client.take_output(c2s);
    server.feed(c2s);
    ASSERT_TRUE(server.handshake().ok());
    ByteChain s2c;
    server.take_output(s2c);
    client.feed(s2c);
  }
  ASSERT_TRUE(client.handshake_done() && server.handshake_done());
}

class TlsEnginePair : public BackendPairTest {};

TEST_P(TlsEnginePair, HandshakeAndRecordsByHandCountLibraryCopies) {
  auto client = engine_for(trusting_client(), "pve1.example.com");
  auto server = engine_for(leaf_server(), "");
  ASSERT_TRUE(client && server);
  handshake_engines(*client, *server);
  EXPECT_EQ(client->protocol_version(), pair().version());
  EXPECT_EQ(server->cipher_suite(), pair().default_suite());

  const TlsCopyStats before = tls_copy_stats();
  const std::string msg = random_bytes(20000, 5);
  size_t sent = 0;
  while (sent < msg.size()) {
    auto n =
        client->write({reinterpret_cast<const uint8_t*>(msg.data()) + sent, msg.size() - sent});
    ASSERT_TRUE(n.ok());
    EXPECT_LE(n.value(), TlsEngine::kMaxRecordPlaintext);
    EXPECT_GT(n.value(), 0u);
    sent += n.value();
  }
  ByteChain wire;
  client->take_output(wire);
  EXPECT_GT(wire.size(), msg.size());
  EXPECT_EQ(client->output_size(), 0u);
  server->feed(wire);
  EXPECT_GT(server->buffered_input(), msg.size());
  ByteChain plain;
  auto st = server->read(plain, SIZE_MAX);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value(), TlsReadStatus::want_read);
  EXPECT_EQ(server->buffered_input(), 0u);
  EXPECT_TRUE(plain.to_string() == msg);
  // In: the plaintext handed to encryption, then the ciphertext fed to decryption; out: the
  // reverse.
  EXPECT_GE(tls_copy_stats().bytes_in - before.bytes_in, 2 * msg.size());
  EXPECT_GE(tls_copy_stats().bytes_out - before.bytes_out, 2 * msg.size());

  // read() stops once `max` bytes were appended and says there is more.
  ASSERT_TRUE(server->write({reinterpret_cast<const uint8_t*>(msg.data()), 10000}).ok());
  ASSERT_TRUE(server->write({reinterpret_cast<const uint8_t*>(msg.data()) + 10000, 10000}).ok());
  server->take_output(wire);
  client->feed(wire);
  ByteChain back;
  st = client->read(back, 5000);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value(), TlsReadStatus::more);
  EXPECT_GE(back.size(), 5000u);
  st = client->read(back, SIZE_MAX);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value(), TlsReadStatus::want_read);
  EXPECT_TRUE(back.to_string() == msg);

  client->close_notify();
  client->take_output(wire);
  server->feed(wire);
  st = server->read(plain, SIZE_MAX);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st.value(), TlsReadStatus::close_notify);
}

TEST_P(TlsEnginePair, ReadAndWriteBeforeTheHandshakeAreInternalErrors) {
  auto client = engine_for(trusting_client(), "pve1.example.com");
  ASSERT_TRUE(client);
  ByteChain plain;
  EXPECT_EQ(client->read(plain, SIZE_MAX).error().code(), Errc::internal);
  const uint8_t byte = 1;
  EXPECT_EQ(client->write({&byte, 1}).error().code(), Errc::internal);
  EXPECT_EQ(client->cipher_suite(), "");
  EXPECT_EQ(client->protocol_version(), "");
  EXPECT_FALSE(client->session_resumed());
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsEnginePair, all_backend_pairs(), pair_param_name);

class TlsEngineVsRawMbedtls : public ::testing::TestWithParam<TlsBackendKind> {
 protected:
  std::unique_ptr<TlsEngine> our_client() const {
    return engine_for(client_on(GetParam(), ca_config(pki().ca)), "pve1.example.com");
  }
  std::unique_ptr<TlsEngine> our_server() const {
    return engine_for(server_on(GetParam(), pki().leaf, &pki().ca), "");
  }
};

TEST_P(TlsEngineVsRawMbedtls, PeerRenegotiationIsRefusedAndTheConnectionLivesOn) {
  RawPeer server({.server = true, .renegotiation = true});
  auto client = our_client();
  ASSERT_TRUE(client);
  auto hs = handshake_with(*client, server);
  ASSERT_TRUE(hs.ok() && hs.value()) << (hs.ok() ? "unfinished" : hs.error().message());

  // The server asks for a renegotiation (HelloRequest).
  ASSERT_EQ(mbedtls_ssl_renegotiate(&server.ssl), 0);
  pump(*client, server);
  ByteChain plain;
  auto st = client->read(plain, SIZE_MAX);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(st.value(), TlsReadStatus::want_read);
  EXPECT_TRUE(plain.empty());
  EXPECT_GT(client->output_size(), 0u);  // the no_renegotiation warning alert
  pump(*client, server);
  // We still speak on the same keys, and so does the server.
  const std::string after = "still here";
  ASSERT_TRUE(client->write({reinterpret_cast<const uint8_t*>(after.data()), after.size()}).ok());
  pump(*client, server);
  // The server's first read consumes our no_renegotiation alert, the next one our data.
  unsigned char buf[64];
  int ret = mbedtls_ssl_read(&server.ssl, buf, sizeof buf);
  if (ret == MBEDTLS_ERR_SSL_WANT_READ) ret = mbedtls_ssl_read(&server.ssl, buf, sizeof buf);
  ASSERT_EQ(ret, static_cast<int>(after.size())) << mbedtls_error_text(ret);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), after.size()), after);
  const std::string reply = "and here";
  ASSERT_EQ(mbedtls_ssl_write(&server.ssl, reinterpret_cast<const unsigned char*>(reply.data()),
                              reply.size()),
            static_cast<int>(reply.size()));
  pump(*client, server);
  st = client->read(plain, SIZE_MAX);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(plain.to_string(), reply);
}

TEST_P(TlsEngineVsRawMbedtls, ClientRenegotiationIsRefusedByOurServer) {
  RawPeer client({.server = false, .renegotiation = true});
  auto server = our_server();
  ASSERT_TRUE(server);
  auto hs = handshake_with(*server, client);
  ASSERT_TRUE(hs.ok() && hs.value()) << (hs.ok() ? "unfinished" : hs.error().message());
  int ret = mbedtls_ssl_renegotiate(&client.ssl);
  EXPECT_EQ(ret, MBEDTLS_ERR_SSL_WANT_READ) << mbedtls_error_text(ret);
  pump(*server, client);
  ByteChain plain;
  auto st = server->read(plain, SIZE_MAX);
  ASSERT_TRUE(st.ok()) << st.error().message();  // refused, not torn down
  EXPECT_EQ(st.value(), TlsReadStatus::want_read);
  EXPECT_TRUE(plain.empty());
  EXPECT_GT(server->output_size(), 0u);  // the no_renegotiation warning alert
  pump(*server, client);
  // The peer's renegotiation fails on its side; ours is unaffected.
  EXPECT_NE(mbedtls_ssl_renegotiate(&client.ssl), 0);
  EXPECT_TRUE(server->read(plain, SIZE_MAX).ok());
}

TEST_P(TlsEngineVsRawMbedtls, OldProtocolVersionsAreRefused) {
  RawPeer client({.server = false, .max_minor = MBEDTLS_SSL_MINOR_VERSION_2});  // TLS 1.1
  auto server = our_server();
  ASSERT_TRUE(server);
  auto hs = handshake_with(*server, client);
  ASSERT_FALSE(hs.ok());
  EXPECT_EQ(hs.error().code(), Errc::tls);
  EXPECT_NE(hs.error().message().find("older than 1.2"), std::string::npos) << hs.error().message();

  // A TLS 1.1 server has no suite in common with our TLS 1.2 AEAD list and says so.
  RawPeer old_server({.server = true, .max_minor = MBEDTLS_SSL_MINOR_VERSION_2});
  auto client_engine = our_client();
  ASSERT_TRUE(client_engine);
  auto hs2 = handshake_with(*client_engine, old_server);
  ASSERT_FALSE(hs2.ok());
  EXPECT_EQ(hs2.error().code(), Errc::tls);
  EXPECT_NE(hs2.error().message().find("handshake_failure"), std::string::npos)
      << hs2.error().message();
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsEngineVsRawMbedtls, all_backends(), backend_param_name);

}  // namespace
}  // namespace pvb
