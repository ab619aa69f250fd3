#include "engine/core/byte_chain.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace pvb {
namespace {

std::string pattern(size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) & 0xff);
  return s;
}

TEST(ByteChain, AppendAndReadBackAcrossBlocks) {
  ByteChain c;
  std::string data = pattern(3 * Block::kDefaultCapacity + 17);
  c.append(data);
  EXPECT_EQ(c.size(), data.size());
  EXPECT_GE(c.slice_count(), 4u);
  EXPECT_EQ(c.to_string(), data);
}

TEST(ByteChain, ReserveCommitFillsTailInPlace) {
  ByteChain c;
  auto room = c.reserve(10);
  ASSERT_GE(room.size(), 10u);
  std::memcpy(room.data(), "hello", 5);
  c.commit(5);
  auto room2 = c.reserve(1);
  // The same block continues: no new slice for the second read.
  EXPECT_EQ(room2.data(), room.data() + 5);
  std::memcpy(room2.data(), " world", 6);
  c.commit(6);
  EXPECT_EQ(c.slice_count(), 1u);
  EXPECT_EQ(c.to_string(), "hello world");
}

TEST(ByteChain, CommitZeroKeepsChainUnchanged) {
  ByteChain c;
  c.reserve(100);
  c.commit(0);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.slice_count(), 0u);
}

TEST(ByteChain, MoveAllTransfersSlicesWithoutCopy) {
  ByteChain a, b;
  a.append(pattern(40000));
  uint64_t copied_before = copy_stats().bytes;
  b.move_from(a);
  EXPECT_EQ(copy_stats().bytes, copied_before);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.to_string(), pattern(40000));
}

TEST(ByteChain, PartialMoveSplitsSliceSharingBlock) {
  ByteChain a, b;
  a.append("0123456789");
  uint64_t copied_before = copy_stats().bytes;
  EXPECT_EQ(b.move_from(a, 4), 4u);
  EXPECT_EQ(copy_stats().bytes, copied_before);
  EXPECT_EQ(b.front().block.get(), a.front().block.get());
  EXPECT_EQ(b.to_string(), "0123");
  EXPECT_EQ(a.to_string(), "456789");
}

TEST(ByteChain, AppendAfterPartialMoveDoesNotClobberSharedBlock) {
  ByteChain a, b;
  a.append("abcdef");
  b.move_from(a, 3);  // b: "abc" shares the block with a: "def"
  // b's tail is not the block's end (a's slice follows), so b must take a fresh block.
  b.append("XYZ");
  EXPECT_EQ(a.to_string(), "def");
  EXPECT_EQ(b.to_string(), "abcXYZ");
  // a's tail is the block's used end, so appending continues in place safely.
  a.append("gh");
  EXPECT_EQ(a.to_string(), "defgh");
  EXPECT_EQ(b.to_string(), "abcXYZ");
}

TEST(ByteChain, DrainAcrossSlices) {
  ByteChain c;
  std::string data = pattern(50000);
  c.append(data);
  c.drain(20000);
  EXPECT_EQ(c.size(), 30000u);
  EXPECT_EQ(c.to_string(), data.substr(20000));
  c.drain(30000);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.slice_count(), 0u);
}

TEST(ByteChain, CopyOutWithOffset) {
  ByteChain c;
  std::string data = pattern(40000);
  c.append(data);
  std::string out(100, '\0');
  EXPECT_EQ(c.copy_out(out.data(), 100, 16380), 100u);
  EXPECT_EQ(out, data.substr(16380, 100));
  EXPECT_EQ(c.copy_out(out.data(), 100, 39950), 50u);
}

TEST(ByteChain, LinearizeJoinsOnlyWhenNeeded) {
  ByteChain a, c;
  a.append("abc");
  c.move_from(a);
  const std::string big = "defgh" + std::string(ByteChain::kCoalesceMax, 'z');  // not coalesced
  a.append(big);
  c.move_from(a);
  ASSERT_EQ(c.slice_count(), 2u);
  const uint8_t* p = c.linearize(2);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), 2), "ab");
  EXPECT_EQ(c.slice_count(), 2u);  // no join needed
  p = c.linearize(5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), 5), "abcde");
  EXPECT_EQ(c.to_string(), "abc" + big);
}

TEST(ByteChain, FindAcrossSliceBoundaries) {
  ByteChain a, c;
  a.append("HTTP/1.1 200 OK\r");
  c.move_from(a);
  a.append("\nX: y\r\n\r");
  c.move_from(a);
  a.append("\nbody");
  c.move_from(a);
  EXPECT_EQ(c.find("\r\n"), 15u);
  EXPECT_EQ(c.find("\r\n\r\n"), 21u);
  EXPECT_EQ(c.find("\r\n", 16), 21u);
  EXPECT_FALSE(c.find("\r\n\r\n", 0, 20).has_value());
  EXPECT_FALSE(c.find("zzz").has_value());
  EXPECT_EQ(c.find("aab").has_value(), false);
  ByteChain d("aaab");
  EXPECT_EQ(d.find("aab"), 1u);
}

