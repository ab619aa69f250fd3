#include "engine/core/host_name.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

std::vector<uint8_t> ip(const char* text) {
  return parse_ip_literal(text).value();
}

TEST(HostName, ParsesIpLiterals) {
  EXPECT_EQ(ip("192.0.2.10"), (std::vector<uint8_t>{192, 0, 2, 10}));
  EXPECT_EQ(ip("2001:db8::10").size(), 16u);
  EXPECT_EQ(ip("[2001:db8::10]"), ip("2001:DB8:0:0:0:0:0:10"));
  EXPECT_FALSE(parse_ip_literal("pve1.example.com"));
  EXPECT_FALSE(parse_ip_literal("192.0.2"));  // inet_aton would accept it; we do not
  EXPECT_FALSE(parse_ip_literal("192.0.2.256"));
  EXPECT_FALSE(parse_ip_literal(""));
  EXPECT_EQ(format_ip(ip("2001:db8::10")), "2001:db8::10");
  EXPECT_EQ(format_ip(ip("10.0.0.1")), "10.0.0.1");
}

TEST(HostName, DnsExactMatchIgnoresCaseAndTrailingDot) {
  EXPECT_TRUE(dns_name_matches("pve1.example.com", "pve1.example.com"));
  EXPECT_TRUE(dns_name_matches("PVE1.Example.COM", "pve1.example.com"));
  EXPECT_TRUE(dns_name_matches("pve1.example.com.", "pve1.example.com"));
  EXPECT_TRUE(dns_name_matches("pve1.example.com", "pve1.example.com."));
  EXPECT_FALSE(dns_name_matches("pve1.example.com", "pve2.example.com"));
  EXPECT_FALSE(dns_name_matches("example.com", "pve1.example.com"));
  EXPECT_FALSE(dns_name_matches("", "pve1.example.com"));
}

TEST(HostName, WildcardOnlyAsWholeLeftmostLabel) {
  EXPECT_TRUE(dns_name_matches("*.pve.example.com", "node1.pve.example.com"));
  EXPECT_TRUE(dns_name_matches("*.PVE.example.com", "NODE1.pve.example.com"));
  EXPECT_FALSE(dns_name_matches("*.pve.example.com", "pve.example.com"));         // no empty label
  EXPECT_FALSE(dns_name_matches("*.pve.example.com", "a.b.pve.example.com"));     // one label only
  EXPECT_FALSE(dns_name_matches("n*.pve.example.com", "node1.pve.example.com"));  // partial label
  EXPECT_FALSE(dns_name_matches("node1.*.example.com", "node1.pve.example.com"));
  EXPECT_FALSE(dns_name_matches("*.com", "example.com"));  // a whole top-level domain
  EXPECT_FALSE(dns_name_matches("*", "localhost"));
  EXPECT_FALSE(dns_name_matches("*.pve.example.com", "*.pve.example.com"));
}

CertNames leaf_names() {
  CertNames n;
  n.has_san = true;
  n.dns = {"pve1.example.com"};
  n.ips = {ip("192.0.2.10"), ip("2001:db8::10")};
  n.common_name = "pve1.example.com";
  return n;
}

TEST(HostName, IpLiteralsMatchOnlyIpSansByAddress) {
  CertNames n = leaf_names();
  EXPECT_TRUE(check_host_name("192.0.2.10", n).ok());
  EXPECT_TRUE(check_host_name("2001:db8::10", n).ok());
  EXPECT_TRUE(check_host_name("2001:0db8:0000::0010", n).ok());  // same address, other spelling
  EXPECT_TRUE(check_host_name("[2001:db8::10]", n).ok());
  EXPECT_FALSE(check_host_name("192.0.2.11", n).ok());
  EXPECT_FALSE(check_host_name("::ffff:192.0.2.10", n).ok());  // a v6 address is not the v4 one

  CertNames dns_says_ip;
  dns_says_ip.has_san = true;
  dns_says_ip.dns = {"192.0.2.10"};  // an IP written as a dNSName does not count
  EXPECT_FALSE(check_host_name("192.0.2.10", dns_says_ip).ok());
}

TEST(HostName, MismatchNamesBothSides) {
  Error e = check_host_name("192.0.2.99", leaf_names());
  EXPECT_EQ(e.code(), Errc::tls_verify);
  EXPECT_EQ(e.message(),
            "host name mismatch: connected to 192.0.2.99, certificate is for pve1.example.com, "
            "192.0.2.10, 2001:db8::10");
}

TEST(HostName, CommonNameOnlyWithoutAnySan) {
  CertNames cn_only;
  cn_only.common_name = "cnonly.example.com";
  EXPECT_TRUE(check_host_name("cnonly.example.com", cn_only).ok());
  Error e = check_host_name("other.example.com", cn_only);
  EXPECT_EQ(e.message(),
            "host name mismatch: connected to other.example.com, certificate is for "
            "CN=cnonly.example.com");

  CertNames with_san = leaf_names();
  with_san.dns = {"pve1.example.com"};
  with_san.common_name = "legacy.example.com";
  EXPECT_FALSE(check_host_name("legacy.example.com", with_san).ok());  // a SAN exists: CN ignored

  CertNames ip_cn;
  ip_cn.common_name = "192.0.2.20";
  EXPECT_FALSE(check_host_name("192.0.2.20", ip_cn).ok());  // IPs only against iPAddress SANs
}

}  // namespace
}  // namespace pvb
