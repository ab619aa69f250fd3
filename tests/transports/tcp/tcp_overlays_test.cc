// The testing overlays over real sockets: 1-byte writes become 1-byte iovecs, and a write fault
// must wait for libuv's write callback before it resets the connection.
#include <gtest/gtest.h>

#include "tests/transports/tcp/tcp_test_support.h"
#include "transports/testing/chunk_limiter.h"
#include "transports/testing/fault_injector.h"

namespace pvb {
namespace {

using testing::Collector;
using testing::random_chain;
using testing::RandomVerifier;

// Accepts one connection into `server`, started with `sink`.
struct OneServer {
  std::unique_ptr<TcpListener> listener;
  std::unique_ptr<TcpTransport> server;
  OneServer(Loop& loop, TransportSink& sink) {
    auto l = TcpListener::listen(loop, "127.0.0.1", 0, [this, &sink](auto t) {
      server = std::move(t);
      server->set_sink(&sink);
      server->start();
    });
    EXPECT_TRUE(l.ok());
    if (l.ok()) listener = std::move(l.value());
  }
};

TEST(TcpOverlays, OneByteWritesAndReadsByteExact) {
  Loop loop;
  RandomVerifier at_server(9);
  OneServer s(loop, at_server);
  ASSERT_TRUE(s.listener);
  ChunkLimiter client(TcpTransport::connect(loop, {"127.0.0.1", s.listener->port()}), 1);
  RandomVerifier at_client(10);
  client.set_sink(&at_client);
  client.start();
  ByteChain up = random_chain(9, 20000);
  client.write(up, true);
  ASSERT_TRUE(loop.run_until([&] { return s.server != nullptr; }));
  ByteChain down = random_chain(10, 3000);
  s.server->write(down, true);
  ASSERT_TRUE(loop.run_until([&] { return at_server.ended && at_client.ended; }));
  EXPECT_EQ(at_server.received, 20000u);
  EXPECT_EQ(at_client.received, 3000u);
  EXPECT_EQ(at_client.largest, 1u);  // one byte per on_data
  EXPECT_GE(at_client.data_calls, 3000);
  EXPECT_FALSE(at_server.mismatch);
  EXPECT_FALSE(at_client.mismatch);
}

TEST(TcpOverlays, LimiterWatermarksSurviveAFastDrain) {
  // 5000 bytes in one write fit in the kernel at once: the socket's queue is empty again before
  // any posted "high" check runs. The limiter (above its own mark) must still report "low".
  Loop loop;
  Collector at_server;
  OneServer s(loop, at_server);
  ASSERT_TRUE(s.listener);
  ChunkLimiter client(TcpTransport::connect(loop, {"127.0.0.1", s.listener->port()}), 65536);
  client.set_write_watermarks(1000, 100);
  Collector at_client;
  client.set_sink(&at_client);
  client.start();
  ASSERT_TRUE(loop.run_until([&] { return at_client.connected; }));
  ByteChain data = random_chain(13, 5000);
  client.write(data);
  // A safety net so a regression fails instead of hanging; success never waits for it.
  Timer deadline(loop);
  bool expired = false;
  deadline.start(10000, [&] { expired = true; });
  ASSERT_TRUE(loop.run_until([&] { return at_client.lows == 1 || expired; }));
  EXPECT_FALSE(expired);
  EXPECT_LE(at_client.highs, 1);  // "high" may be skipped: the drain came first
  EXPECT_EQ(client.pending_write_bytes(), 0u);
  ASSERT_TRUE(loop.run_until([&] { return at_server.data.size() == 5000; }));
}

TEST(TcpOverlays, ResetAfterWriteReachesThePeerThenResets) {
  Loop loop;
  Collector at_server;
  OneServer s(loop, at_server);
  ASSERT_TRUE(s.listener);
  FaultPlan plan;
  plan.reset_after_write = 1000;
  FaultInjector client(TcpTransport::connect(loop, {"127.0.0.1", s.listener->port()}), plan);
  Collector at_client;
  client.set_sink(&at_client);
  client.start();
  ASSERT_TRUE(loop.run_until([&] { return at_client.connected; }));
  ByteChain data = random_chain(12, 5000);
  const std::string expected = data.to_string(1000);
  client.write(data);
  ASSERT_TRUE(loop.run_until([&] { return at_client.closed && at_server.closed; }));
  EXPECT_EQ(at_client.error.code(), Errc::connection_lost);
  EXPECT_EQ(at_server.error.code(), Errc::connection_lost);
  EXPECT_EQ(at_server.data, expected);
}

}  // namespace
}  // namespace pvb
