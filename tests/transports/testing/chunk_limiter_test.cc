#include "transports/testing/chunk_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

struct Collector : TransportSink {
  std::string data;
  std::vector<size_t> offered;  // size of the chain at each on_data
  bool connected = false, ended = false, closed = false;
  int highs = 0, lows = 0;
  Error error;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& c, bool end) override {
    offered.push_back(c.size());
    data += c.to_string();
    c.clear();
    ended |= end;
  }
  void on_write_high() override { ++highs; }
  void on_write_low() override { ++lows; }
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

// A lower transport that only records the writes it gets.
class RecordingTransport : public Transport {
 public:
  explicit RecordingTransport(Loop& loop) : Transport(loop) {}
  std::vector<std::string> writes;
  bool ended = false;
  void start() override {}
  void write(ByteChain& data, bool end_stream) override {
    writes.push_back(data.to_string());
    data.clear();
    ended |= end_stream;
  }
  void close(CloseMode) override { finish(Error()); }

 protected:
  void on_read_enable_changed(bool) override {}
};

TEST(ChunkLimiter, DeliversOneByteAtATimeByteExact) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  ChunkLimiter limited(std::move(b), 1);
  Collector ca, cb;
  a->set_sink(&ca);
  limited.set_sink(&cb);
  a->start();
  limited.start();
  const std::string text = random_text(1, 4096);
  ByteChain x(text);
  a->write(x, true);
  ASSERT_TRUE(loop.run_until([&] { return cb.ended; }));
  EXPECT_TRUE(cb.connected);
  EXPECT_EQ(cb.data, text);
  EXPECT_EQ(cb.offered.size(), text.size());  // one byte per on_data, end with the last one
  EXPECT_EQ(*std::max_element(cb.offered.begin(), cb.offered.end()), 1u);
}

TEST(ChunkLimiter, BothDirectionsThroughLimitersOnBothEnds) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  ChunkLimiter la(std::move(a), 1), lb(std::move(b), 3);
  Collector ca, cb;
  la.set_sink(&ca);
  lb.set_sink(&cb);
  la.start();
  lb.start();
  const std::string up = random_text(2, 10000), down = random_text(3, 7777);
  ByteChain x(up), y(down);
  la.write(x, true);
  lb.write(y, true);
  ASSERT_TRUE(loop.run_until([&] { return ca.ended && cb.ended; }));
  EXPECT_EQ(cb.data, up);
  EXPECT_EQ(ca.data, down);
  EXPECT_EQ(*std::max_element(cb.offered.begin(), cb.offered.end()), 3u);
  EXPECT_EQ(*std::max_element(ca.offered.begin(), ca.offered.end()), 1u);
}

TEST(ChunkLimiter, WritesGoDownInSeparateChunks) {
  Loop loop;
  auto lower = std::make_unique<RecordingTransport>(loop);
  RecordingTransport* rec = lower.get();
  ChunkLimiter limited(std::move(lower), 4);
  ByteChain x("0123456789");
  limited.write(x, true);
  EXPECT_TRUE(x.empty());
  EXPECT_EQ(rec->writes, (std::vector<std::string>{"0123", "4567", "89"}));
  EXPECT_TRUE(rec->ended);
  ByteChain none;
  ChunkLimiter empty_end(std::make_unique<RecordingTransport>(loop), 1);
  empty_end.write(none, true);
  EXPECT_TRUE(static_cast<RecordingTransport&>(empty_end.lower_transport()).ended);
}

