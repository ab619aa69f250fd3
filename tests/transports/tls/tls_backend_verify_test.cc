// Client verification modes over a MemPipe, for every pair of backends (tls_backend_suite.h):
// pinning, CA file, our own host name check, insecure. In every failure the client had queued a
// secret before the handshake: it must never arrive.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tls_backend_suite.h"

namespace pvb {
namespace {

using namespace tls_test;

constexpr const char* kSecret = "password=hunter2";

struct Outcome {
  bool connected = false;
  Error client_error;
  Error server_error;
  std::string server_got;
  std::optional<Sha256Fingerprint> peer;
};

Outcome connect(const BackendPair& backends, const TlsClientConfig& config,
                const GeneratedCert& leaf, const GeneratedCert* ca_in_chain,
                const std::string& server_name) {
  Loop loop;
  TlsPair p(loop, client_on(backends.client, config), server_on(backends.server, leaf, ca_in_chain),
            server_name);
  ByteChain secret(kSecret);
  p.client->write(secret);  // queued: goes out only after the handshake and verification
  p.start();
  loop.run_until([&] {
    return (p.c.connected && p.s.data.size() == std::string(kSecret).size()) ||
           (p.c.closed && p.s.closed);
  });
  Outcome o;
  o.connected = p.c.connected;
  o.client_error = p.c.error;
  o.server_error = p.s.error;
  o.server_got = p.s.data;
  o.peer = p.client->peer_fingerprint();
  return o;
}

bool contains(const Error& e, const std::string& needle) {
  return e.message().find(needle) != std::string::npos;
}

void expect_refused(const Outcome& o, const std::string& needle) {
  EXPECT_FALSE(o.connected);
  EXPECT_EQ(o.client_error.code(), Errc::tls_verify) << o.client_error.message();
  EXPECT_TRUE(contains(o.client_error, needle)) << o.client_error.message();
  EXPECT_EQ(o.server_got, "") << "application bytes reached a server we refused";
  // The server hears an alert, not a silent close.
  EXPECT_EQ(o.server_error.code(), Errc::tls) << o.server_error.message();
  EXPECT_TRUE(contains(o.server_error, "received fatal alert")) << o.server_error.message();
}

class TlsVerifySuite : public BackendPairTest {
 protected:
  Outcome connect(const TlsClientConfig& config, const GeneratedCert& leaf,
                  const GeneratedCert* ca_in_chain, const std::string& server_name) const {
    return pvb::connect(pair(), config, leaf, ca_in_chain, server_name);
  }
};

TEST_P(TlsVerifySuite, MatchingPinConnectsWhateverTheChainAndName) {
  Outcome o = connect(pinned_config({pki().self_signed.fingerprint}), pki().self_signed, nullptr,
                      "not-the-name.invalid");
  EXPECT_TRUE(o.connected) << o.client_error.message();
  EXPECT_EQ(o.server_got, kSecret);
  EXPECT_EQ(o.peer, pki().self_signed.fingerprint);
}

TEST_P(TlsVerifySuite, AnyOneOfSeveralPinsIsEnough) {
  Outcome o = connect(
      pinned_config({pki().stranger.fingerprint, pki().leaf.fingerprint, pki().ca.fingerprint}),
      pki().leaf, &pki().ca, "192.0.2.99");
  EXPECT_TRUE(o.connected) << o.client_error.message();
  EXPECT_EQ(o.server_got, kSecret);
}

TEST_P(TlsVerifySuite, PinsTheLeafNotTheCa) {
  // The CA's fingerprint is in the chain the server sends, but only the leaf counts.
  Outcome o =
      connect(pinned_config({pki().ca.fingerprint}), pki().leaf, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate fingerprint mismatch");
}

TEST_P(TlsVerifySuite, MismatchNamesExpectedAndPresentedAndSendsNothing) {
  const auto& a = pki().stranger.fingerprint;
  const auto& b = pki().self_signed.fingerprint;
  Outcome o = connect(pinned_config({a, b}), pki().leaf, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate fingerprint mismatch: expected " + format_fingerprint(a) +
                        " (or " + format_fingerprint(b) + "), got " +
                        format_fingerprint(pki().leaf.fingerprint));
  // mbedTLS marks every flag after a callback's fatal verdict and answers access_denied; OpenSSL
  // sends the alert of the verify error we set, bad_certificate.
  const char* alert =
      pair().client == TlsBackendKind::mbedtls ? "access_denied" : "bad_certificate (42)";
  EXPECT_TRUE(contains(o.server_error, alert)) << o.server_error.message();
}

TEST_P(TlsVerifySuite, CaFromAFileVerifies) {
  const std::string path = ::testing::TempDir() + "pvb_tls_test_ca_" + pair_name(pair()) + ".pem";
  {
    std::ofstream f(path);
    f << pki().ca.cert_pem;
  }
  TlsClientConfig config;
  config.verify = TlsVerify::ca_file;
  config.ca_file = path;
  Outcome o = connect(config, pki().leaf, &pki().ca, "pve1.example.com");
  std::remove(path.c_str());
  EXPECT_TRUE(o.connected) << o.client_error.message();
  EXPECT_EQ(o.server_got, kSecret);
}

TEST_P(TlsVerifySuite, ServerSendingOnlyTheLeafStillVerifies) {
  Outcome o = connect(ca_config(pki().ca), pki().leaf, nullptr, "pve1.example.com");
  EXPECT_TRUE(o.connected) << o.client_error.message();
}

TEST_P(TlsVerifySuite, CertificateFromAnotherCaIsNotTrusted) {
  Outcome o = connect(ca_config(pki().ca), pki().stranger, &pki().other_ca, "pve1.example.com");
  expect_refused(o, "certificate not trusted: ");
  EXPECT_TRUE(contains(o.client_error, "issuer CN=Another CA")) << o.client_error.message();
  EXPECT_TRUE(contains(o.server_error, "unknown_ca")) << o.server_error.message();
}

TEST_P(TlsVerifySuite, ExpiredCertificateIsNotTrusted) {
  Outcome o = connect(ca_config(pki().ca), pki().expired, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate not trusted: ");
  EXPECT_TRUE(contains(o.client_error, "expired")) << o.client_error.message();
  EXPECT_TRUE(contains(o.server_error, "certificate_expired")) << o.server_error.message();
}

TEST_P(TlsVerifySuite, SystemStoreDoesNotKnowOurTestCa) {
  TlsClientConfig config;  // system_ca is the default
  Outcome o = connect(config, pki().leaf, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate not trusted: ");
}

TEST_P(TlsVerifySuite, InsecureAcceptsAnything) {
  TlsClientConfig config;
  config.verify = TlsVerify::insecure;
  // Expired, from a CA we were not told about, and for another name.
  Outcome o = connect(config, pki().expired, nullptr, "10.9.8.7");
  EXPECT_TRUE(o.connected) << o.client_error.message();
  EXPECT_EQ(o.server_got, kSecret);
  EXPECT_EQ(o.peer, pki().expired.fingerprint);  // still reported, for trust-on-first-use
}

TEST_P(TlsVerifySuite, HostNameMismatchListsEveryPresentedName) {
  Outcome o = connect(ca_config(pki().ca), pki().leaf, &pki().ca, "192.0.2.99");
  EXPECT_EQ(o.client_error.message(),
            "host name mismatch: connected to 192.0.2.99, certificate is for pve1.example.com, "
            "192.0.2.10, 2001:db8::10");
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsVerifySuite, all_backend_pairs(), pair_param_name);

// --- our host name check, through each backend's certificate parsing -----------------------------

struct NameCase {
  const char* label;
  const GeneratedCert& (*cert)();
  const char* server_name;
  bool ok;
};

const GeneratedCert& leaf() {
  return pki().leaf;
}
const GeneratedCert& wildcard() {
  return pki().wildcard;
}
const GeneratedCert& cn_only() {
  return pki().cn_only;
}
const GeneratedCert& cn_ip() {
  return pki().cn_ip;
}

const NameCase kNameCases[] = {
    {"dns", leaf, "pve1.example.com", true},
    {"dns_upper_case", leaf, "PVE1.Example.Com", true},
    {"dns_other", leaf, "pve2.example.com", false},
    {"ipv4", leaf, "192.0.2.10", true},
    {"ipv4_other", leaf, "192.0.2.11", false},
    {"ipv6", leaf, "2001:db8::10", true},
    {"ipv6_long_form", leaf, "2001:0db8:0:0:0:0:0:0010", true},
    {"ipv6_bracketed", leaf, "[2001:db8::10]", true},
    {"ipv6_other", leaf, "2001:db8::11", false},
    {"wildcard", wildcard, "node1.pve.example.com", true},
    {"wildcard_not_bare_domain", wildcard, "pve.example.com", false},
    {"wildcard_one_label_only", wildcard, "a.node1.pve.example.com", false},
    {"cn_fallback", cn_only, "cnonly.example.com", true},
    {"cn_fallback_other", cn_only, "other.example.com", false},
    {"ip_never_matches_cn", cn_ip, "192.0.2.20", false},
};

// The client's backend extracts the names; the server's does not matter here.
class TlsHostName : public ::testing::TestWithParam<std::tuple<TlsBackendKind, NameCase>> {};

TEST_P(TlsHostName, ChecksTheNameAgainstTheCertificate) {
  const auto& [backend, c] = GetParam();
  Outcome o = connect({backend, backend}, ca_config(pki().ca), c.cert(), &pki().ca, c.server_name);
  if (c.ok) {
    EXPECT_TRUE(o.connected) << o.client_error.message();
    EXPECT_EQ(o.server_got, kSecret);
  } else {
    expect_refused(o, std::string("host name mismatch: connected to ") + c.server_name +
                          ", certificate is for ");
    EXPECT_TRUE(contains(o.server_error, "bad_certificate")) << o.server_error.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Names, TlsHostName, ::testing::Combine(all_backends(), ::testing::ValuesIn(kNameCases)),
    [](const ::testing::TestParamInfo<std::tuple<TlsBackendKind, NameCase>>& info) {
      return std::string(backend_name(std::get<0>(info.param))) + "_" +
             std::get<1>(info.param).label;
    });

// --- configuration errors, per backend -----------------------------------------------------------

class TlsConfigSuite : public ::testing::TestWithParam<TlsBackendKind> {
 protected:
  Result<std::shared_ptr<TlsContext>> client(TlsClientConfig config) const {
    config.backend = GetParam();
    return TlsContext::create_client(config);
  }
};

TEST_P(TlsConfigSuite, RejectsIncompleteOrUnsafeSettings) {
  TlsClientConfig no_ca;
  no_ca.verify = TlsVerify::ca_file;
  EXPECT_EQ(client(no_ca).error().code(), Errc::usage);

  TlsClientConfig missing_file;
  missing_file.verify = TlsVerify::ca_file;
  missing_file.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(client(missing_file).error().code(), Errc::io);

  TlsClientConfig no_bundle;
  no_bundle.system_ca_file = "/nonexistent/bundle.crt";
  auto bundle = client(no_bundle);
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().code(), Errc::io);
  EXPECT_TRUE(contains(bundle.error(), "/nonexistent/bundle.crt")) << bundle.error().message();

  TlsClientConfig garbage_pem = ca_config(pki().ca);
  garbage_pem.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(client(garbage_pem).ok());

  EXPECT_EQ(client(pinned_config({})).error().code(), Errc::usage);

  TlsClientConfig cbc = ca_config(pki().ca);
  cbc.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"};
  auto r = client(cbc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::usage);
  EXPECT_TRUE(contains(r.error(), "not allowed")) << r.error().message();

  TlsServerConfig wrong_key;
  wrong_key.backend = GetParam();
  wrong_key.cert_chain_pem = pki().leaf.cert_pem;
  wrong_key.key_pem = pki().stranger.key_pem;
  auto s = TlsContext::create_server(wrong_key);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::usage);
  EXPECT_TRUE(contains(s.error(), "does not match")) << s.error().message();

  TlsServerConfig no_cert;
  no_cert.backend = GetParam();
  no_cert.key_pem = pki().leaf.key_pem;
  auto n = TlsContext::create_server(no_cert);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code(), Errc::usage);
  EXPECT_TRUE(contains(n.error(), "cannot parse the server certificate")) << n.error().message();
}

TEST_P(TlsConfigSuite, ContextsReportTheirBackendAndRole) {
  auto c = client(ca_config(pki().ca));
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c.value()->backend(), GetParam());
  EXPECT_EQ(c.value()->role(), TlsRole::client);
  auto s = server_on(GetParam(), pki().leaf);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->role(), TlsRole::server);
}

INSTANTIATE_TEST_SUITE_P(Backends, TlsConfigSuite, all_backends(), backend_param_name);

}  // namespace
}  // namespace pvb
