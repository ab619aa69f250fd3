// Client verification modes over a MemPipe: pinning, CA file, our own host name check, insecure.
// In every failure the client had queued a secret before the handshake: it must never arrive.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tls_test_util.h"

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

Outcome connect(const TlsClientConfig& config, const GeneratedCert& leaf,
                const GeneratedCert* ca_in_chain, const std::string& server_name) {
  Loop loop;
  TlsPair p(loop, client_context(config), server_context(leaf, ca_in_chain), server_name);
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

TEST(TlsPinned, MatchingPinConnectsWhateverTheChainAndName) {
  Outcome o = connect(pinned_config({pki().self_signed.fingerprint}), pki().self_signed, nullptr,
                      "not-the-name.invalid");
  EXPECT_TRUE(o.connected) << o.client_error.message();
  EXPECT_EQ(o.server_got, kSecret);
  EXPECT_EQ(o.peer, pki().self_signed.fingerprint);
}

TEST(TlsPinned, AnyOneOfSeveralPinsIsEnough) {
  Outcome o = connect(
      pinned_config({pki().stranger.fingerprint, pki().leaf.fingerprint, pki().ca.fingerprint}),
      pki().leaf, &pki().ca, "192.0.2.99");
  EXPECT_TRUE(o.connected) << o.client_error.message();
  EXPECT_EQ(o.server_got, kSecret);
}

TEST(TlsPinned, PinsTheLeafNotTheCa) {
  // The CA's fingerprint is in the chain the server sends, but only the leaf counts.
  Outcome o =
      connect(pinned_config({pki().ca.fingerprint}), pki().leaf, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate fingerprint mismatch");
}

TEST(TlsPinned, MismatchNamesExpectedAndPresentedAndSendsNothing) {
  const auto& a = pki().stranger.fingerprint;
  const auto& b = pki().self_signed.fingerprint;
  Outcome o = connect(pinned_config({a, b}), pki().leaf, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate fingerprint mismatch: expected " + format_fingerprint(a) +
                        " (or " + format_fingerprint(b) + "), got " +
                        format_fingerprint(pki().leaf.fingerprint));
  // mbedTLS marks every flag after a callback's fatal verdict, and answers access_denied.
  EXPECT_TRUE(contains(o.server_error, "access_denied")) << o.server_error.message();
}

TEST(TlsCaFile, CaFromAFileVerifies) {
  const std::string path = ::testing::TempDir() + "pvb_tls_test_ca.pem";
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

TEST(TlsCaFile, ServerSendingOnlyTheLeafStillVerifies) {
  Outcome o = connect(ca_config(pki().ca), pki().leaf, nullptr, "pve1.example.com");
  EXPECT_TRUE(o.connected) << o.client_error.message();
}

TEST(TlsCaFile, CertificateFromAnotherCaIsNotTrusted) {
  Outcome o = connect(ca_config(pki().ca), pki().stranger, &pki().other_ca, "pve1.example.com");
  expect_refused(o, "certificate not trusted: ");
  EXPECT_TRUE(contains(o.client_error, "issuer CN=Another CA")) << o.client_error.message();
  EXPECT_TRUE(contains(o.server_error, "unknown_ca")) << o.server_error.message();
}

TEST(TlsCaFile, ExpiredCertificateIsNotTrusted) {
  Outcome o = connect(ca_config(pki().ca), pki().expired, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate not trusted: ");
  EXPECT_TRUE(contains(o.client_error, "expired")) << o.client_error.message();
  EXPECT_TRUE(contains(o.server_error, "certificate_expired")) << o.server_error.message();
}

TEST(TlsCaFile, SystemStoreDoesNotKnowOurTestCa) {
  TlsClientConfig config;  // system_ca is the default
  Outcome o = connect(config, pki().leaf, &pki().ca, "pve1.example.com");
  expect_refused(o, "certificate not trusted: ");
}

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

class TlsHostName : public ::testing::TestWithParam<NameCase> {};

TEST_P(TlsHostName, ChecksTheNameAgainstTheCertificate) {
  const NameCase& c = GetParam();
  Outcome o = connect(ca_config(pki().ca), c.cert(), &pki().ca, c.server_name);
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
    Names, TlsHostName,
    ::testing::Values(NameCase{"dns", leaf, "pve1.example.com", true},
                      NameCase{"dns_upper_case", leaf, "PVE1.Example.Com", true},
                      NameCase{"dns_other", leaf, "pve2.example.com", false},
                      NameCase{"ipv4", leaf, "192.0.2.10", true},
                      NameCase{"ipv4_other", leaf, "192.0.2.11", false},
                      NameCase{"ipv6", leaf, "2001:db8::10", true},
                      NameCase{"ipv6_long_form", leaf, "2001:0db8:0:0:0:0:0:0010", true},
                      NameCase{"ipv6_bracketed", leaf, "[2001:db8::10]", true},
                      NameCase{"ipv6_other", leaf, "2001:db8::11", false},
                      NameCase{"wildcard", wildcard, "node1.pve.example.com", true},
                      NameCase{"wildcard_not_bare_domain", wildcard, "pve.example.com", false},
                      NameCase{"wildcard_one_label_only", wildcard, "a.node1.pve.example.com",
                               false},
                      NameCase{"cn_fallback", cn_only, "cnonly.example.com", true},
                      NameCase{"cn_fallback_other", cn_only, "other.example.com", false},
                      NameCase{"ip_never_matches_cn", cn_ip, "192.0.2.20", false}),
    [](const ::testing::TestParamInfo<NameCase>& info) { return std::string(info.param.label); });

TEST(TlsHostNameMessage, ListsEveryPresentedName) {
  Outcome o = connect(ca_config(pki().ca), pki().leaf, &pki().ca, "192.0.2.99");
  EXPECT_EQ(o.client_error.message(),
            "host name mismatch: connected to 192.0.2.99, certificate is for pve1.example.com, "
            "192.0.2.10, 2001:db8::10");
}

TEST(TlsInsecure, AcceptsAnything) {
  TlsClientConfig config;
  config.verify = TlsVerify::insecure;
  // Expired, from a CA we were not told about, and for another name.
  Outcome o = connect(config, pki().expired, nullptr, "10.9.8.7");
  EXPECT_TRUE(o.connected) << o.client_error.message();
  EXPECT_EQ(o.server_got, kSecret);
  EXPECT_EQ(o.peer, pki().expired.fingerprint);  // still reported, for trust-on-first-use
}

TEST(TlsConfig, RejectsIncompleteOrUnsafeSettings) {
  TlsClientConfig no_ca;
  no_ca.verify = TlsVerify::ca_file;
  EXPECT_EQ(TlsContext::create_client(no_ca).error().code(), Errc::usage);

  TlsClientConfig missing_file;
  missing_file.verify = TlsVerify::ca_file;
  missing_file.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(TlsContext::create_client(missing_file).error().code(), Errc::io);

  TlsClientConfig no_bundle;
  no_bundle.system_ca_file = "/nonexistent/bundle.crt";
  EXPECT_EQ(TlsContext::create_client(no_bundle).error().code(), Errc::io);

  TlsClientConfig garbage_pem = ca_config(pki().ca);
  garbage_pem.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(TlsContext::create_client(garbage_pem).ok());

  EXPECT_EQ(TlsContext::create_client(pinned_config({})).error().code(), Errc::usage);

  TlsClientConfig cbc = ca_config(pki().ca);
  cbc.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"};
  auto r = TlsContext::create_client(cbc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::usage);
  EXPECT_TRUE(contains(r.error(), "not allowed")) << r.error().message();

  TlsServerConfig wrong_key;
  wrong_key.cert_chain_pem = pki().leaf.cert_pem;
  wrong_key.key_pem = pki().stranger.key_pem;
  auto s = TlsContext::create_server(wrong_key);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.error(), "does not match")) << s.error().message();
}

}  // namespace
}  // namespace pvb
