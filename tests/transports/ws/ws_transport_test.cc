#include "transports/ws/ws_transport.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/transports/ws/ws_wire.h"
#include "transports/testing/mem_pipe.h"
#include "transports/ws/handshake.h"

namespace pvb {
namespace {

using wstest::make_frame;
using wstest::pattern;

// Collects everything a transport delivers.
struct Collector : TransportSink {
  std::string data;
  bool connected = false, ended = false, closed = false;
  int highs = 0, lows = 0, ends = 0;
  Error error;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& c, bool end) override {
    data += c.to_string();
    c.clear();
    ended |= end;
    ends += end ? 1 : 0;
  }
  void on_write_high() override { ++highs; }
  void on_write_low() override { ++lows; }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

// Plays pveproxy's HTTP side on one MemPipe end: reads the Upgrade request, then either hands the
// end to WsTransport::server (after a 101), or answers with raw bytes of the test's choosing.
class FakeUpgradeServer : public TransportSink {
 public:
  enum class Mode { websocket, raw, silent };

  FakeUpgradeServer(std::unique_ptr<MemPipeEnd> end, Random& rng)
      : end_(std::move(end)), rng_(rng) {
    end_->set_sink(this);
  }
  void start() { end_->start(); }

  Mode mode = Mode::websocket;
  WsServerOptions options;
  TransportSink* ws_sink = nullptr;
  // Raw mode: the answer for the client's key (the 101 head, frames, ...), then our end of the
  // stream (like pveproxy's FIN) if end_after_raw. (Not close(Flush): MemPipe's flushed close
  // crashes when the reader aborts from inside the final delivery; see the report.)
  std::function<std::string(const std::string& key)> raw_answer;
  bool end_after_raw = false;

  std::optional<HttpRequestHead> request;
  std::unique_ptr<WsTransport> ws;
  MemPipeEnd* raw_end() { return end_.get(); }

  void on_data(ByteChain& data, bool) override {
    if (request) return;
    auto head = parse_request_head(data, HttpLimits{});
    ASSERT_TRUE(head.ok()) << head.error().message();
    if (!head.value()) return;
    request = std::move(*head.value());
    Result<WsServerHandshake> hs = validate_client_handshake(*request);
    ASSERT_TRUE(hs.ok()) << hs.error().message();
    if (mode == Mode::silent) return;
    if (mode == Mode::raw) {
      ByteChain out(raw_answer(hs->key));
      end_->write(out, end_after_raw);
      return;
    }
    ByteChain answer;
    write_response_head(build_server_response(hs->key, "binary"), answer);
    end_->write(answer);
    ByteChain leftover;
    leftover.move_from(data);
    ws = WsTransport::server(std::move(end_), std::move(leftover), std::move(options), rng_);
    ws->set_sink(ws_sink);
    ws->start();
  }
  void on_closed(const Error&) override {}

 private:
  std::unique_ptr<MemPipeEnd> end_;
  Random& rng_;
};

std::string answer_101(const std::string& key) {
  ByteChain out;
  write_response_head(build_server_response(key, "binary"), out);
  return out.to_string();
}

// A client WsTransport and a fake pveproxy joined by a MemPipe.
struct Rig {
  explicit Rig(MemPipeOptions pipe = {}, WsClientOptions co = client_options()) : rng(11) {
    auto [a, b] = make_mem_pipe(loop, pipe);
    client = WsTransport::client(std::move(a), std::move(co), rng);
    client->set_sink(&csink);
    server = std::make_unique<FakeUpgradeServer>(std::move(b), rng);
    server->ws_sink = &ssink;
  }
  static WsClientOptions client_options() {
    WsClientOptions co;
    co.host_header = "pve.test:8006";
    co.path = "/api2/json/nodes/pve/qemu/100/vncwebsocket?port=5900&vncticket=PVEVNC%3Aabc";
    co.headers.add("Cookie", "PVEAuthCookie=PVE%3Aroot%40pam%3A1234");
    return co;
  }
  void start() {
    server->start();
    client->start();
  }
  bool open() { return csink.connected && server->ws && ssink.connected; }
  void start_and_open() {
    start();
    ASSERT_TRUE(loop.run_until([&] { return open(); }));
  }
  static void send(Transport& t, const std::string& s, bool end = false) {
    ByteChain c(s);
    t.write(c, end);
    EXPECT_TRUE(c.empty());
  }