TEST(ByteChain, AtReadsAnyOffset) {
  ByteChain c;
  std::string data = pattern(20000);
  c.append(data);
  for (size_t i : {0u, 1u, 16383u, 16384u, 19999u})
    EXPECT_EQ(c.at(i), static_cast<uint8_t>(data[i]));
}

TEST(ByteChain, AppendCountsCopiesHeadersDoNot) {
  ByteChain c;
  uint64_t before = copy_stats().bytes;
  c.append_header("GET / HTTP/1.1\r\n", 16);
  EXPECT_EQ(copy_stats().bytes, before);
  c.append("payload");
  EXPECT_EQ(copy_stats().bytes, before + 7);
}

TEST(ByteChain, BlocksReturnToPool) {
  size_t live_before = block_pool_stats().live_blocks;
  {
    ByteChain c;
    c.append(pattern(5 * Block::kDefaultCapacity));
    EXPECT_GE(block_pool_stats().live_blocks, live_before + 5);
  }
  EXPECT_EQ(block_pool_stats().live_blocks, live_before);
}

TEST(ByteChain, LargeReserveGetsBigBlock) {
  ByteChain c;
  auto room = c.reserve(100000);
  EXPECT_GE(room.size(), 100000u);
  c.commit(100000);
  EXPECT_EQ(c.size(), 100000u);
  EXPECT_EQ(c.slice_count(), 1u);
}

}  // namespace
// A queue fed many small messages, each written into a chain of its own (a pong, a TLS record, a
// keystroke), must not pin a block per message: small slices are copied into the queue's tail.
TEST(ByteChain, SmallMovesCoalesceIntoTheTailBlock) {
  const size_t live_before = block_pool_stats().live_blocks;
  ByteChain queue;
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    ByteChain message;
    const std::string text = "message " + std::to_string(i) + ";";
    message.append_header(text.data(), text.size());
    expected += text;
    if (i % 2 == 0) {
      queue.move_from(message);
    } else {
      queue.move_from(message, 5);  // a partial move coalesces too; the rest follows
      queue.move_from(message);
    }
  }
  EXPECT_EQ(queue.to_string(), expected);
  EXPECT_LE(block_pool_stats().live_blocks, live_before + 2);
  EXPECT_LE(queue.slice_count(), 2u);
}

TEST(ByteChain, LargeMovesStayZeroCopy) {
  ByteChain queue;
  queue.append_header("head", 4);
  ByteChain big;
  big.append_header(pattern(4096).data(), 4096);
  const uint8_t* where = big.front().data();
  const uint64_t copies = copy_stats().bytes;
  queue.move_from(big);
  EXPECT_EQ(copy_stats().bytes, copies);
  ASSERT_EQ(queue.slice_count(), 2u);
  EXPECT_EQ(queue.slices()[1].data(), where);
}

TEST(ByteChain, LargeCapacityBlocksArePooled) {
  ByteChain c;
  auto room = c.reserve(Block::kDefaultCapacity + 1, Block::kLargeCapacity);
  EXPECT_EQ(room.size(), Block::kLargeCapacity);
  c.commit(10);
  c.clear();
  const BlockPoolStats before = block_pool_stats();
  ByteChain d;
  d.reserve(20000, Block::kLargeCapacity);
  d.commit(1);
  EXPECT_EQ(block_pool_stats().bytes_allocated, before.bytes_allocated);  // reused, not new
}

}  // namespace pvb

namespace pvb {
namespace {

TEST(ByteChainTakeInto, CopiesAcrossSlicesDrainsAndCounts) {
  ByteChain c;
  ByteChain a("hello "), b("world");
  c.move_from(a);
  c.append_slice(b.front());  // a second slice over another block
  const CopyStats before = copy_stats();
  char out[16] = {};
  EXPECT_EQ(c.take_into(out, 8), 8u);
  EXPECT_EQ(std::string(out, 8), "hello wo");
  EXPECT_EQ(c.to_string(), "rld");
  EXPECT_EQ(copy_stats().bytes - before.bytes, 8u + 3u);  // the take, then to_string's copy
  EXPECT_EQ(c.take_into(out, 100), 3u);                   // no more than there is
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.take_into(out, 4), 0u);
}

TEST(ByteChainTakeInto, TheCallerMayCountTheCopyItself) {
  ByteChain c("abcdef");
  const uint64_t before = copy_stats().bytes;
  char out[6];
  EXPECT_EQ(c.take_into(out, 6, ByteChain::CopyCounter::caller), 6u);
  EXPECT_EQ(copy_stats().bytes, before);
  EXPECT_EQ(std::string(out, 6), "abcdef");
}

TEST(ByteChainFrontBlock, ReferencesCountEverySliceAndChain) {
  ByteChain c("some bytes");
  EXPECT_EQ(c.front_block_references(), 1u);
  ByteChain other;
  other.append_slice(c.front());  // another chain sees the same block
  EXPECT_EQ(c.front_block_references(), 2u);
  ByteChain half;
  half.move_from(c, 4);  // a split: two slices, one block
  EXPECT_EQ(half.front_block_references(), 3u);
  other.clear();
  EXPECT_EQ(half.front_block_references(), 2u);
}

}  // namespace
}  // namespace pvb
