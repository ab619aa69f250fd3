// InputStateTracker (engine/rfb/input_state.h): the releases a new session needs.
#include "engine/rfb/input_state.h"

#include <gtest/gtest.h>

#include "engine/rfb/client_stream.h"
#include "engine/rfb/rfb_wire.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;

std::string key(bool down, uint32_t keysym) {
  return Bytes().u8(kKeyEvent).u8(down ? 1 : 0).u16(0).u32(keysym).str();
}
std::string qemu_key(bool down, uint32_t keysym, uint32_t keycode) {
  return Bytes()
      .u8(kClientQemu)
      .u8(kQemuExtendedKeyEvent)
      .u16(down ? 1 : 0)
      .u32(keysym)
      .u32(keycode)
      .str();
}
std::string pointer(uint8_t mask, uint16_t x, uint16_t y) {
  return Bytes().u8(kPointerEvent).u8(mask).u16(x).u16(y).str();
}

std::string releases(InputStateTracker& t) {
  ByteChain out;
  t.write_releases(out);
  return out.to_string();
}

TEST(InputStateTracker, NothingUsedNothingToRelease) {
  InputStateTracker t;
  t.sent(pointer(0, 10, 10));
  t.sent(Bytes().u8(kFramebufferUpdateRequest).fill(9, 0).str());
  EXPECT_EQ(releases(t), "");
}

TEST(InputStateTracker, AKeyDownIsReleased) {
  InputStateTracker t;
  t.sent(key(true, 'a'));
  t.sent(key(true, 0xFFE1));  // Shift_L
  t.sent(key(false, 0xFFE1));
  EXPECT_EQ(t.keys_down(), 1u);
  // The key down first, then the recently released one (its release may have been lost).
  EXPECT_EQ(releases(t), key(false, 'a') + key(false, 0xFFE1));
  EXPECT_EQ(t.keys_down(), 0u);
  // The releases may be lost if the new link breaks too: the next reconnect sends them again.
  EXPECT_EQ(releases(t), key(false, 'a') + key(false, 0xFFE1));
}

TEST(InputStateTracker, ExtendedKeysAreReleasedByKeycodeWithThePressedKeysym) {
  InputStateTracker t;
  t.sent(qemu_key(true, 'A', 30));
  t.sent(qemu_key(true, 'b', 48));
  t.sent(qemu_key(false, 'a', 30));  // the same key: its keysym changed with Shift
  EXPECT_EQ(t.keys_down(), 1u);
  EXPECT_EQ(releases(t), qemu_key(false, 'b', 48) + qemu_key(false, 'A', 30));
}

TEST(InputStateTracker, AHeldButtonIsPressedAndReleasedWhereThePointerIs) {
  // QEMU compares with the connection's last mask, which starts at 0: the press makes the
  // release count.
  InputStateTracker t;
  t.sent(pointer(1, 5, 5));
  t.sent(pointer(1 | 4, 40, 50));
  EXPECT_EQ(releases(t), pointer(1 | 4, 40, 50) + pointer(0, 40, 50));
  EXPECT_EQ(t.button_mask(), 0);
  EXPECT_EQ(releases(t), "") << "the release ended with mask 0";
}

TEST(InputStateTracker, WheelButtonsAreNotHeld) {
  InputStateTracker t;
  t.sent(pointer(8, 1, 1));  // a scroll step whose release did not follow yet
  EXPECT_EQ(releases(t), "");
  t.sent(pointer(1 | 16, 2, 3));
  EXPECT_EQ(releases(t), pointer(1, 2, 3) + pointer(0, 2, 3));
}

TEST(InputStateTracker, RemembersABoundedNumberOfKeysKeepingThoseDown) {
  InputStateTracker t;
  for (uint32_t k = 1; k <= 10; ++k) t.sent(key(true, k));
  for (uint32_t k = 100; k < 100 + 3 * InputStateTracker::kMaxKeys; ++k) {
    t.sent(key(true, k));
    t.sent(key(false, k));
  }
  EXPECT_EQ(t.keys_remembered(), InputStateTracker::kMaxKeys);
  EXPECT_EQ(t.keys_down(), 10u);
  const std::string r = releases(t);
  for (uint32_t k = 1; k <= 10; ++k) EXPECT_NE(r.find(key(false, k)), std::string::npos) << k;
}

TEST(InputStateTracker, ReadsMessagesInAChainAndWritesWellFormedOnes) {
  ByteChain in;
  testing::append_piece(in, qemu_key(true, 'x', 45) + key(true, 'y') + pointer(2, 3, 4));
  RfbClientStream client(PixelFormat::rgb888());
  const int32_t ext[] = {kPseudoQemuExtendedKeyEvent};
  ByteChain enc;
  Bytes set = Bytes().u8(kSetEncodings).u8(0).u16(1).s32(ext[0]);
  testing::append_piece(enc, set.str());
  ASSERT_TRUE(client.next(enc, 0).ok());
  InputStateTracker t;
  size_t at = 0;
  while (at < in.size()) {
    auto r = client.next(in, at);
    ASSERT_TRUE(r.ok() && r->found());
    t.sent(*r->unit, in, at);
    at += r->unit->length;
  }
  EXPECT_EQ(t.keys_down(), 2u);
  EXPECT_EQ(t.button_mask(), 2);
  ByteChain out;
  t.write_releases(out);
  auto run = testing::delimit<ClientMessage>(client, out.to_string());
  EXPECT_FALSE(run.error.failed()) << run.error.message();
  ASSERT_EQ(run.units.size(), 4u);  // two key ups, a press and a release
  EXPECT_EQ(run.end, out.size());
}

}  // namespace
}  // namespace pvb::rfb
