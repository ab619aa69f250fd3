// ViewerQueue (engine/rfb/viewer_queue.h): what the viewer sends while the upstream is away.
#include "engine/rfb/viewer_queue.h"

#include <gtest/gtest.h>

#include "engine/rfb/client_stream.h"
#include "engine/rfb/input_state.h"
#include "engine/rfb/rfb_wire.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;

std::string key(bool down, uint32_t keysym) {
  return Bytes().u8(kKeyEvent).u8(down ? 1 : 0).u16(0).u32(keysym).str();
}
std::string pointer(uint8_t mask, uint16_t x, uint16_t y) {
  return Bytes().u8(kPointerEvent).u8(mask).u16(x).u16(y).str();
}
std::string update_request(uint16_t w) {
  return Bytes().u8(kFramebufferUpdateRequest).u8(1).u16(0).u16(0).u16(w).u16(10).str();
}
std::string cut_text(size_t n) {
  return Bytes().u8(kClientCutText).fill(3, 0).u32(static_cast<uint32_t>(n)).fill(n, 'x').str();
}

ClientMessage message_of(std::string_view bytes) {
  ClientMessage m;
  m.type = static_cast<uint8_t>(bytes[0]);
  m.length = bytes.size();
  return m;
}

QueuePush push(ViewerQueue& q, const std::string& bytes) {
  return q.push(message_of(bytes), bytes);
}

std::string drained(ViewerQueue& q) {
  ByteChain out;
  q.drain_to(out);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  return out.to_string();
}

TEST(ViewerQueue, KeepsEveryMessageInOrder) {
  ViewerQueue q;
  const std::string all[] = {key(true, 'a'),  pointer(1, 5, 6), update_request(100),
                             key(false, 'a'), cut_text(10),     pointer(0, 5, 6)};
  std::string expected;
  for (const std::string& m : all) {
    EXPECT_EQ(push(q, m), QueuePush::queued);
    expected += m;
  }
  EXPECT_EQ(q.messages(), 6u);
  EXPECT_EQ(q.bytes(), expected.size());
  EXPECT_EQ(drained(q), expected);
}

TEST(ViewerQueue, AbsorbsPixelFormatAndEncodings) {
  // The resume replays the latest of each before anything queued.
  ViewerQueue q;
  const std::string spf = Bytes().u8(kSetPixelFormat).fill(3, 0).pixel_format({}).str();
  const std::string enc = Bytes().u8(kSetEncodings).u8(0).u16(1).s32(kEncodingRaw).str();
  EXPECT_EQ(push(q, spf), QueuePush::absorbed);
  EXPECT_EQ(push(q, enc), QueuePush::absorbed);
  EXPECT_TRUE(q.empty());
}

TEST(ViewerQueue, ConsecutiveMovesKeepTheLastPosition) {
  ViewerQueue q;
  EXPECT_EQ(push(q, pointer(0, 1, 1)), QueuePush::queued);
  EXPECT_EQ(push(q, pointer(0, 2, 2)), QueuePush::coalesced);
  EXPECT_EQ(push(q, pointer(0, 3, 3)), QueuePush::coalesced);
  EXPECT_EQ(q.messages(), 1u);
  EXPECT_EQ(q.drops().coalesced, 2u);
  EXPECT_EQ(drained(q), pointer(0, 3, 3));
}

TEST(ViewerQueue, APressStaysWhereItHappened) {
  // press at (1,1), drag to (2,2) and (3,3): merging the drag into the press would move the
  // click; the moves merge with each other only.
  ViewerQueue q;
  push(q, pointer(1, 1, 1));
  push(q, pointer(1, 2, 2));
  push(q, pointer(1, 3, 3));
  push(q, pointer(0, 3, 3));  // release
  EXPECT_EQ(drained(q), pointer(1, 1, 1) + pointer(1, 3, 3) + pointer(0, 3, 3));
}

TEST(ViewerQueue, MovesApartAreNotMerged) {
  ViewerQueue q;
  push(q, pointer(0, 1, 1));
  push(q, key(true, 'a'));
  push(q, pointer(0, 2, 2));
  EXPECT_EQ(q.messages(), 3u);
}

TEST(ViewerQueue, TheMaskBeforeTheQueueDecidesTheFirstEvent) {
  // Button 1 was down on the old session: the first queued event with mask 1 is a move.
  ViewerQueue q;
  q.set_button_mask_before(1);
  push(q, pointer(1, 1, 1));
  EXPECT_EQ(push(q, pointer(1, 2, 2)), QueuePush::coalesced);
}

