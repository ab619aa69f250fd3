#include "engine/core/url.h"

#include <gtest/gtest.h>

#include <string>

namespace pvb {
namespace {

TEST(Url, EncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(url_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(url_encode("a b+c/d=e:f&g?h%"), "a%20b%2Bc%2Fd%3De%3Af%26g%3Fh%25");
  EXPECT_EQ(url_encode(std::string("\x00\xff", 2)), "%00%FF");
  EXPECT_EQ(url_encode(""), "");
}

TEST(Url, DecodeRoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  auto back = url_decode(url_encode(all), false);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, all);
  auto back_plus = url_decode(url_encode(all), true);
  ASSERT_TRUE(back_plus.has_value());
  EXPECT_EQ(*back_plus, all);  // url_encode never emits a bare '+'
}

TEST(Url, DecodePlusOnlyWhenAsked) {
  EXPECT_EQ(url_decode("a+b%2B", true).value(), "a b+");
  EXPECT_EQ(url_decode("a+b%2B", false).value(), "a+b+");
  EXPECT_EQ(url_decode("%7e%7E", false).value(), "~~");
}

TEST(Url, MalformedEscapesAreRejected) {
  EXPECT_FALSE(url_decode("%", false).has_value());
  EXPECT_FALSE(url_decode("%4", false).has_value());
  EXPECT_FALSE(url_decode("abc%", false).has_value());
  EXPECT_FALSE(url_decode("%G0", false).has_value());
  EXPECT_FALSE(url_decode("%0G", false).has_value());
  EXPECT_FALSE(url_decode("%%41", false).has_value());
  EXPECT_FALSE(parse_form("a=%zz").has_value());
  EXPECT_FALSE(parse_form("%2=b").has_value());
}

TEST(Url, ProxmoxTicketSurvivesFormEncodeAndParse) {
  const std::string ticket = "PVE:root@pam:6745ABCD::a+b/c==";
  FormFields in{{"vncticket", ticket}, {"port", "5900"}, {"user name", "a&b=c"}};
  std::string body = form_encode(in);
  EXPECT_EQ(body,
            "vncticket=PVE%3Aroot%40pam%3A6745ABCD%3A%3Aa%2Bb%2Fc%3D%3D&port=5900&"
            "user%20name=a%26b%3Dc");
  auto out = parse_form(body);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, in);
}

TEST(Url, ParseFormEdgeCases) {
  auto f = parse_form("a=1&&b&c=&=d&e=x=y&");
  ASSERT_TRUE(f.has_value());
  FormFields want{{"a", "1"}, {"b", ""}, {"c", ""}, {"", "d"}, {"e", "x=y"}};
  EXPECT_EQ(*f, want);
  EXPECT_TRUE(parse_form("").value().empty());
  EXPECT_EQ(parse_form("q=a+b").value()[0].second, "a b");
}

TEST(Url, SplitTarget) {
  auto t = split_target("/a/b?x=1&y=2");
  EXPECT_EQ(t.path, "/a/b");
  EXPECT_EQ(t.query, "x=1&y=2");
  t = split_target("/plain");
  EXPECT_EQ(t.path, "/plain");
  EXPECT_EQ(t.query, "");
  t = split_target("/p?q?r");
  EXPECT_EQ(t.path, "/p");
  EXPECT_EQ(t.query, "q?r");
}

}  // namespace
}  // namespace pvb
