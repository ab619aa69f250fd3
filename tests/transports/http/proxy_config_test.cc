#include "transports/http/proxy_config.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

TEST(ProxyUrl, HostAndPort) {
  auto u = parse_proxy_url("http://proxy.example.com:3128");
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->host, "proxy.example.com");
  EXPECT_EQ(u->port, 3128);
  EXPECT_FALSE(u->has_credentials());
  EXPECT_EQ(u->authority(), "proxy.example.com:3128");
}

TEST(ProxyUrl, SchemeIsOptionalAndPortDefaultsTo80) {
  auto bare = parse_proxy_url("Proxy.Example.COM:8080");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->host, "proxy.example.com");
  EXPECT_EQ(bare->port, 8080);
  auto no_port = parse_proxy_url("HTTP://proxy/");
  ASSERT_TRUE(no_port.ok()) << no_port.error().message();
  EXPECT_EQ(no_port->port, 80);
  auto v6 = parse_proxy_url("http://[fd00::3]:3128");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "fd00::3");
  EXPECT_EQ(v6->authority(), "[fd00::3]:3128");
}

TEST(ProxyUrl, CredentialsArePercentDecodedAndBecomeBasic) {
  auto u = parse_proxy_url("http://alice%40corp:p%3Ass@w0rd@proxy:3128");
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->username, "alice@corp");
  EXPECT_EQ(u->password, "p:ss@w0rd");
  EXPECT_EQ(u->host, "proxy");
  EXPECT_TRUE(u->has_credentials());
  auto simple = parse_proxy_url("http://user:pass@proxy:3128");
  ASSERT_TRUE(simple.ok());
  EXPECT_EQ(simple->basic_authorization(), "Basic dXNlcjpwYXNz");
  EXPECT_EQ(simple->authority(), "proxy:3128");  // never the credentials
}

TEST(ProxyUrl, RefusesWhatWeCannotSpeakAndNeverEchoesThePassword) {
  for (const char* bad :
       {"", "socks5://proxy:1080", "https://proxy:3128", "http://proxy:0", "http://proxy:65536",
        "http://proxy:x", "http://proxy:", "http://:3128", "http://proxy:3128/path",
        "http://proxy:3128?q", "http://[fd00::3", "http://fd00::3:3128", "http://[not-v6]:1",
        "http://:secret@proxy:1", "http://u:secret@pro xy:1", "http://u:secret@[::1]x"}) {
    auto u = parse_proxy_url(bad);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.error().code(), Errc::usage);
    EXPECT_EQ(u.error().message().find("secret"), std::string::npos) << u.error().message();
  }
}

TEST(NoProxy, NamesMatchThemselvesAndEverythingBelow) {
  NoProxy np = NoProxy::parse("example.com, .corp.example, *.lab.test ,LOCAL");
  EXPECT_TRUE(np.matches("example.com"));
  EXPECT_TRUE(np.matches("pve1.example.com"));
  EXPECT_TRUE(np.matches("PVE1.Example.Com."));
  EXPECT_FALSE(np.matches("notexample.com"));
  EXPECT_FALSE(np.matches("example.com.evil"));
  EXPECT_TRUE(np.matches("corp.example"));
  EXPECT_TRUE(np.matches("a.b.corp.example"));
  EXPECT_TRUE(np.matches("pve.lab.test"));
  EXPECT_TRUE(np.matches("local"));
  EXPECT_FALSE(np.matches("pve.other.test"));
  EXPECT_FALSE(np.empty());
}

TEST(NoProxy, AddressesAndNetworks) {
  NoProxy np =
      NoProxy::parse("192.0.2.10,10.0.0.0/8 fd00::/16,[2001:db8::1]:8006,example.com:8006");
  EXPECT_TRUE(np.matches("192.0.2.10"));
  EXPECT_FALSE(np.matches("192.0.2.11"));
  EXPECT_TRUE(np.matches("10.20.30.40"));
  EXPECT_FALSE(np.matches("11.0.0.1"));
  EXPECT_TRUE(np.matches("fd00:0:1::5"));
  EXPECT_TRUE(np.matches("[fd00::5]"));
  EXPECT_FALSE(np.matches("fd01::5"));
  EXPECT_TRUE(np.matches("2001:db8::1"));  // ports in entries are ignored
  EXPECT_TRUE(np.matches("pve.example.com"));
  // Names are never resolved: an address entry does not exempt a name, nor the reverse.
  EXPECT_FALSE(np.matches("localhost"));
}

TEST(NoProxy, StarAndEmpty) {
  EXPECT_TRUE(NoProxy::parse("*").matches("anything.at.all"));
  EXPECT_TRUE(NoProxy::parse("x.org,*").matches("192.0.2.1"));
  NoProxy none = NoProxy::parse(" , ,");
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.matches("example.com"));
  EXPECT_FALSE(NoProxy::parse("10.0.0.0/33,10.0.0.0/x").matches("10.0.0.1"));
}

}  // namespace
}  // namespace pvb