TEST(ChunkLimiter, LeftoversComeBackInFrontOfNewBytes) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  ChunkLimiter limited(std::move(b), 1);
  // A parser that needs a 4-byte header before it consumes anything.
  struct NeedsFour : TransportSink {
    std::vector<size_t> offered;
    std::vector<std::string> headers;
    void on_data(ByteChain& c, bool) override {
      offered.push_back(c.size());
      if (c.size() < 4) return;
      headers.push_back(c.to_string(4));
      c.drain(4);
    }
    void on_closed(const Error&) override {}
  } sink;
  Collector ca;
  a->set_sink(&ca);
  limited.set_sink(&sink);
  a->start();
  limited.start();
  ByteChain x("abcdefgh");
  a->write(x);
  ASSERT_TRUE(loop.run_until([&] { return sink.headers.size() == 2; }));
  EXPECT_EQ(sink.headers, (std::vector<std::string>{"abcd", "efgh"}));
  EXPECT_EQ(sink.offered, (std::vector<size_t>{1, 2, 3, 4, 1, 2, 3, 4}));
}

TEST(ChunkLimiter, ReadDisableStopsDeliveryAndResumeReoffers) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  ChunkLimiter limited(std::move(b), 1);
  struct PauseAfterEach : TransportSink {
    Transport* t = nullptr;
    std::string got;
    void on_data(ByteChain& c, bool) override {
      got += c.to_string();
      c.clear();
      t->read_disable(true);
    }
    void on_closed(const Error&) override {}
  } sink;
  sink.t = &limited;
  Collector ca;
  a->set_sink(&ca);
  limited.set_sink(&sink);
  a->start();
  limited.start();
  ByteChain x("xyz");
  a->write(x);
  ASSERT_TRUE(loop.run_until([&] { return sink.got == "x"; }));
  // Nothing more while paused, even though the bytes are here: run until the loop has nothing
  // left to do (MemPipe needs no handles, so this returns).
  loop.run_until([] { return false; });
  EXPECT_EQ(sink.got, "x");
  limited.read_disable(false);
  ASSERT_TRUE(loop.run_until([&] { return sink.got == "xy"; }));
  limited.read_disable(false);
  ASSERT_TRUE(loop.run_until([&] { return sink.got == "xyz"; }));
}

TEST(ChunkLimiter, WatermarksAndPendingBytesPassThrough) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  ChunkLimiter limited(std::move(a), 1);
  limited.set_write_watermarks(1000, 100);
  Collector ca, cb;
  limited.set_sink(&ca);
  b->set_sink(&cb);
  limited.start();
  b->start();
  b->read_disable(true);
  ByteChain x(std::string(5000, 'w'));
  limited.write(x);
  EXPECT_EQ(limited.pending_write_bytes(), 5000u);
  ASSERT_TRUE(loop.run_until([&] { return ca.highs == 1; }));
  EXPECT_EQ(ca.lows, 0);
  b->read_disable(false);
  ASSERT_TRUE(loop.run_until([&] { return ca.lows == 1; }));
  EXPECT_EQ(limited.pending_write_bytes(), 0u);
  EXPECT_EQ(cb.data, std::string(5000, 'w'));
}

TEST(ChunkLimiter, CloseAndFailurePassThrough) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  ChunkLimiter limited(std::move(a), 1);
  Collector ca, cb;
  limited.set_sink(&ca);
  b->set_sink(&cb);
  limited.start();
  b->start();
  ASSERT_TRUE(loop.run_until([&] { return ca.connected && cb.connected; }));
  b->close(CloseMode::Abort);
  ASSERT_TRUE(loop.run_until([&] { return ca.closed; }));
  EXPECT_EQ(ca.error.code(), Errc::connection_lost);
  EXPECT_TRUE(limited.closed());

  auto [c, d] = make_mem_pipe(loop);
  ChunkLimiter closing(std::move(c), 2);
  Collector cc, cd;
  closing.set_sink(&cc);
  d->set_sink(&cd);
  closing.start();
  d->start();
  ByteChain last("last words");
  closing.write(last);
  closing.close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return cc.closed && cd.ended; }));
  EXPECT_TRUE(cc.error.ok());
  EXPECT_EQ(cd.data, "last words");
}

}  // namespace
}  // namespace pvb