TEST(ViewerQueue, BeyondTheCapTheOldestMovesGoFirst) {
  // key 8 + move 6 + key 8 + move 6 + request 10 = 38 bytes; cap 40.
  ViewerQueue q(40);
  push(q, key(true, 'a'));
  push(q, pointer(0, 1, 1));
  push(q, key(false, 'a'));
  push(q, pointer(0, 2, 2));
  push(q, update_request(7));
  EXPECT_EQ(q.bytes(), 38u);
  EXPECT_EQ(push(q, key(true, 'b')), QueuePush::queued);  // 46: one move goes
  EXPECT_EQ(q.drops().pointer_moves, 1u);
  EXPECT_LE(q.bytes(), q.cap());
  EXPECT_EQ(push(q, key(false, 'b')), QueuePush::queued);  // the other move, then the request
  EXPECT_EQ(q.drops().pointer_moves, 2u);
  EXPECT_EQ(q.drops().update_requests, 1u);
  EXPECT_EQ(drained(q), key(true, 'a') + key(false, 'a') + key(true, 'b') + key(false, 'b'));
}

TEST(ViewerQueue, KeysAreNeverDroppedTheQueueRefusesInstead) {
  ViewerQueue q(16);
  EXPECT_EQ(push(q, key(true, 'a')), QueuePush::queued);
  EXPECT_EQ(push(q, key(false, 'a')), QueuePush::queued);
  EXPECT_EQ(push(q, key(true, 'b')), QueuePush::overflow);
  EXPECT_EQ(q.bytes(), 16u);
  EXPECT_EQ(drained(q), key(true, 'a') + key(false, 'a'));
}

TEST(ViewerQueue, ButtonChangesAreKeptLikeKeys) {
  ViewerQueue q(12);
  push(q, pointer(1, 1, 1));
  push(q, pointer(0, 1, 1));
  EXPECT_EQ(push(q, pointer(4, 1, 1)), QueuePush::overflow);
  EXPECT_EQ(drained(q), pointer(1, 1, 1) + pointer(0, 1, 1));
}

TEST(ViewerQueue, ANewMoveThatDoesNotFitIsDroppedBeforeOlderRequests) {
  // The tiers go in order: a move (tier 1) goes before an update request (tier 2).
  ViewerQueue q(18);
  push(q, key(true, 'a'));
  push(q, update_request(1));
  EXPECT_EQ(push(q, pointer(0, 1, 1)), QueuePush::dropped);
  EXPECT_EQ(q.drops().pointer_moves, 1u);
  EXPECT_EQ(drained(q), key(true, 'a') + update_request(1));
}

TEST(ViewerQueue, AClipboardTooBigForTheQueueIsDropped) {
  ViewerQueue q(64);
  push(q, key(true, 'a'));
  EXPECT_EQ(push(q, cut_text(100)), QueuePush::dropped);
  EXPECT_EQ(q.drops().cut_texts, 1u);
  push(q, cut_text(20));
  EXPECT_EQ(push(q, cut_text(30)), QueuePush::queued);  // the older clipboard goes
  EXPECT_EQ(q.drops().cut_texts, 2u);
  EXPECT_EQ(drained(q), key(true, 'a') + cut_text(30));
}

TEST(ViewerQueue, OnlyTheLatestContinuousUpdatesStateMatters) {
  const std::string on =
      Bytes().u8(kEnableContinuousUpdates).u8(1).u16(0).u16(0).u16(9).u16(9).str();
  const std::string off =
      Bytes().u8(kEnableContinuousUpdates).u8(0).u16(0).u16(0).u16(9).u16(9).str();
  ViewerQueue q(30);
  push(q, on);
  push(q, key(true, 'a'));
  push(q, off);  // 28 bytes
  EXPECT_EQ(push(q, key(false, 'a')), QueuePush::queued);
  EXPECT_EQ(q.drops().superseded, 1u);
  EXPECT_EQ(drained(q), key(true, 'a') + off + key(false, 'a'));
}

TEST(ViewerQueue, TakesMessagesFromAChainAndFeedsTheTracker) {
  // As the splice will: the client delimiter finds a message in the viewer's chain.
  ByteChain in;
  testing::append_piece(in, key(true, 'q') + pointer(2, 7, 8));
  RfbClientStream client(PixelFormat::rgb888());
  ViewerQueue q;
  size_t at = 0;
  for (int i = 0; i < 2; ++i) {
    auto r = client.next(in, at);
    ASSERT_TRUE(r.ok() && r->found());
    EXPECT_EQ(q.push(*r->unit, in, at), QueuePush::queued);
    at += r->unit->length;
  }
  InputStateTracker input;
  ByteChain out;
  q.drain_to(out, &input);
  EXPECT_EQ(out.to_string(), key(true, 'q') + pointer(2, 7, 8));
  EXPECT_EQ(input.keys_down(), 1u);
  EXPECT_EQ(input.button_mask(), 2);
}

}  // namespace
}  // namespace pvb::rfb
