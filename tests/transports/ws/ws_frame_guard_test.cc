#include "transports/ws/ws_frame_guard.h"

#include <gtest/gtest.h>

#include "tests/transports/ws/ws_wire.h"

namespace pvb {
namespace {

using wstest::make_frame;

constexpr std::array<uint8_t, 4> kMask{1, 2, 3, 4};

std::optional<WsFrameHeader> peek(const std::string& wire) {
  ByteChain c(wire);
  return peek_ws_frame_header(c);
}

TEST(WsFrameGuard, PeekWaitsForTheWholeHeader) {
  const std::string f = make_frame(ws_opcode::kBinary, std::string(300, 'x'), true, kMask);
  for (size_t n = 0; n < 8; ++n) EXPECT_FALSE(peek(f.substr(0, n)).has_value()) << n;
  std::optional<WsFrameHeader> h = peek(f.substr(0, 8));
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->header_length, 8u);
  EXPECT_EQ(h->info.payload_length, 300u);
  EXPECT_TRUE(h->info.masked);
  EXPECT_TRUE(h->info.fin);
  EXPECT_EQ(h->info.opcode, ws_opcode::kBinary);
  EXPECT_TRUE(h->minimal_length);
}

TEST(WsFrameGuard, PeekReadsHeadersSpanningSlices) {
  const std::string f = make_frame(ws_opcode::kText, std::string(70000, 'x'));
  ByteChain c;
  for (size_t i = 0; i < 10; ++i) {
    ByteChain one(f.substr(i, 1));
    c.move_from(one);
  }
  std::optional<WsFrameHeader> h = peek_ws_frame_header(c);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->header_length, 10u);
  EXPECT_EQ(h->info.payload_length, 70000u);
}

TEST(WsFrameGuard, NonMinimalLengthsAreFlagged) {
  EXPECT_FALSE(peek(make_frame(2, "abc", true, {}, 0, {}, true))->minimal_length);
  std::string f = make_frame(2, std::string(200, 'a'));
  EXPECT_TRUE(peek(f)->minimal_length);
}

TEST(WsFrameGuard, TracksFragmentedMessagesAndTheirSize) {
  WsFrameGuard g(WsRole::server, 100);
  auto header = [](uint8_t opcode, bool fin, uint64_t len) {
    return WsFrameHeader{WsFrameInfo{fin, 0, opcode, false, len}, 2, true};
  };
  EXPECT_TRUE(g.admit(header(ws_opcode::kText, false, 60)).ok());
  EXPECT_TRUE(g.admit(header(ws_opcode::kPing, true, 5)).ok());  // control frames interleave
  EXPECT_EQ(g.admit(header(ws_opcode::kBinary, true, 1)).code(), Errc::protocol);
  Error big = g.admit(header(ws_opcode::kContinuation, true, 41));
  EXPECT_EQ(big.code(), Errc::too_large);
  EXPECT_NE(big.detail().find("101"), std::string::npos);

  WsFrameGuard g2(WsRole::server, 100);
  EXPECT_TRUE(g2.admit(header(ws_opcode::kText, false, 60)).ok());
  EXPECT_TRUE(g2.admit(header(ws_opcode::kContinuation, true, 40)).ok());
  EXPECT_TRUE(g2.admit(header(ws_opcode::kBinary, true, 100)).ok());  // a new message counts anew
  EXPECT_EQ(g2.admit(header(ws_opcode::kContinuation, true, 1)).code(), Errc::protocol);
}

}  // namespace
}  // namespace pvb