  Loop loop;
  SeededRandom rng;
  Collector csink, ssink;
  std::unique_ptr<WsTransport> client;
  std::unique_ptr<FakeUpgradeServer> server;
};

TEST(WsTransport, UpgradeRequestCarriesPathAndAuthHeaders) {
  Rig rig;
  rig.start_and_open();
  const HttpRequestHead& r = *rig.server->request;
  EXPECT_EQ(r.target,
            "/api2/json/nodes/pve/qemu/100/vncwebsocket?port=5900&vncticket=PVEVNC%3Aabc");
  EXPECT_EQ(r.headers.get("Cookie"), "PVEAuthCookie=PVE%3Aroot%40pam%3A1234");
  EXPECT_EQ(r.headers.get("Host"), "pve.test:8006");
  EXPECT_EQ(r.headers.get("Sec-WebSocket-Protocol"), "binary");
  EXPECT_TRUE(rig.client->connected());
}

class WsTransportSizes : public ::testing::TestWithParam<size_t> {};

TEST_P(WsTransportSizes, DataFlowsBothWaysAtOnceByteExact) {
  const size_t n = GetParam();
  Rig rig;
  rig.start_and_open();
  const std::string up = pattern(n, 1), down = pattern(n + 7, 2);
  Rig::send(*rig.client, up);
  Rig::send(*rig.server->ws, down);
  ASSERT_TRUE(rig.loop.run_until(
      [&] { return rig.ssink.data.size() >= up.size() && rig.csink.data.size() >= down.size(); }));
  EXPECT_EQ(rig.ssink.data, up);
  EXPECT_EQ(rig.csink.data, down);
  EXPECT_FALSE(rig.csink.closed || rig.ssink.closed);
}

INSTANTIATE_TEST_SUITE_P(Sizes, WsTransportSizes,
                         ::testing::Values(1, 1000, 70000, 1024 * 1024, 8 * 1024 * 1024));

TEST(WsTransport, OneByteDeliveries) {
  Rig rig(MemPipeOptions{1});
  rig.start_and_open();
  const std::string up = pattern(5000, 3), down = pattern(4000, 4);
  Rig::send(*rig.client, up);
  Rig::send(*rig.server->ws, down);
  std::string pong;
  rig.client->set_pong_handler([&](ByteChain& p) { pong = p.to_string(); });
  const std::string ping = "one byte at a time";
  ASSERT_TRUE(rig.client->send_ping({reinterpret_cast<const uint8_t*>(ping.data()), ping.size()}));
  ASSERT_TRUE(rig.loop.run_until([&] {
    return rig.ssink.data.size() == up.size() && rig.csink.data.size() == down.size() &&
           !pong.empty();
  }));
  EXPECT_EQ(rig.ssink.data, up);
  EXPECT_EQ(rig.csink.data, down);
  EXPECT_EQ(pong, ping);
}

TEST(WsTransport, PingsAreAnsweredWithPongsBothWays) {
  Rig rig;
  rig.start_and_open();
  std::vector<std::string> client_pongs, server_pongs;
  rig.client->set_pong_handler([&](ByteChain& p) { client_pongs.push_back(p.to_string()); });
  rig.server->ws->set_pong_handler([&](ByteChain& p) { server_pongs.push_back(p.to_string()); });
  const std::string a = "keepalive-1", b = "from-server";
  ASSERT_TRUE(rig.client->send_ping({reinterpret_cast<const uint8_t*>(a.data()), a.size()}));
  ASSERT_TRUE(rig.server->ws->send_ping({reinterpret_cast<const uint8_t*>(b.data()), b.size()}));
  ASSERT_TRUE(rig.loop.run_until([&] { return !client_pongs.empty() && !server_pongs.empty(); }));
  EXPECT_EQ(client_pongs, std::vector<std::string>{a});
  EXPECT_EQ(server_pongs, std::vector<std::string>{b});
  EXPECT_TRUE(rig.csink.data.empty());  // control frames are not data
}

TEST(WsTransport, ClientEndStreamSendsCloseAndServerSeesEnd) {
  Rig rig;
  rig.start_and_open();
  Rig::send(*rig.client, "last words", /*end=*/true);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.ended && rig.csink.closed; }));
  EXPECT_EQ(rig.ssink.data, "last words");
  EXPECT_EQ(rig.ssink.ends, 1);
  EXPECT_EQ(rig.server->ws->peer_close_code(), kWsCloseNormal);
  EXPECT_TRUE(rig.csink.error.ok()) << rig.csink.error.message();
  // The server closes its side after the end; nobody waits for a Close reply.
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.closed; }));
  EXPECT_TRUE(rig.ssink.error.ok()) << rig.ssink.error.message();
  // Writing after the end is a no-op.
  Rig::send(*rig.client, "too late");
}

