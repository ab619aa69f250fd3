#include "engine/terminal/escape_filter.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

struct Fed {
  std::string sent;
  EscapeResult r;
};

Fed feed(EscapeFilter& f, std::string_view in) {
  Fed out;
  out.r = f.feed({reinterpret_cast<const uint8_t*>(in.data()), in.size()}, out.sent);
  return out;
}

TEST(EscapeFilter, TildeDotAtSessionStartDisconnects) {
  EscapeFilter f;
  auto r = feed(f, "~.");
  EXPECT_TRUE(r.r.disconnect);
  EXPECT_EQ(r.sent, "");
}

TEST(EscapeFilter, TildeDotAfterEnterDisconnectsAndDropsTheRest) {
  EscapeFilter f;
  auto r = feed(f, "ls\r~.more");
  EXPECT_TRUE(r.r.disconnect);
  EXPECT_EQ(r.sent, "ls\r");
}

TEST(EscapeFilter, TildeInsideALineIsOrdinary) {
  EscapeFilter f;
  auto r = feed(f, "cd ~.");
  EXPECT_FALSE(r.r.disconnect);
  EXPECT_EQ(r.sent, "cd ~.");
}

TEST(EscapeFilter, DoubleTildeSendsOne) {
  EscapeFilter f;
  auto r = feed(f, "~~.");
  EXPECT_FALSE(r.r.disconnect);
  EXPECT_EQ(r.sent, "~.");  // the second '.' is no longer at a line start
}

TEST(EscapeFilter, QuestionMarkAsksForHelpAndSendsNothing) {
  EscapeFilter f;
  auto r = feed(f, "~?");
  EXPECT_EQ(r.r.help, 1);
  EXPECT_EQ(r.sent, "");
  // Still at a line start: another escape works at once.
  EXPECT_TRUE(feed(f, "~.").r.disconnect);
}

TEST(EscapeFilter, TildeThenOtherSendsBoth) {
  EscapeFilter f;
  auto r = feed(f, "~x");
  EXPECT_EQ(r.sent, "~x");
}

TEST(EscapeFilter, HeldTildeWaitsAcrossReads) {
  EscapeFilter f;
  auto a = feed(f, "\n~");
  EXPECT_EQ(a.sent, "\n");
  EXPECT_TRUE(f.holding());
  auto b = feed(f, ".");
  EXPECT_TRUE(b.r.disconnect);
}

TEST(EscapeFilter, LineFeedAlsoStartsALine) {
  EscapeFilter f;
  feed(f, "abc");
  EXPECT_TRUE(feed(f, "\n~.").r.disconnect);
}

TEST(EscapeFilter, NoneLetsEverythingThrough) {
  EscapeFilter f(std::nullopt);
  auto r = feed(f, "~.~?~~");
  EXPECT_FALSE(r.r.disconnect);
  EXPECT_EQ(r.sent, "~.~?~~");
}

TEST(EscapeFilter, OtherEscapeCharacter) {
  EscapeFilter f(uint8_t{0x1d});  // ^]
  EXPECT_EQ(feed(f, "~.").sent, "~.");
  EXPECT_TRUE(feed(f, "\r\x1d.").r.disconnect);
}

TEST(EscapeFilter, BinaryBytesPassUntouched) {
  EscapeFilter f;
  std::string all;
  for (int i = 0; i < 256; ++i) {
    if (i != '~') all.push_back(static_cast<char>(i));
  }
  EXPECT_EQ(feed(f, all).sent, all);
}

TEST(EscapeChar, Parse) {
  EXPECT_EQ(*parse_escape_char("~"), std::optional<uint8_t>('~'));
  EXPECT_EQ(*parse_escape_char("none"), std::optional<uint8_t>());
  EXPECT_EQ(*parse_escape_char("^]"), std::optional<uint8_t>(0x1d));
  EXPECT_EQ(*parse_escape_char("^a"), std::optional<uint8_t>(0x01));
  EXPECT_FALSE(parse_escape_char("").ok());
  EXPECT_FALSE(parse_escape_char("ab").ok());
  EXPECT_FALSE(parse_escape_char("\xc3\xa4").ok());
  EXPECT_EQ(parse_escape_char("xy").error().code(), Errc::usage);
}

TEST(EscapeHelp, NamesTheEscapes) {
  std::string h = escape_help_text('~');
  EXPECT_NE(h.find("~."), std::string::npos);
  EXPECT_NE(h.find("~?"), std::string::npos);
  EXPECT_NE(h.find("~~"), std::string::npos);
  EXPECT_NE(escape_help_text(0x1d).find("^]."), std::string::npos);
}

}  // namespace
}  // namespace pvb
