#include "transports/testing/mem_pipe.h"

#include <gtest/gtest.h>

#include <string>

namespace pvb {
namespace {

// Collects everything a transport delivers.
struct Collector : TransportSink {
  std::string data;
  bool ended = false;
  bool connected = false;
  bool closed = false;
  Error error;
  int highs = 0, lows = 0;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& c, bool end) override {
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

TEST(MemPipe, DeliversBothWaysAndEnds) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  Collector ca, cb;
  a->set_sink(&ca);
  b->set_sink(&cb);
  a->start();
  b->start();
  ByteChain x("hello"), y("world");
  a->write(x, true);
  b->write(y);
  EXPECT_TRUE(x.empty());
  loop.run_until([&] { return cb.ended && ca.data == "world"; });
  EXPECT_TRUE(ca.connected && cb.connected);
  EXPECT_EQ(cb.data, "hello");
  EXPECT_TRUE(cb.ended);
}

TEST(MemPipe, ReadDisableHoldsBytesAndRaisesWatermark) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  Collector ca, cb;
  a->set_sink(&ca);
  b->set_sink(&cb);
  a->set_write_watermarks(1000, 100);
  a->start();
  b->start();
  b->read_disable(true);
  ByteChain x(std::string(5000, 'x'));
  a->write(x);
  loop.run_until([&] { return ca.highs == 1; });
  EXPECT_EQ(a->pending_write_bytes(), 5000u);
  EXPECT_TRUE(cb.data.empty());
  b->read_disable(false);
  loop.run_until([&] { return cb.data.size() == 5000; });
  EXPECT_EQ(ca.lows, 1);
  EXPECT_EQ(a->pending_write_bytes(), 0u);
}

TEST(MemPipe, MaxDeliveryChopsData) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop, MemPipeOptions{3});
  struct Counting : Collector {
    int calls = 0;
    void on_data(ByteChain& c, bool end) override {
      ++calls;
      Collector::on_data(c, end);
    }
  } cb;
  Collector ca;
  a->set_sink(&ca);
  b->set_sink(&cb);
  a->start();
  b->start();
  ByteChain x("0123456789");
  a->write(x);
  loop.run_until([&] { return cb.data.size() == 10; });
  EXPECT_EQ(cb.data, "0123456789");
  EXPECT_EQ(cb.calls, 4);
}

TEST(MemPipe, LeftoverBytesAreOfferedAgain) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  struct TakeTwo : TransportSink {
    std::string got;
    void on_data(ByteChain& c, bool) override {
      size_t n = std::min<size_t>(2, c.size());
      got += c.to_string(n);
      c.drain(n);
    }
    void on_closed(const Error&) override {}
  } cb;
  Collector ca;
  a->set_sink(&ca);
  b->set_sink(&cb);
  a->start();
  b->start();
  ByteChain x("abcd");
  a->write(x);
  loop.run_until([&] { return cb.got == "ab"; });
  ByteChain y("ef");
  a->write(y);
  loop.run_until([&] { return cb.got.size() >= 4; });
  EXPECT_EQ(cb.got, "abcd");  // the leftover "cd" came first, before "ef"
}

TEST(MemPipe, AbortResetsPeer) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  Collector ca, cb;
  a->set_sink(&ca);
  b->set_sink(&cb);
  a->start();
  b->start();
  a->close(CloseMode::Abort);
  loop.run_until([&] { return ca.closed && cb.closed; });
  EXPECT_TRUE(ca.error.ok());
  EXPECT_EQ(cb.error.code(), Errc::connection_lost);
}

TEST(MemPipe, FlushCloseDeliversThenEnds) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  Collector ca, cb;
  a->set_sink(&ca);
  b->set_sink(&cb);
  a->start();
  b->start();
  ByteChain x("last words");
  a->write(x);
  a->close(CloseMode::Flush);
  loop.run_until([&] { return ca.closed && cb.ended; });
  EXPECT_EQ(cb.data, "last words");
  EXPECT_TRUE(ca.error.ok());
  EXPECT_FALSE(cb.closed);
}

TEST(MemPipe, DestroyedPeerLooksLikeReset) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  Collector cb;
  b->set_sink(&cb);
  b->start();
  a.reset();
  loop.run_until([&] { return cb.closed; });
  EXPECT_EQ(cb.error.code(), Errc::connection_lost);
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

// Regression: the reader aborting its end from inside the last delivery of a flushed close.
TEST(MemPipe, ReaderAbortsInsideFlushedCloseDelivery) {
  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  struct Aborter : TransportSink {
    MemPipeEnd* self = nullptr;
    bool closed = false;
    void on_data(ByteChain& c, bool end) override {
      c.clear();
      if (end) self->close(CloseMode::Abort);
    }
    void on_closed(const Error&) override { closed = true; }
  } cb;
  struct Quiet : TransportSink {
    bool closed = false;
    void on_data(ByteChain& c, bool) override { c.clear(); }
    void on_closed(const Error&) override { closed = true; }
  } ca;
  cb.self = b.get();
  a->set_sink(&ca);
  b->set_sink(&cb);
  a->start();
  b->start();
  ByteChain x("bye");
  a->write(x);
  a->close(CloseMode::Flush);
  EXPECT_TRUE(loop.run_until([&] { return ca.closed && cb.closed; }));
}

}  // namespace
}  // namespace pvb