TEST(WsTransport, CloseFlushDeliversPendingDataFirst) {
  Rig rig;
  rig.start_and_open();
  const std::string big = pattern(300000, 9);
  Rig::send(*rig.client, big);
  rig.client->close(CloseMode::Flush);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.ended && rig.csink.closed; }));
  EXPECT_EQ(rig.ssink.data, big);
  EXPECT_TRUE(rig.csink.error.ok());
}

TEST(WsTransport, ServerEndReachesTheClient) {
  Rig rig;
  rig.start_and_open();
  Rig::send(*rig.server->ws, "vm says bye", /*end=*/true);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.ended && rig.csink.closed; }));
  EXPECT_EQ(rig.csink.data, "vm says bye");
  EXPECT_EQ(rig.client->peer_close_code(), kWsCloseNormal);
  EXPECT_TRUE(rig.csink.error.ok()) << rig.csink.error.message();
}

TEST(WsTransport, LowerEofWithoutCloseIsEndStreamNotAnError) {
  // pveproxy just closes TCP when the VM side ends: 101, some data, EOF.
  Rig rig;
  rig.server->mode = FakeUpgradeServer::Mode::raw;
  rig.server->raw_answer = [](const std::string& key) {
    return answer_101(key) + make_frame(ws_opcode::kBinary, "RFB 003.008\n");
  };
  rig.server->end_after_raw = true;
  rig.start();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_TRUE(rig.csink.connected);
  EXPECT_EQ(rig.csink.data, "RFB 003.008\n");
  EXPECT_TRUE(rig.csink.ended);
  EXPECT_TRUE(rig.csink.error.ok()) << rig.csink.error.message();
  EXPECT_EQ(rig.client->peer_close_code(), kWsCloseNoStatus);
}

TEST(WsTransport, Non101IsConsoleRefusedWithStatusAndReason) {
  Rig rig;
  rig.server->mode = FakeUpgradeServer::Mode::raw;
  rig.server->raw_answer = [](const std::string&) {
    return std::string("HTTP/1.1 401 authentication failure\r\nContent-Length: 0\r\n\r\n");
  };
  rig.start();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_FALSE(rig.csink.connected);
  EXPECT_EQ(rig.csink.error.code(), Errc::console_refused);
  EXPECT_EQ(rig.csink.error.detail(), "websocket upgrade refused: 401 authentication failure");
  // The layers above decide on this code, not on the words (console_session.cc).
  EXPECT_EQ(rig.csink.error.source(), ErrorSource::websocket);
}

TEST(WsTransport, WrongAcceptFailsTheHandshake) {
  Rig rig;
  rig.server->mode = FakeUpgradeServer::Mode::raw;
  rig.server->raw_answer = [](const std::string&) {
    return answer_101("dGhlIHNhbXBsZSBub25jZQ==");
  };
  rig.start();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_FALSE(rig.csink.connected);
  EXPECT_EQ(rig.csink.error.code(), Errc::protocol);
  EXPECT_NE(rig.csink.error.detail().find("Sec-WebSocket-Accept"), std::string::npos);
}

TEST(WsTransport, EofDuringHandshakeIsConnectionLost) {
  Rig rig;
  rig.server->mode = FakeUpgradeServer::Mode::raw;
  rig.server->raw_answer = [](const std::string&) { return std::string("HTTP/1.1 101 Swi"); };
  rig.server->end_after_raw = true;
  rig.start();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_EQ(rig.csink.error.code(), Errc::connection_lost);
  EXPECT_EQ(rig.csink.error.source(), ErrorSource::websocket);
}

