// TlsTransport (each backend as the client) against a raw byte-level peer: what goes into our
// ClientHello (versions, suites, SNI) and how servers that refuse us, or are not TLS servers at
// all, are reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "tls_backend_suite.h"

namespace pvb {
namespace {

using namespace tls_test;

struct ClientHello {
  bool complete = false;
  uint16_t version = 0;
  std::vector<uint16_t> suites;
  std::map<uint16_t, std::string> extensions;
};

uint16_t be16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) << 8 | static_cast<uint8_t>(b[at + 1]));
}

// Enough of RFC 5246 7.4.1.2 / RFC 8446 4.1.2 to read the first record of a client's flight.
ClientHello parse_client_hello(const std::string& b) {
  ClientHello h;
  if (b.size() < 9 || b[0] != 0x16 || b.size() < 5u + be16(b, 3) || b[5] != 1) return h;
  size_t p = 9;
  h.version = be16(b, p);
  p += 2 + 32;
  p += 1 + static_cast<uint8_t>(b[p]);  // session id
  const size_t suites_len = be16(b, p);
  for (size_t i = 0; i < suites_len; i += 2) h.suites.push_back(be16(b, p + 2 + i));
  p += 2 + suites_len;
  p += 1 + static_cast<uint8_t>(b[p]);  // compression methods
  const size_t end = p + 2 + be16(b, p);
  p += 2;
  while (p + 4 <= end) {
    const size_t len = be16(b, p + 2);
    h.extensions[be16(b, p)] = b.substr(p + 4, len);
    p += 4 + len;
  }
  h.complete = p == end;
  return h;
}

// The far end of the pipe, speaking raw bytes: records what the client sends and answers once.
struct RawServer : TransportSink {
  MemPipeEnd* end = nullptr;
  std::string got;
  std::function<void(RawServer&)> respond;
  void on_data(ByteChain& c, bool) override {
    got += c.to_string();
    c.clear();
    if (respond) {
      auto r = std::move(respond);
      respond = nullptr;
      r(*this);
    }
  }
  void on_closed(const Error&) override {}
  void send(const std::string& bytes) {
    ByteChain c(bytes);
    end->write(c);
  }
};

struct RawFixture {
  RawFixture(TlsBackendKind backend, const std::string& server_name,
             TlsClientConfig config = ca_config(pki().ca)) {
    auto [a, b] = make_mem_pipe(loop);
    client = std::make_unique<TlsTransport>(std::move(a), client_on(backend, config), server_name);
    raw = std::move(b);
    r.end = raw.get();
    raw->set_sink(&r);
    client->set_sink(&c);
    client->start();
    raw->start();
  }
  ClientHello client_hello() {
    loop.run_until([&] { return parse_client_hello(r.got).complete || c.closed; });
    return parse_client_hello(r.got);
  }
  Error run_to_failure() {
    loop.run_until([&] { return c.closed; });
    EXPECT_FALSE(c.connected);
    return c.error;
  }
  Loop loop;
  std::unique_ptr<TlsTransport> client;
  std::unique_ptr<MemPipeEnd> raw;
  Collector c;
  RawServer r;
};

const std::string kAlertProtocolVersion("\x15\x03\x03\x00\x02\x02\x46", 7);
const std::string kAlertHandshakeFailure("\x15\x03\x03\x00\x02\x02\x28", 7);

// Our six TLS 1.2 ECDHE AEAD suites, and TLS 1.3's three.
const std::vector<uint16_t> kTls12Suites = {0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9};
const std::vector<uint16_t> kTls13Suites = {0x1301, 0x1302, 0x1303};

// What a client says when a server refuses it before ServerHello: mbedTLS cannot speak TLS 1.3,
// so it points at a backend that can; OpenSSL offers both versions and says so.
std::string refusal_phrase(TlsBackendKind backend) {
  if (backend == TlsBackendKind::mbedtls) {
    return "the server requires TLS 1.3, which the mbedTLS backend (TLS 1.2 only) cannot speak";
  }
  return "no protocol version or cipher suite in common (we offer TLS 1.2 and 1.3";
}

class TlsClientHello : public ::testing::TestWithParam<TlsBackendKind> {
 protected:
  TlsBackendKind backend() const { return GetParam(); }
};

