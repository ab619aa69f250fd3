#include "transports/testing/cert_gen.h"

#include <gtest/gtest.h>
#include <mbedtls/x509_crt.h>

#include "tests/transports/tls/tls_test_util.h"
#include "transports/tls/mbedtls/mbedtls_random.h"

namespace pvb {
namespace {

using tls_test::pki;

struct ParsedCert {
  explicit ParsedCert(const GeneratedCert& c) {
    mbedtls_x509_crt_init(&crt);
    ok = mbedtls_x509_crt_parse_der(&crt, c.der.data(), c.der.size()) == 0;
  }
  ~ParsedCert() { mbedtls_x509_crt_free(&crt); }
  mbedtls_x509_crt crt;
  bool ok = false;
};

// mbedTLS's own chain verification of `leaf` against `ca` (no name check); returns the flags.
uint32_t verify_flags(const GeneratedCert& leaf, const GeneratedCert& ca) {
  ParsedCert l(leaf), c(ca);
  uint32_t flags = 0;
  mbedtls_x509_crt_verify(&l.crt, &c.crt, nullptr, nullptr, &flags, nullptr, nullptr);
  return flags;
}

TEST(CertGen, LeafCarriesDnsAndIpSubjectAltNames) {
  const GeneratedCert& leaf = pki().leaf;
  ParsedCert p(leaf);
  ASSERT_TRUE(p.ok);
  CertNames names = mbedtls_cert_names(p.crt);
  EXPECT_TRUE(names.has_san);
  EXPECT_EQ(names.dns, std::vector<std::string>{"pve1.example.com"});
  ASSERT_EQ(names.ips.size(), 2u);
  EXPECT_EQ(format_ip(names.ips[0]), "192.0.2.10");
  EXPECT_EQ(format_ip(names.ips[1]), "2001:db8::10");
  EXPECT_EQ(names.common_name, "pve1.example.com");
  EXPECT_EQ(mbedtls_subject(p.crt), "CN=pve1.example.com");
  EXPECT_EQ(mbedtls_issuer(p.crt), "CN=pvebridge test CA");
  EXPECT_EQ(p.crt.ca_istrue, 0);
  EXPECT_EQ(mbedtls_pk_get_type(&p.crt.pk), MBEDTLS_PK_ECKEY);
  EXPECT_EQ(leaf.fingerprint, sha256_fingerprint(leaf.der));
  EXPECT_NE(leaf.cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(leaf.key_pem.find("PRIVATE KEY-----"), std::string::npos);
}

TEST(CertGen, IssuedCertVerifiesAgainstItsCaOnly) {
  EXPECT_EQ(verify_flags(pki().leaf, pki().ca), 0u);
  EXPECT_NE(verify_flags(pki().leaf, pki().other_ca) & MBEDTLS_X509_BADCERT_NOT_TRUSTED, 0u);
  EXPECT_EQ(verify_flags(pki().stranger, pki().other_ca), 0u);
}

TEST(CertGen, CaHasCaConstraintAndSelfSignedIsItsOwnIssuer) {
  ParsedCert ca(pki().ca);
  ASSERT_TRUE(ca.ok);
  EXPECT_EQ(ca.crt.ca_istrue, 1);
  EXPECT_EQ(mbedtls_issuer(ca.crt), mbedtls_subject(ca.crt));
  ParsedCert self(pki().self_signed);
  ASSERT_TRUE(self.ok);
  EXPECT_EQ(mbedtls_issuer(self.crt), "CN=pve1.example.com");
  EXPECT_EQ(verify_flags(pki().self_signed, pki().self_signed) & MBEDTLS_X509_BADCERT_NOT_TRUSTED,
            0u);
}

TEST(CertGen, ExpiredCertIsExpired) {
  ParsedCert p(pki().expired);
  ASSERT_TRUE(p.ok);
  EXPECT_TRUE(mbedtls_x509_time_is_past(&p.crt.valid_to));
  EXPECT_NE(verify_flags(pki().expired, pki().ca) & MBEDTLS_X509_BADCERT_EXPIRED, 0u);
  ParsedCert fresh(pki().leaf);
  EXPECT_FALSE(mbedtls_x509_time_is_past(&fresh.crt.valid_to));
}

TEST(CertGen, NoSanMeansNoExtensionAndCnWithComma) {
  ParsedCert p(pki().cn_only);
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(mbedtls_cert_names(p.crt).has_san);
  auto odd = generate_cert({.common_name = "Example, Inc. node"});
  ASSERT_TRUE(odd.ok()) << odd.error().message();
  ParsedCert q(*odd);
  ASSERT_TRUE(q.ok);
  EXPECT_EQ(mbedtls_cert_names(q.crt).common_name, "Example, Inc. node");
}

TEST(CertGen, KeyMatchesCertificateAndEachCertIsUnique) {
  const GeneratedCert& leaf = pki().leaf;
  ParsedCert p(leaf);
  mbedtls_pk_context key;
  mbedtls_pk_init(&key);
  ASSERT_EQ(mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(leaf.key_pem.c_str()),
                                 leaf.key_pem.size() + 1, nullptr, 0),
            0);
  EXPECT_EQ(mbedtls_pk_check_pair(&p.crt.pk, &key), 0);
  mbedtls_pk_free(&key);
  EXPECT_NE(pki().leaf.fingerprint, pki().stranger.fingerprint);
}

TEST(CertGen, RejectsABadIpAddress) {
  auto bad = generate_cert({.common_name = "x", .ip_sans = {"300.1.1.1"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::usage);
  EXPECT_NE(bad.error().message().find("300.1.1.1"), std::string::npos);
}

}  // namespace
}  // namespace pvb
