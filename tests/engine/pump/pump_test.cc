#include "engine/pump/pump.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>

#include "engine/core/random.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

std::string random_bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  SeededRandom r(seed);
  r.fill(s.data(), s.size());
  return s;
}

// The far end of a pipe: records what arrives.
struct Peer : TransportSink {
  std::string got;
  bool ended = false;
  bool closed = false;
  Error error;
  void on_data(ByteChain& c, bool end) override {
    got += c.to_string();
    c.clear();
    ended |= end;
  }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

// client <-MemPipe-> [a  Pump  b] <-MemPipe-> server
struct Rig {
  explicit Rig(MemPipeOptions opts = {}) {
    auto [c, a] = make_mem_pipe(loop, opts);
    auto [b, s] = make_mem_pipe(loop, opts);
    client = std::move(c);
    side_a = std::move(a);
    side_b = std::move(b);
    server = std::move(s);
    client->set_sink(&client_peer);
    server->set_sink(&server_peer);
    pump.emplace(*side_a, *side_b, Pump::Options{256 * 1024, 64 * 1024},
                 [this](const Pump::Result& r) { result = r; });
  }
  void start(ByteChain to_a = {}, ByteChain to_b = {}) {
    pump->start(std::move(to_a), std::move(to_b));
    for (auto* t : {client.get(), side_a.get(), side_b.get(), server.get()}) t->start();
  }
  Loop loop;
  std::unique_ptr<MemPipeEnd> client, side_a, side_b, server;
  Peer client_peer, server_peer;
  std::optional<Pump> pump;
  std::optional<Pump::Result> result;
};

TEST(Pump, MovesBytesBothWaysExactly) {
  Rig rig(MemPipeOptions{16 * 1024});
  rig.start();
  std::string up = random_bytes(3 * 1024 * 1024 + 7, 1);
  std::string down = random_bytes(5 * 1024 * 1024 + 3, 2);
  ByteChain u(up), d(down);
  rig.client->write(u);
  rig.server->write(d);
  rig.loop.run_until([&] {
    return rig.server_peer.got.size() == up.size() && rig.client_peer.got.size() == down.size();
  });
  EXPECT_EQ(rig.server_peer.got, up);
  EXPECT_EQ(rig.client_peer.got, down);
  EXPECT_EQ(rig.pump->bytes_a_to_b(), up.size());
  EXPECT_EQ(rig.pump->bytes_b_to_a(), down.size());
}

TEST(Pump, BackpressureBoundsBufferedBytesAndLosesNothing) {
  constexpr size_t kRead = 16 * 1024;  // what one delivery (one socket read) carries
  Rig rig(MemPipeOptions{kRead});
  rig.start();
  rig.server->read_disable(true);  // the far end stops reading
  std::string data = random_bytes(64 * 1024 * 1024, 3);
  ByteChain c(data);
  rig.client->write(c);

  // Sample the pump's own buffers every loop iteration. The state is shared with the posted
  // sampler so a failed assertion's early return cannot leave it pointing at dead locals.
  struct Sampler {
    size_t peak = 0;
    bool on = true;
  };
  auto st = std::make_shared<Sampler>();
  struct Tick {
    static void run(Rig* rig, std::shared_ptr<Sampler> st) {
      if (!st->on) return;
      st->peak = std::max(st->peak,
                          rig->side_b->pending_write_bytes() + rig->side_a->buffered_read_bytes());
      rig->loop.post([rig, st] { run(rig, st); });
    }
  };
  Tick::run(&rig, st);
  size_t& peak = st->peak;

  ASSERT_TRUE(rig.loop.run_until([&] { return rig.pump->read_paused(Pump::Side::a); }));
  // Give it many more iterations to prove it stays paused and bounded.
  int spins = 0;
  rig.loop.run_until([&] { return ++spins > 200; });
  EXPECT_TRUE(rig.pump->read_paused(Pump::Side::a));
  EXPECT_LE(peak, 256u * 1024 + kRead);
  EXPECT_GT(rig.client->pending_write_bytes(), 60u * 1024 * 1024);  // held back at the source

  rig.server->read_disable(false);
  rig.loop.run_until([&] { return rig.server_peer.got.size() == data.size(); });
  st->on = false;
  EXPECT_EQ(rig.server_peer.got, data);
  EXPECT_LE(peak, 256u * 1024 + kRead);
  EXPECT_FALSE(rig.pump->read_paused(Pump::Side::a));
}

TEST(Pump, ClientEndFlushesToServerThenEndsBoth) {
  Rig rig;
  rig.start();
  std::string data = random_bytes(1024 * 1024, 4);
  ByteChain c(data);
  rig.client->write(c, /*end_stream=*/true);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.result.has_value(); }));
  EXPECT_EQ(rig.result->ended_first, Pump::Side::a);
  EXPECT_TRUE(rig.result->error.ok());
  rig.loop.run_until([&] { return rig.server_peer.ended; });
  EXPECT_EQ(rig.server_peer.got, data);
  EXPECT_TRUE(rig.server_peer.ended);
}

TEST(Pump, ServerEndStillDeliversPendingBytesToClient) {
  Rig rig(MemPipeOptions{4096});
  rig.start();
  std::string data = random_bytes(2 * 1024 * 1024, 5);
  ByteChain c(data);
  rig.server->write(c);
  rig.server->close(CloseMode::Flush);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.result.has_value() && rig.client_peer.ended; }))
      << "client got " << rig.client_peer.got.size() << " bytes";
  EXPECT_EQ(rig.result->ended_first, Pump::Side::b);
  EXPECT_EQ(rig.client_peer.got, data);
}

TEST(Pump, ServerResetEndsWithError) {
  Rig rig;
  rig.start();
  rig.server->close(CloseMode::Abort);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.result.has_value(); }));
  EXPECT_EQ(rig.result->ended_first, Pump::Side::b);
  EXPECT_EQ(rig.result->error.code(), Errc::connection_lost);
  rig.loop.run_until([&] { return rig.client_peer.ended || rig.client_peer.closed; });
  EXPECT_TRUE(rig.client_peer.ended || rig.client_peer.closed);
}

TEST(Pump, InitialBytesGoFirst) {
  Rig rig;
  rig.start(ByteChain("RFB 003.008\n"), ByteChain("early-up"));
  ByteChain d("+more");
  rig.server->write(d);
  rig.loop.run_until(
      [&] { return rig.client_peer.got.size() == 17 && rig.server_peer.got.size() == 8; });
  EXPECT_EQ(rig.client_peer.got, "RFB 003.008\n+more");
  EXPECT_EQ(rig.server_peer.got, "early-up");
}

TEST(Pump, StopFlushesAndReportsDone) {
  Rig rig;
  rig.start();
  ByteChain d("bye");
  rig.server->write(d);
  rig.loop.run_until([&] { return rig.client_peer.got == "bye"; });
  rig.pump->stop();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.result.has_value(); }));
  EXPECT_TRUE(rig.result->error.ok());
  EXPECT_TRUE(rig.pump->finished());
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

// Regression: the writer drains below the low mark before the posted "high" callback runs. The
// pump paused on its own check of pending_write_bytes(); it must still hear "low" and resume.
TEST(Pump, ResumesWhenDrainBeatsThePostedHigh) {
  Rig rig(MemPipeOptions{512 * 1024});  // one delivery drains everything at once
  rig.start();
  std::string data = random_bytes(8 * 1024 * 1024, 9);
  ByteChain c(data);
  rig.client->write(c);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.server_peer.got.size() == data.size(); }));
  EXPECT_EQ(rig.server_peer.got, data);
}

}  // namespace
}  // namespace pvb
