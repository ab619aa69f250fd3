// TlsClientConfig::on_rejected, for every pair of backends: each refusal by our verification is
// reported once, with the chain exactly as the server sent it and the same reason the handshake
// then fails with; a handshake that succeeds reports nothing.
#include <gtest/gtest.h>

#include <optional>

#include "tls_backend_suite.h"

namespace pvb {
namespace {

using namespace tls_test;

struct Seen {
  int calls = 0;
  TlsRejection last;
  bool connected = false;
  Error client_error;
};

Seen handshake(const BackendPair& backends, TlsClientConfig config, const GeneratedCert& leaf,
               const GeneratedCert* ca_in_chain, const std::string& server_name) {
  Seen seen;
  config.on_rejected = [&seen](const TlsRejection& r) {
    ++seen.calls;
    seen.last = r;
  };
  Loop loop;
  TlsPair p(loop, client_on(backends.client, config), server_on(backends.server, leaf, ca_in_chain),
            server_name);
  p.start();
  loop.run_until([&] { return p.c.connected || (p.c.closed && p.s.closed); });
  seen.connected = p.c.connected;
  seen.client_error = p.c.error;
  return seen;
}

std::vector<std::vector<uint8_t>> ders(std::initializer_list<const GeneratedCert*> certs) {
  std::vector<std::vector<uint8_t>> out;
  for (const GeneratedCert* c : certs) out.push_back(c->der);
  return out;
}

class TlsRejectionSuite : public BackendPairTest {};

TEST_P(TlsRejectionSuite, UntrustedChainIsReportedWithEveryCertificateSent) {
  Seen s = handshake(pair(), ca_config(pki().other_ca), pki().leaf, &pki().ca, "pve1.example.com");
  EXPECT_FALSE(s.connected);
  EXPECT_EQ(s.client_error.code(), Errc::tls_verify);
  ASSERT_EQ(s.calls, 1);
  EXPECT_EQ(s.last.server_name, "pve1.example.com");
  EXPECT_EQ(s.last.chain_der, ders({&pki().leaf, &pki().ca}));
  EXPECT_EQ(s.last.reason.code(), Errc::tls_verify);
  EXPECT_EQ(s.last.reason.message(), s.client_error.message());
}

TEST_P(TlsRejectionSuite, SystemCaRefusalCarriesTheLeafAlone) {
  TlsClientConfig config;  // the system CAs know nothing of our test PKI
  Seen s = handshake(pair(), config, pki().self_signed, nullptr, "pve1.example.com");
  EXPECT_FALSE(s.connected);
  ASSERT_EQ(s.calls, 1);
  EXPECT_EQ(s.last.chain_der, ders({&pki().self_signed}));
  EXPECT_EQ(s.last.reason.message(), s.client_error.message());
}

TEST_P(TlsRejectionSuite, PinMismatchIsReported) {
  Seen s =
      handshake(pair(), pinned_config({pki().stranger.fingerprint}), pki().leaf, &pki().ca, "x");
  EXPECT_FALSE(s.connected);
  ASSERT_EQ(s.calls, 1);
  EXPECT_EQ(s.last.chain_der, ders({&pki().leaf, &pki().ca}));
  EXPECT_NE(s.last.reason.message().find("fingerprint mismatch"), std::string::npos);
}

TEST_P(TlsRejectionSuite, HostNameMismatchIsReported) {
  Seen s = handshake(pair(), ca_config(pki().ca), pki().leaf, &pki().ca, "pve2.example.com");
  EXPECT_FALSE(s.connected);
  ASSERT_EQ(s.calls, 1);
  EXPECT_NE(s.last.reason.message().find("host name mismatch"), std::string::npos)
      << s.last.reason.message();
  EXPECT_EQ(s.last.chain_der.front(), pki().leaf.der);
}

TEST_P(TlsRejectionSuite, NothingIsReportedWhenVerificationPasses) {
  Seen ca = handshake(pair(), ca_config(pki().ca), pki().leaf, &pki().ca, "pve1.example.com");
  EXPECT_TRUE(ca.connected) << ca.client_error.message();
  EXPECT_EQ(ca.calls, 0);
  Seen pin = handshake(pair(), pinned_config({pki().leaf.fingerprint}), pki().leaf, nullptr, "x");
  EXPECT_TRUE(pin.connected) << pin.client_error.message();
  EXPECT_EQ(pin.calls, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsRejectionSuite, all_backend_pairs(), pair_param_name);

}  // namespace
}  // namespace pvb
