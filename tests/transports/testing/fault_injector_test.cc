#include "transports/testing/fault_injector.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/core/random.h"
#include "transports/testing/chunk_limiter.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

struct Collector : TransportSink {
  std::string data;
  bool connected = false, ended = false, closed = false;
  int end_calls = 0;
  Error error;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& c, bool end) override {
    data += c.to_string();
    c.clear();
    ended |= end;
    end_calls += end ? 1 : 0;
  }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

std::string random_text(uint64_t seed, size_t n) {
  std::string s(n, '\0');
  SeededRandom(seed).fill(s.data(), n);
  return s;
}

// A MemPipe whose end b is wrapped in a FaultInjector; both started with collectors.
struct Rig {
  Loop loop;
  std::unique_ptr<MemPipeEnd> peer;
  std::unique_ptr<FaultInjector> faulty;
  Collector at_peer, at_faulty;
  Rig(FaultPlan plan, MemPipeOptions options = {}, size_t chunk = 0) {
    auto [a, b] = make_mem_pipe(loop, options);
    peer = std::move(a);
    std::unique_ptr<Transport> lower = std::move(b);
    if (chunk > 0) lower = std::make_unique<ChunkLimiter>(std::move(lower), chunk);
    faulty = std::make_unique<FaultInjector>(std::move(lower), std::move(plan));
    peer->set_sink(&at_peer);
    faulty->set_sink(&at_faulty);
    peer->start();
    faulty->start();
  }
};

const std::string kText = random_text(42, 300);

// Every fault is tried with the data arriving in one piece, in 1-byte deliveries, and through a
// ChunkLimiter (1-byte offers).
struct Shape {
  const char* name;
  size_t max_delivery;
  size_t chunk;
};
const Shape kShapes[] = {{"whole", SIZE_MAX, 0}, {"bytewise", 1, 0}, {"limited", SIZE_MAX, 1}};
const size_t kOffsets[] = {0, 1, 7, 150, 299};

TEST(FaultInjector, PassesEverythingThroughWithoutAPlan) {
  Rig r(FaultPlan{});
  ByteChain x(kText), y("reply");
  r.peer->write(x, true);
  r.faulty->write(y, true);
  ASSERT_TRUE(r.loop.run_until([&] { return r.at_faulty.ended && r.at_peer.ended; }));
  EXPECT_EQ(r.at_faulty.data, kText);
  EXPECT_EQ(r.at_peer.data, "reply");
  EXPECT_TRUE(r.at_faulty.connected);
  EXPECT_FALSE(r.faulty->fault_fired());
  EXPECT_EQ(r.faulty->bytes_read(), kText.size());
  EXPECT_EQ(r.faulty->bytes_written(), 5u);
}

TEST(FaultInjector, ResetAfterReadDeliversExactlyNBytes) {
  for (const Shape& shape : kShapes) {
    for (size_t n : kOffsets) {
      SCOPED_TRACE(std::string(shape.name) + " n=" + std::to_string(n));
      FaultPlan plan;
      plan.reset_after_read = n;
      Rig r(plan, MemPipeOptions{shape.max_delivery}, shape.chunk);
      ByteChain x(kText);
      r.peer->write(x);
      ASSERT_TRUE(r.loop.run_until([&] { return r.at_faulty.closed && r.at_peer.closed; }));
      EXPECT_EQ(r.at_faulty.data, kText.substr(0, n));
      EXPECT_EQ(r.at_faulty.error.code(), Errc::connection_lost);
      EXPECT_EQ(r.at_faulty.error.detail(), "injected reset");
      EXPECT_FALSE(r.at_faulty.ended);
      EXPECT_EQ(r.at_peer.error.code(), Errc::connection_lost);  // the lower one was aborted
      EXPECT_TRUE(r.faulty->fault_fired());
    }
  }
}