TEST(WsTransport, TheLowerTransportsErrorsAreNotMarkedAsOurs) {
  Rig rig;
  rig.start_and_open();
  rig.server->ws->close(CloseMode::Abort);  // a reset under the client's WebSocket
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_EQ(rig.csink.error.code(), Errc::connection_lost);
  EXPECT_EQ(rig.csink.error.source(), ErrorSource::unspecified) << rig.csink.error.message();
}

TEST(WsTransport, HandshakeTimesOut) {
  WsClientOptions co = Rig::client_options();
  co.handshake_timeout_ms = 20;
  Rig rig({}, co);
  rig.server->mode = FakeUpgradeServer::Mode::silent;
  rig.start();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_EQ(rig.csink.error.code(), Errc::timeout);
  EXPECT_FALSE(rig.csink.connected);
}

TEST(WsTransport, PeerProtocolErrorFailsAndAborts) {
  Rig rig;
  rig.server->mode = FakeUpgradeServer::Mode::raw;
  rig.server->raw_answer = [](const std::string& key) {
    return answer_101(key) +
           make_frame(ws_opcode::kBinary, "x", true, std::array<uint8_t, 4>{1, 2, 3, 4});
  };
  rig.start();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_EQ(rig.csink.error.code(), Errc::protocol);
  EXPECT_NE(rig.csink.error.detail().find("masked frame from the server"), std::string::npos);
  EXPECT_EQ(rig.csink.error.source(), ErrorSource::websocket);
  // The lower transport was aborted: the other end sees a reset.
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.server->raw_end()->closed(); }));
  EXPECT_EQ(rig.server->raw_end()->failure().code(), Errc::connection_lost);
}

TEST(WsTransport, WritesBeforeTheHandshakeAreSentInOrder) {
  Rig rig;
  Rig::send(*rig.client, "early ");
  EXPECT_EQ(rig.client->pending_write_bytes(), 6u);
  rig.start();
  Rig::send(*rig.client, "bird");
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.data.size() >= 10; }));
  EXPECT_EQ(rig.ssink.data, "early bird");
}

TEST(WsTransport, BackpressureRaisesAndLowersTheWriterWatermark) {
  Rig rig;
  rig.client->set_write_watermarks(64 * 1024, 16 * 1024);
  rig.start_and_open();
  rig.server->ws->read_disable(true);
  const std::string big = pattern(2 * 1024 * 1024, 5);
  Rig::send(*rig.client, big);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.highs == 1; }));
  EXPECT_GT(rig.client->pending_write_bytes(), 64u * 1024);
  EXPECT_LT(rig.ssink.data.size(), big.size());
  EXPECT_EQ(rig.csink.lows, 0);

  rig.server->ws->read_disable(false);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.data.size() == big.size(); }));
  EXPECT_EQ(rig.ssink.data, big);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.lows == 1; }));
  EXPECT_EQ(rig.client->pending_write_bytes(), 0u);
  EXPECT_EQ(rig.csink.highs, 1);
}

TEST(WsTransport, ReadDisableIsCountedAndHoldsData) {
  Rig rig;
  rig.start_and_open();
  rig.client->read_disable(true);
  rig.client->read_disable(true);  // counted
  Rig::send(*rig.server->ws, "held");
  // Runs until the loop has nothing left to do: nothing may arrive while paused.
  EXPECT_FALSE(rig.loop.run_until([&] { return !rig.csink.data.empty(); }));
  rig.client->read_disable(false);
  EXPECT_FALSE(rig.loop.run_until([&] { return !rig.csink.data.empty(); }));
  rig.client->read_disable(false);
  ASSERT_TRUE(rig.loop.run_until([&] { return !rig.csink.data.empty(); }));
  EXPECT_EQ(rig.csink.data, "held");
  Rig::send(*rig.server->ws, "", /*end=*/true);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.ended && rig.csink.closed; }));
  EXPECT_EQ(rig.csink.data, "held");
}

