// cert_inspect.h: summaries, PEM <-> DER, and the chain check against one anchor that decides
// whether trust on first use may offer a CA.
#include "engine/io/server_certificate.h"

#include <gtest/gtest.h>

#include "tests/transports/tls/tls_test_util.h"

namespace pvb {
namespace {

using namespace tls_test;

bool is_date(const std::string& s) {
  return s.size() == 10 && s[4] == '-' && s[7] == '-';
}

TEST(CertInspect, SummarizesALeafAndItsCa) {
  auto leaf = summarize_certificate(pki().leaf.der);
  ASSERT_TRUE(leaf.ok()) << leaf.error().message();
  EXPECT_EQ(leaf->subject, "CN=pve1.example.com");
  EXPECT_EQ(leaf->issuer, "CN=pvebridge test CA");
  EXPECT_FALSE(leaf->is_ca);
  EXPECT_FALSE(leaf->self_issued);
  EXPECT_EQ(leaf->fingerprint, pki().leaf.fingerprint);
  EXPECT_TRUE(is_date(leaf->not_before)) << leaf->not_before;
  EXPECT_TRUE(is_date(leaf->not_after)) << leaf->not_after;
  EXPECT_LT(leaf->not_before, leaf->not_after);

  auto ca = summarize_certificate(pki().ca.der);
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(ca->is_ca);
  EXPECT_TRUE(ca->self_issued);
  auto self = summarize_certificate(pki().self_signed.der);
  ASSERT_TRUE(self.ok());
  EXPECT_TRUE(self->self_issued);
  EXPECT_FALSE(self->is_ca);
}

TEST(CertInspect, GarbageIsNotACertificate) {
  std::vector<uint8_t> junk = {0x30, 0x03, 0x01, 0x02, 0x03};
  EXPECT_EQ(summarize_certificate(junk).error().code(), Errc::protocol);
  EXPECT_EQ(summarize_certificate({}).error().code(), Errc::protocol);
}

TEST(CertInspect, PemRoundTrip) {
  const std::string pem = certificate_pem(pki().ca.der);
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u) << pem;
  EXPECT_EQ(pem.substr(pem.size() - 26), "-----END CERTIFICATE-----\n");
  auto back = certificates_from_pem(pem + certificate_pem(pki().leaf.der));
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], pki().ca.der);
  EXPECT_EQ((*back)[1], pki().leaf.der);
  EXPECT_EQ(certificates_from_pem("no PEM here").error().code(), Errc::usage);
}

TEST(CertInspect, ChainVerifiesWithItsOwnCaForItsNames) {
  const std::vector<std::vector<uint8_t>> chain = {pki().leaf.der, pki().ca.der};
  EXPECT_TRUE(verify_chain_with_ca(chain, pki().ca.der, "pve1.example.com").ok());
  EXPECT_TRUE(verify_chain_with_ca(chain, pki().ca.der, "192.0.2.10").ok());
  EXPECT_TRUE(verify_chain_with_ca({pki().leaf.der}, pki().ca.der, "").ok());
}

TEST(CertInspect, ChainDoesNotVerifyWithAnotherCaOrName) {
  const std::vector<std::vector<uint8_t>> chain = {pki().leaf.der, pki().ca.der};
  Error other = verify_chain_with_ca(chain, pki().other_ca.der, "pve1.example.com");
  EXPECT_EQ(other.code(), Errc::tls_verify);
  EXPECT_NE(other.message().find("does not verify with that CA"), std::string::npos);
  Error name = verify_chain_with_ca(chain, pki().ca.der, "pve2.example.com");
  EXPECT_EQ(name.code(), Errc::tls_verify);
  EXPECT_NE(name.message().find("host name mismatch"), std::string::npos) << name.message();
  Error expired = verify_chain_with_ca({pki().expired.der}, pki().ca.der, "pve1.example.com");
  EXPECT_EQ(expired.code(), Errc::tls_verify);
  EXPECT_EQ(verify_chain_with_ca({}, pki().ca.der, "x").code(), Errc::tls_verify);
}

}  // namespace
}  // namespace pvb