TEST(FaultInjector, EofAfterReadEndsTheStreamAtN) {
  for (const Shape& shape : kShapes) {
    for (size_t n : kOffsets) {
      SCOPED_TRACE(std::string(shape.name) + " n=" + std::to_string(n));
      FaultPlan plan;
      plan.eof_after_read = n;
      Rig r(plan, MemPipeOptions{shape.max_delivery}, shape.chunk);
      ByteChain x(kText);
      r.peer->write(x);
      ASSERT_TRUE(r.loop.run_until([&] { return r.at_faulty.ended; }));
      EXPECT_EQ(r.at_faulty.data, kText.substr(0, n));
      EXPECT_EQ(r.at_faulty.end_calls, 1);
      // Only the read direction ended: writing still works.
      ByteChain y("still here");
      r.faulty->write(y, true);
      ASSERT_TRUE(r.loop.run_until([&] { return r.at_peer.ended; }));
      EXPECT_EQ(r.at_peer.data, "still here");
      EXPECT_FALSE(r.at_faulty.closed);
      EXPECT_EQ(r.at_faulty.data.size(), n);  // nothing after the end
    }
  }
}

TEST(FaultInjector, ResetAfterWriteLetsExactlyNBytesReachThePeer) {
  for (const Shape& shape : kShapes) {
    for (size_t n : kOffsets) {
      SCOPED_TRACE(std::string(shape.name) + " n=" + std::to_string(n));
      FaultPlan plan;
      plan.reset_after_write = n;
      plan.error = Error(Errc::tls, "injected TLS failure");
      Rig r(plan, MemPipeOptions{shape.max_delivery}, shape.chunk);
      // Written in three pieces, so the limit may fall inside any of them.
      for (auto [from, len] : {std::pair<size_t, size_t>{0, 5}, {5, 140}, {145, 155}}) {
        ByteChain piece(kText.substr(from, len));
        r.faulty->write(piece);
        EXPECT_TRUE(piece.empty());
      }
      ASSERT_TRUE(r.loop.run_until([&] { return r.at_faulty.closed && r.at_peer.closed; }));
      EXPECT_EQ(r.at_peer.data, kText.substr(0, n));
      EXPECT_EQ(r.at_peer.error.code(), Errc::connection_lost);
      EXPECT_EQ(r.at_faulty.error.code(), Errc::tls);
      EXPECT_EQ(r.at_faulty.error.detail(), "injected TLS failure");
      EXPECT_EQ(r.faulty->bytes_written(), n);
    }
  }
}

TEST(FaultInjector, ResetAfterWriteWaitsForTheReaderToDrain) {
  FaultPlan plan;
  plan.reset_after_write = 10;
  Rig r(plan);
  r.peer->read_disable(true);
  ByteChain x(kText);
  r.faulty->write(x);
  r.loop.run_until([] { return false; });  // nothing can move while the peer does not read
  EXPECT_FALSE(r.at_faulty.closed);
  EXPECT_EQ(r.faulty->pending_write_bytes(), 10u);
  r.peer->read_disable(false);
  ASSERT_TRUE(r.loop.run_until([&] { return r.at_faulty.closed && r.at_peer.closed; }));
  EXPECT_EQ(r.at_peer.data, kText.substr(0, 10));
}

TEST(FaultInjector, CorruptReadFlipsExactlyOneByte) {
  for (const Shape& shape : kShapes) {
    for (size_t n : kOffsets) {
      SCOPED_TRACE(std::string(shape.name) + " n=" + std::to_string(n));
      FaultPlan plan;
      plan.corrupt_read = std::make_pair(n, uint8_t{0x5A});
      Rig r(plan, MemPipeOptions{shape.max_delivery}, shape.chunk);
      ByteChain x(kText);
      r.peer->write(x, true);
      ASSERT_TRUE(r.loop.run_until([&] { return r.at_faulty.ended; }));
      std::string expected = kText;
      expected[n] = static_cast<char>(expected[n] ^ 0x5A);
      EXPECT_EQ(r.at_faulty.data, expected);
      EXPECT_FALSE(r.at_faulty.closed);
    }
  }
}

TEST(FaultInjector, EarlierOfResetAndEofWins) {
  FaultPlan plan;
  plan.reset_after_read = 20;
  plan.eof_after_read = 10;
  Rig r(plan);
  ByteChain x(kText);
  r.peer->write(x);
  ASSERT_TRUE(r.loop.run_until([&] { return r.at_faulty.ended; }));
  EXPECT_EQ(r.at_faulty.data, kText.substr(0, 10));
  EXPECT_FALSE(r.at_faulty.closed);
}

}  // namespace
}  // namespace pvb