TEST(WsTransport, LeftoverBytesAreOfferedAgainFirst) {
  Rig rig;
  struct TakeTwo : Collector {
    void on_data(ByteChain& c, bool end) override {
      size_t n = std::min<size_t>(2, c.size());
      data += c.to_string(n);
      c.drain(n);
      ended |= end;
    }
  } take_two;
  rig.client->set_sink(&take_two);
  rig.start();
  ASSERT_TRUE(rig.loop.run_until([&] { return take_two.connected && rig.ssink.connected; }));
  Rig::send(*rig.server->ws, "abcd");
  ASSERT_TRUE(rig.loop.run_until([&] { return take_two.data == "ab"; }));
  Rig::send(*rig.server->ws, "ef");
  ASSERT_TRUE(rig.loop.run_until([&] { return take_two.data.size() >= 4; }));
  EXPECT_EQ(take_two.data, "abcd");  // the leftover "cd" first
}

TEST(WsTransport, ServerFrameHookKillsTheConnection) {
  Rig rig;
  rig.server->options.frame_hook = [](const WsFrameInfo& f) {
    if (f.payload_length > 100) return Error(Errc::protocol, "frame over 100 bytes");
    return Error();
  };
  rig.start_and_open();
  Rig::send(*rig.client, "small");
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.data == "small"; }));
  Rig::send(*rig.client, pattern(1000));
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.closed && rig.csink.closed; }));
  EXPECT_EQ(rig.ssink.error.detail(), "frame over 100 bytes");
  EXPECT_EQ(rig.ssink.data, "small");  // nothing of the refused frame
  EXPECT_EQ(rig.csink.error.code(), Errc::connection_lost);
}

TEST(WsTransport, ClosingGivesUpAfterTheCloseTimeout) {
  // A peer that reads nothing: our flushed close can never finish, so the timeout aborts it.
  WsClientOptions co = Rig::client_options();
  co.close_timeout_ms = 20;
  Rig rig({}, co);
  rig.start_and_open();
  rig.server->ws->read_disable(true);
  Rig::send(*rig.client, "unread", /*end=*/true);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed && rig.ssink.closed; }));
  EXPECT_TRUE(rig.csink.error.ok()) << rig.csink.error.message();  // we closed it ourselves
  EXPECT_EQ(rig.ssink.error.code(), Errc::connection_lost);
  EXPECT_TRUE(rig.ssink.data.empty());
}

// The server role over a raw client end: `leftover` holds frames that came with the request head.
struct RawClientRig {
  explicit RawClientRig(const std::string& leftover_bytes, WsServerOptions o) : rng(5) {
    auto [a, b] = make_mem_pipe(loop);
    raw = std::move(a);
    raw->set_sink(&rsink);
    raw->start();
    b->start();
    server = WsTransport::server(std::move(b), ByteChain(leftover_bytes), std::move(o), rng);
    server->set_sink(&ssink);
    server->start();
  }
  Loop loop;
  SeededRandom rng;
  Collector rsink, ssink;
  std::unique_ptr<MemPipeEnd> raw;
  std::unique_ptr<WsTransport> server;
};

constexpr std::array<uint8_t, 4> kClientMask{9, 8, 7, 6};

TEST(WsTransport, ServerDecodesTheLeftoverAndNeverAnswersClose) {
  const std::string leftover =
      make_frame(ws_opcode::kBinary, "early", true, kClientMask) +
      make_frame(ws_opcode::kClose, std::string("\x03\xe8", 2), true, kClientMask);
  RawClientRig rig(leftover, WsServerOptions{});
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.closed && rig.rsink.ended; }));
  EXPECT_TRUE(rig.ssink.connected);
  EXPECT_EQ(rig.ssink.data, "early");
  EXPECT_TRUE(rig.ssink.ended);
  EXPECT_TRUE(rig.ssink.error.ok()) << rig.ssink.error.message();
  EXPECT_TRUE(rig.rsink.data.empty());  // pveproxy-like: no Close reply, just the TCP end
}

