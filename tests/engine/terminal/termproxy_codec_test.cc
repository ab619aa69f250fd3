#include "engine/terminal/termproxy_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace pvb {
namespace {

std::string framed(std::string_view bytes) {
  ByteChain out;
  termproxy_append_input(out, {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  return out.to_string();
}

TEST(TermproxyCodec, LoginLineIsUserColonTicketNewline) {
  EXPECT_EQ(termproxy_login_message("root@pam!pvebridge", "PVEVNC:ABC::sig"),
            "root@pam!pvebridge:PVEVNC:ABC::sig\n");
}

TEST(TermproxyCodec, InputLengthCountsBytesNotCharacters) {
  EXPECT_EQ(framed("ls\r"), "0:3:ls\r");
  EXPECT_EQ(framed("\xc3\xa4"), "0:2:\xc3\xa4");  // one character, two bytes
  EXPECT_EQ(framed(""), "");
}

TEST(TermproxyCodec, AllByteValuesPassUntouched) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(framed(all), "0:256:" + all);
}

TEST(TermproxyCodec, LargeInputIsSplitIntoBoundedMessages) {
  std::string big(kTermproxyMaxInputChunk * 2 + 5, 'x');
  std::string want =
      "0:4096:" + std::string(4096, 'x') + "0:4096:" + std::string(4096, 'x') + "0:5:xxxxx";
  EXPECT_EQ(framed(big), want);
  ByteChain src(big);
  ByteChain out;
  termproxy_append_input(out, src);
  EXPECT_TRUE(src.empty());
  EXPECT_EQ(out.to_string(), want);
}

TEST(TermproxyCodec, ResizeIsColumnsFirst) {
  EXPECT_EQ(termproxy_resize_message(132, 43), "1:132:43:");
  EXPECT_EQ(kTermproxyKeepalive, "2");
}

TEST(TermproxyOkWaiter, OkThenOutputInTheSameChunk) {
  TermproxyOkWaiter w;
  ByteChain in("OKhello");
  EXPECT_EQ(w.feed(in), TermproxyOkWaiter::State::ok);
  EXPECT_EQ(in.to_string(), "hello");
}

TEST(TermproxyOkWaiter, OkSplitAcrossChunks) {
  TermproxyOkWaiter w;
  ByteChain a("O");
  EXPECT_EQ(w.feed(a), TermproxyOkWaiter::State::waiting);
  a.append("K");
  EXPECT_EQ(w.feed(a), TermproxyOkWaiter::State::ok);
  EXPECT_TRUE(a.empty());
}

TEST(TermproxyOkWaiter, AnythingElseIsRefused) {
  for (std::string s : {"X", "Ox", "ok", "\r\nOK", "HTTP/1.1 500"}) {
    TermproxyOkWaiter w;
    ByteChain in(s);
    EXPECT_EQ(w.feed(in), TermproxyOkWaiter::State::refused) << s;
    EXPECT_FALSE(in.empty()) << "kept for the error message";
  }
}

}  // namespace
}  // namespace pvb