TEST_P(TlsClientHello, OffersAeadSuitesOnlyAndSniForDnsNames) {
  RawFixture f(backend(), "pve1.example.com");
  ClientHello h = f.client_hello();
  ASSERT_TRUE(h.complete);
  EXPECT_EQ(h.version, 0x0303);  // TLS 1.3 keeps 1.2 in legacy_version
  // Exactly our suites (plus the renegotiation-info signalling value).
  std::vector<uint16_t> suites;
  for (uint16_t s : h.suites) {
    if (s != 0x00FF) suites.push_back(s);
  }
  std::sort(suites.begin(), suites.end());
  std::vector<uint16_t> expected = kTls12Suites;
  if (backend() == TlsBackendKind::openssl) {
    // TLS 1.3 as well, announced in supported_versions: 1.3 and 1.2, nothing older.
    expected.insert(expected.begin(), kTls13Suites.begin(), kTls13Suites.end());
    ASSERT_EQ(h.extensions.count(43), 1u);
    EXPECT_EQ(h.extensions[43], std::string("\x04\x03\x04\x03\x03", 5));
  } else {
    EXPECT_EQ(h.extensions.count(43), 0u);  // no supported_versions: TLS 1.2 is its ceiling
  }
  EXPECT_EQ(suites, expected);
  ASSERT_EQ(h.extensions.count(0), 1u);
  EXPECT_NE(h.extensions[0].find("pve1.example.com"), std::string::npos);
}

TEST_P(TlsClientHello, NamingOnlyTls12SuitesOffersTls12Only) {
  TlsClientConfig config = ca_config(pki().ca);
  config.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
  RawFixture f(backend(), "pve1.example.com", config);
  ClientHello h = f.client_hello();
  ASSERT_TRUE(h.complete);
  EXPECT_EQ(h.extensions.count(43), 0u);
  EXPECT_TRUE(std::count(h.suites.begin(), h.suites.end(), 0xC02B) == 1);
  for (uint16_t s : kTls13Suites) EXPECT_EQ(std::count(h.suites.begin(), h.suites.end(), s), 0);
}

TEST_P(TlsClientHello, NoSniForIpLiterals) {
  for (const char* ip : {"192.0.2.10", "2001:db8::10"}) {
    RawFixture f(backend(), ip);
    ClientHello h = f.client_hello();
    ASSERT_TRUE(h.complete) << ip;
    EXPECT_EQ(h.extensions.count(0), 0u) << ip;
  }
}

TEST_P(TlsClientHello, ProtocolVersionAlertBeforeServerHelloIsExplained) {
  RawFixture f(backend(), "pve1.example.com");
  f.r.respond = [](RawServer& r) { r.send(kAlertProtocolVersion); };
  Error e = f.run_to_failure();
  EXPECT_EQ(e.code(), Errc::tls);
  EXPECT_NE(e.message().find(refusal_phrase(backend())), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("protocol_version (70)"), std::string::npos) << e.message();
}

TEST_P(TlsClientHello, HandshakeFailureBeforeServerHelloIsExplained) {
  RawFixture f(backend(), "pve1.example.com");
  f.r.respond = [](RawServer& r) { r.send(kAlertHandshakeFailure); };
  Error e = f.run_to_failure();
  EXPECT_EQ(e.code(), Errc::tls);
  EXPECT_NE(e.message().find(refusal_phrase(backend())), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("handshake_failure (40)"), std::string::npos) << e.message();
}

TEST_P(TlsClientHello, ServerClosingDuringTheHandshake) {
  RawFixture f(backend(), "pve1.example.com");
  f.r.respond = [](RawServer& r) { r.end->close(CloseMode::Flush); };
  Error e = f.run_to_failure();
  EXPECT_EQ(e.code(), Errc::tls);
  EXPECT_NE(e.message().find("closed the connection"), std::string::npos) << e.message();
}

// A plain-HTTP server reads our ClientHello as a bad request and answers in HTTP: the client says
// so with a code (Errc::not_tls), whatever its backend made of "HTTP/" as a record header.
TEST_P(TlsClientHello, PlainHttpAnswerIsNotTls) {
  RawFixture f(backend(), "pve1.example.com");
  f.r.respond = [](RawServer& r) {
    r.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  };
  Error e = f.run_to_failure();
  EXPECT_EQ(e.code(), Errc::not_tls) << e.message();
  EXPECT_NE(e.message().find("TLS handshake failed"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("plain HTTP"), std::string::npos) << e.message();
}

TEST_P(TlsClientHello, OtherGarbageStaysATlsError) {
  RawFixture f(backend(), "pve1.example.com");
  f.r.respond = [](RawServer& r) { r.send("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"); };
  Error e = f.run_to_failure();
  EXPECT_EQ(e.code(), Errc::tls) << e.message();
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsClientHello, all_backends(), backend_param_name);

}  // namespace
}  // namespace pvb