TEST(WsTransport, PingsFromAPeerThatDoesNotReadOweOnePongAtATime) {
  // 5,000 pings from a peer that reads nothing: the pongs stop piling up at the budget (one owed,
  // to the latest ping), and once the peer reads again it gets that latest answer.
  std::string pings;
  for (int i = 0; i < 5000; ++i) {
    pings += make_frame(ws_opcode::kPing, "ping" + std::to_string(i), true, kClientMask);
  }
  RawClientRig rig(pings, WsServerOptions{});
  rig.raw->read_disable(true);
  for (int i = 0; i < 50; ++i) rig.loop.post([] {});
  rig.loop.run_until([] { return false; });
  EXPECT_LE(rig.server->pending_write_bytes(), WsTransport::kPongBudget + 2 + 125);
  EXPECT_GT(rig.server->pending_write_bytes(), 0u);
  rig.raw->read_disable(false);
  const std::string last = make_frame(ws_opcode::kPong, "ping4999", true, std::nullopt);
  ASSERT_TRUE(rig.loop.run_until([&] {
    return rig.rsink.data.size() >= last.size() &&
           rig.rsink.data.compare(rig.rsink.data.size() - last.size(), last.size(), last) == 0;
  }));
  EXPECT_LT(rig.rsink.data.size(), 5000 * last.size());  // not every ping got its own pong
}

TEST(WsTransport, ServerAnswersCloseWhenAskedTo) {
  const std::string leftover =
      make_frame(ws_opcode::kClose, std::string("\x03\xe9", 2) + "bye", true, kClientMask);
  WsServerOptions o;
  o.reply_to_close = true;
  RawClientRig rig(leftover, std::move(o));
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.ssink.closed && rig.rsink.ended; }));
  EXPECT_EQ(rig.server->peer_close_code(), 1001);
  EXPECT_EQ(rig.server->peer_close_reason(), "bye");
  auto frames = wstest::parse_frames(rig.rsink.data);
  ASSERT_TRUE(frames.has_value());
  ASSERT_EQ(frames->size(), 1u);
  EXPECT_EQ((*frames)[0].opcode, ws_opcode::kClose);
  EXPECT_FALSE((*frames)[0].masked);
  EXPECT_EQ((*frames)[0].payload, std::string("\x03\xe9", 2));  // the code echoed
}

TEST(WsTransport, AbortClosesAtOnce) {
  Rig rig;
  rig.start_and_open();
  rig.client->close(CloseMode::Abort);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed && rig.ssink.closed; }));
  EXPECT_TRUE(rig.csink.error.ok());
  EXPECT_EQ(rig.ssink.error.code(), Errc::connection_lost);
  EXPECT_FALSE(rig.ssink.ended);
}

// --- a kept-alive connection reused for the upgrade (StackDialer's one connection per console) ---

// A client WsTransport over a connection that is already up (REST calls used it), whose server
// ends it in the way the test chooses, and `redial` making fresh connections to a fake pveproxy
// that upgrades.
struct ReuseRig {
  struct Ignore : TransportSink {
    void on_data(ByteChain& d, bool) override { d.clear(); }
    void on_closed(const Error&) override {}
  };

  ReuseRig() : rng(5) {
    auto [a, b] = make_mem_pipe(loop);
    kept = std::move(a);
    kept_server = std::make_unique<FakeUpgradeServer>(std::move(b), rng);
    kept->set_sink(&ignore);
    kept->start();
    kept_server->start();
    EXPECT_TRUE(loop.run_until([&] { return kept->connected(); }));
  }
  // The client over the kept connection; each redial makes a fresh pipe whose server upgrades
  // (or, with fresh_fails, ends it unanswered too).
  void start_client() {
    WsClientOptions co = Rig::client_options();
    co.redial = [this]() -> std::unique_ptr<Transport> {
      ++redials;
      auto [c, d] = make_mem_pipe(loop);
      auto server = std::make_unique<FakeUpgradeServer>(std::move(d), rng);
      server->ws_sink = &ssink;
      if (fresh_fails) {
        server->mode = FakeUpgradeServer::Mode::raw;
        server->raw_answer = [](const std::string&) { return std::string(); };
        server->end_after_raw = true;
      }
      server->start();
      fresh_servers.push_back(std::move(server));
      return std::move(c);
    };
    client = WsTransport::client(std::move(kept), std::move(co), rng);
    client->set_sink(&csink);
    client->start();
  }

