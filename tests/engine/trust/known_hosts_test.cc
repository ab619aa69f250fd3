// known_hosts as text: parsing, lookups, damaged lines, and edits that keep the rest of the file.
#include "engine/trust/known_hosts.h"

#include <gtest/gtest.h>

#include "engine/core/base64.h"

namespace pvb {
namespace {

Sha256Fingerprint fp(uint8_t fill) {
  Sha256Fingerprint f;
  f.fill(fill);
  return f;
}

// Some bytes standing in for a CA's DER, and the line that carries them.
const std::vector<uint8_t> kCaDer = {0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00};

std::string ca_line(const std::string& server) {
  return server + " ca " + format_fingerprint(sha256_fingerprint(kCaDer)) + " " +
         base64_encode(kCaDer);
}

TEST(KnownHostKey, LowerCaseAndBracketedIpv6) {
  EXPECT_EQ(known_host_key("PVE1.Example.com", 8006), "pve1.example.com:8006");
  EXPECT_EQ(known_host_key("fd00::10", 8006), "[fd00::10]:8006");
  EXPECT_EQ(known_host_key("192.0.2.10", 443), "192.0.2.10:443");
  EXPECT_EQ(parse_known_host_key("PVE1:8006"), "pve1:8006");
  EXPECT_EQ(parse_known_host_key("[FD00::10]:8006"), "[fd00::10]:8006");
  for (const char* bad :
       {"pve1", "pve1:", ":8006", "pve1:0", "pve1:65536", "pve1:80x", "[fd00::10]", "[pve1]:8006",
        "fd00::10:8006", "pve 1:8006", "pve1/x:8006", "[192.0.2.1]:8006"}) {
    EXPECT_FALSE(parse_known_host_key(bad)) << bad;
  }
}

TEST(KnownHosts, ParsesBothKinds) {
  const std::string text = "# mine\n\npve1:8006 sha256 " + format_fingerprint(fp(0xAB)) + "\n" +
                           ca_line("[fd00::10]:8006") + "\r\n";
  KnownHosts kh = KnownHosts::parse(text);
  EXPECT_TRUE(kh.problems().empty());
  auto pve1 = kh.find("pve1:8006");
  ASSERT_TRUE(pve1.ok());
  ASSERT_NE(*pve1, nullptr);
  EXPECT_EQ((*pve1)->kind, TrustKind::certificate);
  EXPECT_EQ((*pve1)->fingerprint, fp(0xAB));
  EXPECT_EQ((*pve1)->line, 3u);
  auto v6 = kh.find("[fd00::10]:8006");
  ASSERT_TRUE(v6.ok());
  ASSERT_NE(*v6, nullptr);
  EXPECT_EQ((*v6)->kind, TrustKind::ca);
  EXPECT_EQ((*v6)->ca_der, kCaDer);
  EXPECT_EQ((*v6)->line, 4u);
  auto unknown = kh.find("pve2:8006");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(*unknown, nullptr);
  EXPECT_EQ(kh.entries().size(), 2u);
  EXPECT_EQ(kh.format(), text);  // read and written back unchanged
}

TEST(KnownHosts, FieldsMaySpreadOverSpacesAndTabsAndUseAnyCase) {
  KnownHosts kh = KnownHosts::parse("  PVE1:8006 \t SHA256   " + format_fingerprint(fp(1)) + "  ");
  auto e = kh.find("pve1:8006");
  ASSERT_TRUE(e.ok());
  ASSERT_NE(*e, nullptr);
  EXPECT_EQ((*e)->fingerprint, fp(1));
}

TEST(KnownHosts, DamagedLinesAreKeptAndBlockOnlyTheirServer) {
  const std::string good = "pve2:8006 sha256 " + format_fingerprint(fp(2));
  const std::string text = "pve1:8006 sha256 AA:BB\n" + good + "\n" + "pve3:8006 md5 " +
                           format_fingerprint(fp(3)) + "\n" + "pve4:8006 ca " +
                           format_fingerprint(fp(4)) + " " + base64_encode(kCaDer) +
                           "\n" +  // fingerprint not of that certificate
                           "pve5:8006 ca " + format_fingerprint(fp(5)) + " ***\n" +
                           "not-a-server sha256 x\n" + "pve6:8006\n";
  KnownHosts kh = KnownHosts::parse(text);
  EXPECT_EQ(kh.problems().size(), 6u);
  for (const char* server : {"pve1:8006", "pve3:8006", "pve4:8006", "pve5:8006", "pve6:8006"}) {
    auto e = kh.find(server);
    ASSERT_FALSE(e.ok()) << server;
    EXPECT_EQ(e.error().code(), Errc::usage);
    EXPECT_NE(e.error().message().find(server), std::string::npos) << e.error().message();
  }
  EXPECT_NE(kh.find("pve1:8006").error().message().find("line 1"), std::string::npos);
  EXPECT_NE(kh.find("pve4:8006").error().message().find("does not match"), std::string::npos);
  auto pve2 = kh.find("pve2:8006");
  ASSERT_TRUE(pve2.ok());
  EXPECT_NE(*pve2, nullptr);
  EXPECT_EQ(kh.format(), text);
}

TEST(KnownHosts, SetStartsANewFileWithItsExplanation) {
  KnownHosts kh;
  kh.set({.server = "pve1:8006", .kind = TrustKind::certificate, .fingerprint = fp(7)});
  const std::string text = kh.format();
  EXPECT_EQ(text.rfind("# pvebridge known_hosts", 0), 0u) << text;
  EXPECT_NE(text.find("\npve1:8006 sha256 " + format_fingerprint(fp(7)) + "\n"), std::string::npos)
      << text;
  KnownHosts reread = KnownHosts::parse(text);
  auto again = reread.find("pve1:8006");
  ASSERT_TRUE(again.ok());
  ASSERT_NE(*again, nullptr);
  EXPECT_EQ((*again)->fingerprint, fp(7));
  EXPECT_GT((*again)->line, 1u);
}

TEST(KnownHosts, SetReplacesInPlaceAndDropsDuplicatesAndDamage) {
  const std::string text = "# keep me\npve1:8006 sha256 " + format_fingerprint(fp(1)) +
                           "\npve2:8006 sha256 " + format_fingerprint(fp(2)) +
                           "\npve1:8006 sha256 " + format_fingerprint(fp(3)) +
                           "\npve1:8006 sha256 broken\n# end\n";
  KnownHosts kh = KnownHosts::parse(text);
  ASSERT_FALSE(kh.find("pve1:8006").ok());  // the damaged duplicate blocks it
  KnownHost ca{.server = "pve1:8006",
               .kind = TrustKind::ca,
               .fingerprint = sha256_fingerprint(kCaDer),
               .ca_der = kCaDer};
  kh.set(ca);
  EXPECT_EQ(kh.format(), "# keep me\n" + ca_line("pve1:8006") + "\npve2:8006 sha256 " +
                             format_fingerprint(fp(2)) + "\n# end\n");
  EXPECT_TRUE(kh.problems().empty());
  auto e = kh.find("pve1:8006");
  ASSERT_TRUE(e.ok());
  ASSERT_NE(*e, nullptr);
  EXPECT_EQ((*e)->line, 2u);
  kh.set({.server = "pve3:8006", .kind = TrustKind::certificate, .fingerprint = fp(9)});
  EXPECT_EQ(kh.entries().back().server, "pve3:8006");
  EXPECT_EQ(kh.entries().size(), 3u);
}

TEST(KnownHosts, ADeclinedClusterCaIsAFieldOfThePin) {
  const std::string pin = "pve1:8006 sha256 " + format_fingerprint(fp(1));
  KnownHosts kh = KnownHosts::parse(pin + " cluster-ca=declined\npve2:8006\tsha256 " +
                                    format_fingerprint(fp(2)) + "\tCluster-CA=Declined\n" +
                                    "pve3:8006 sha256 " + format_fingerprint(fp(3)) + "\n");
  EXPECT_TRUE(kh.problems().empty());
  for (const char* server : {"pve1:8006", "pve2:8006"}) {
    auto e = kh.find(server);
    ASSERT_TRUE(e.ok());
    ASSERT_NE(*e, nullptr);
    EXPECT_EQ((*e)->kind, TrustKind::certificate);
    EXPECT_TRUE((*e)->cluster_ca_declined) << server;
  }
  auto plain = kh.find("pve3:8006");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE((*plain)->cluster_ca_declined) << "a line without the field reads as before";
  EXPECT_EQ(format_known_host(**kh.find("pve1:8006")), pin + " cluster-ca=declined");
  EXPECT_EQ(format_known_host(**plain), "pve3:8006 sha256 " + format_fingerprint(fp(3)));

  // set() writes the field, and drops it again.
  KnownHost declined = **plain;
  declined.cluster_ca_declined = true;
  kh.set(declined);
  EXPECT_NE(
      kh.format().find("pve3:8006 sha256 " + format_fingerprint(fp(3)) + " cluster-ca=declined\n"),
      std::string::npos)
      << kh.format();
  declined.cluster_ca_declined = false;
  kh.set(declined);
  EXPECT_EQ(kh.format().find("pve3:8006 sha256 " + format_fingerprint(fp(3)) + " cluster"),
            std::string::npos);
}

TEST(KnownHosts, AnyOtherFieldAfterAPinOrACaIsDamage) {
  const std::string text = "pve1:8006 sha256 " + format_fingerprint(fp(1)) + " cluster-ca=maybe\n" +
                           "pve2:8006 sha256 " + format_fingerprint(fp(2)) +
                           " cluster-ca=declined extra\n" + ca_line("pve3:8006") +
                           " cluster-ca=declined\n";
  KnownHosts kh = KnownHosts::parse(text);
  EXPECT_EQ(kh.problems().size(), 3u);
  for (const char* server : {"pve1:8006", "pve2:8006", "pve3:8006"}) {
    EXPECT_FALSE(kh.find(server).ok()) << server;
  }
  EXPECT_NE(kh.find("pve1:8006").error().message().find("cluster-ca=declined"), std::string::npos)
      << kh.find("pve1:8006").error().message();
  EXPECT_EQ(kh.format(), text);
}

TEST(KnownHosts, OverlongLineIsDamage) {
  KnownHosts kh = KnownHosts::parse("pve1:8006 ca " + format_fingerprint(fp(1)) + " " +
                                    std::string(70000, 'A'));
  ASSERT_EQ(kh.problems().size(), 1u);
  EXPECT_EQ(kh.problems()[0].server, "pve1:8006");
  EXPECT_NE(kh.problems()[0].what.find("too long"), std::string::npos);
}

}  // namespace
}  // namespace pvb