  Loop loop;
  SeededRandom rng;
  Ignore ignore;
  Collector csink, ssink;
  std::unique_ptr<MemPipeEnd> kept;
  std::unique_ptr<FakeUpgradeServer> kept_server;
  std::vector<std::unique_ptr<FakeUpgradeServer>> fresh_servers;
  std::unique_ptr<WsTransport> client;
  int redials = 0;
  bool fresh_fails = false;
};

TEST(WsTransportReuse, UpgradeGoesOutOnTheConnectionThatIsAlreadyUp) {
  ReuseRig rig;
  rig.start_client();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.connected || rig.csink.closed; }));
  EXPECT_TRUE(rig.csink.connected) << rig.csink.error.message();
  EXPECT_TRUE(rig.kept_server->request.has_value());
  EXPECT_EQ(rig.redials, 0);
  ByteChain hello("RFB 003.008\n");
  rig.kept_server->ws->write(hello);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.data.size() == 12; }));
}

// The server's idle timeout fired just as we reused the connection: it ends it (FIN) without a
// byte of answer. The upgrade goes again on a fresh connection, transparently.
TEST(WsTransportReuse, ClosedBeforeAnyAnswerByteIsRedialledOnce) {
  ReuseRig rig;
  rig.kept_server->mode = FakeUpgradeServer::Mode::raw;
  rig.kept_server->raw_answer = [](const std::string&) { return std::string(); };
  rig.kept_server->end_after_raw = true;
  rig.start_client();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.connected || rig.csink.closed; }));
  EXPECT_TRUE(rig.csink.connected) << rig.csink.error.message();
  EXPECT_EQ(rig.redials, 1);
  ASSERT_EQ(rig.fresh_servers.size(), 1u);
  ASSERT_TRUE(rig.fresh_servers[0]->request.has_value());
  EXPECT_EQ(rig.fresh_servers[0]->request->target, Rig::client_options().path);
  // The stream works on the fresh connection, both ways.
  ByteChain hello("RFB 003.008\n");
  rig.fresh_servers[0]->ws->write(hello);
  Rig::send(*rig.client, "RFB 003.008\n");
  ASSERT_TRUE(rig.loop.run_until(
      [&] { return rig.csink.data.size() == 12 && rig.ssink.data.size() == 12; }));
}

// The same race seen as a reset (the server's socket was gone).
TEST(WsTransportReuse, ResetBeforeAnyAnswerByteIsRedialledOnce) {
  ReuseRig rig;
  rig.kept_server->mode = FakeUpgradeServer::Mode::silent;
  rig.start_client();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.kept_server->request.has_value(); }));
  rig.kept_server->raw_end()->close(CloseMode::Abort);
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.connected || rig.csink.closed; }));
  EXPECT_TRUE(rig.csink.connected) << rig.csink.error.message();
  EXPECT_EQ(rig.redials, 1);
}

// Once the server has said anything, the upgrade may have been acted on: no second try.
TEST(WsTransportReuse, NoRedialOnceAnAnswerByteArrived) {
  ReuseRig rig;
  rig.kept_server->mode = FakeUpgradeServer::Mode::raw;
  rig.kept_server->raw_answer = [](const std::string&) { return std::string("HTTP/1.1 10"); };
  rig.kept_server->end_after_raw = true;
  rig.start_client();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_EQ(rig.csink.error.code(), Errc::connection_lost);
  EXPECT_EQ(rig.redials, 0);
}

// One retry only: a fresh connection that fails the same way is the error.
TEST(WsTransportReuse, RedialledOnlyOnce) {
  ReuseRig rig;
  rig.fresh_fails = true;
  rig.kept_server->mode = FakeUpgradeServer::Mode::raw;
  rig.kept_server->raw_answer = [](const std::string&) { return std::string(); };
  rig.kept_server->end_after_raw = true;
  rig.start_client();
  ASSERT_TRUE(rig.loop.run_until([&] { return rig.csink.closed; }));
  EXPECT_EQ(rig.csink.error.code(), Errc::connection_lost);
  EXPECT_EQ(rig.csink.error.source(), ErrorSource::websocket);
  EXPECT_EQ(rig.redials, 1);
}

}  // namespace
}  // namespace pvb
