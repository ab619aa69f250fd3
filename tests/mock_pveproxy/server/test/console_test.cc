// Console websockets in process: the fake VM through our own WebSocket client and RFB client,
// the benchmark consoles, pveproxy's frame and buffer rules with hand-made frames, and every
// websocket fault. ManualClock makes ticket windows and password expiry instant.
#include <gtest/gtest.h>

#include "tests/fake_vm/fake_vm_screens.h"
#include "tests/fake_vm/rfb_client.h"
#include "tests/mock_pveproxy/server/raw_frame_session.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "transports/testing/bench_console.h"
#include "transports/ws/ws_transport.h"

namespace pvb::mock::test {
namespace {

std::unique_ptr<WsTransport> ws_client(Harness& h, uint32_t vmid, const ConsoleTicket& console) {
  WsClientOptions o;
  o.host_header = "localhost";
  o.path = h.websocket_target(vmid, console);
  o.headers.add("Authorization", token_auth());
  return WsTransport::client(h.open_connection(), std::move(o), h.random);
}

// Runs an RfbTestClient through the mock's websocket to `vmid` with `password`.
Result<RfbSnapshot> rfb_session(Harness& h, uint32_t vmid, std::string password) {
  std::optional<ConsoleTicket> console = h.vncproxy(vmid);
  if (!console) return Error(Errc::internal, "vncproxy failed");
  if (password.empty()) password = console->password.empty() ? console->ticket : console->password;
  std::optional<Result<RfbSnapshot>> result;
  RfbTestClient client(ws_client(h, vmid, *console), RfbClientOptions{.password = password},
                       [&](Result<RfbSnapshot> r) { result = std::move(r); });
  client.start();
  h.run_until([&] { return result.has_value(); });
  if (!result) return Error(Errc::internal, "the RFB client never finished");
  client.close();
  h.run_until([&] { return h.server->console_sessions() == 0; });
  return *result;
}

TEST(Console, FakeVmAnswersOurClientsWithTheGuestsName) {
  Harness h;
  Result<RfbSnapshot> shot = rfb_session(h, 100, "");
  ASSERT_TRUE(shot.ok()) << shot.error().message();
  EXPECT_EQ(shot->name, "web01");
  EXPECT_EQ(shot->width, 640);
  EXPECT_EQ(shot->pixels.size(), 640u * 480 * 4);
  // The session ended with the client; the console was released in the API.
  ASSERT_EQ(h.server->finished_consoles().size(), 1u);
  EXPECT_EQ(h.server->finished_consoles()[0].relay.ended_by, RelayResult::End::client);
  EXPECT_EQ(h.api->open_consoles(), 0u);
  EXPECT_EQ(h.vncproxy(100)->port, 5900);  // the port is free again
}

// Every console of a guest shows the same fake VM screen (fake_vm_screens()), so a reconnecting
// viewer continues the picture and a test can freeze, step and dump it.
TEST(Console, ConsolesOfAGuestShareItsScreen) {
  Harness h;
  ASSERT_TRUE(rfb_session(h, 100, "").ok());
  std::shared_ptr<FakeScreen> screen = fake_vm_screens().find(100);
  ASSERT_NE(screen, nullptr);
  screen->freeze(5);
  Result<RfbSnapshot> first = rfb_session(h, 100, "");
  ASSERT_TRUE(first.ok()) << first.error().message();
  fake_vm_screens().step_all();
  Result<RfbSnapshot> second = rfb_session(h, 100, "");
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(fake_vm_screens().find(100), screen);
  EXPECT_NE(first->pixels, second->pixels) << "the step shows in the next console";
  const Framebuffer expected = FakeScreen::render(640, 480, "web01", 6);
  ASSERT_EQ(second->pixels.size(), expected.pixels().size() * 4);
  for (size_t i = 0; i < expected.pixels().size(); i += 997) {
    const uint32_t got = uint32_t{second->pixels[4 * i]} |
                         uint32_t{second->pixels[4 * i + 1]} << 8 |
                         uint32_t{second->pixels[4 * i + 2]} << 16;
    EXPECT_EQ(got, expected.pixels()[i]) << "pixel " << i;
  }
}

TEST(Console, UnnamedGuestIsVmVmid) {
  Harness h;
  Result<RfbSnapshot> shot = rfb_session(h, 110, "");
  ASSERT_TRUE(shot.ok()) << shot.error().message();
  EXPECT_EQ(shot->name, "vm110");
}

TEST(Console, ContainerPasswordIsTheTicket) {
  Harness h;
  Result<RfbSnapshot> shot = rfb_session(h, 200, "");  // lxc: no generated password
  ASSERT_TRUE(shot.ok()) << shot.error().message();
  EXPECT_EQ(shot->name, "ct-web");
}

TEST(Console, WrongPasswordIsRefusedByTheFakeVm) {
  Harness h;
  Result<RfbSnapshot> shot = rfb_session(h, 100, "not-it!!");
  ASSERT_FALSE(shot.ok());
  EXPECT_EQ(shot.error().code(), Errc::auth);
}

TEST(Console, ExpiredVncPasswordIsRefused) {
  MockOptions o;
  o.vnc_password_life_s = -1;  // expired as soon as the websocket connects
  Harness h(o);
  Result<RfbSnapshot> shot = rfb_session(h, 100, "");
  ASSERT_FALSE(shot.ok());
  EXPECT_EQ(shot.error().code(), Errc::auth);
  EXPECT_TRUE(h.log_contains("fake VM"));
}

// Sends the upgrade for `console` on a fresh connection and returns the reply.
HttpReply upgrade_reply(Harness& h, uint32_t vmid, const ConsoleTicket& console) {
  Collector c;
  std::unique_ptr<Transport> t = h.connect(c);
  ByteChain req(h.upgrade_request(vmid, console));
  t->write(req);
  h.run_until([&] { return c.data.find("\r\n\r\n") != std::string::npos || c.closed; });
  std::vector<HttpReply> r = parse_replies(c.data);
  t->close(CloseMode::Abort);
  return r.empty() ? HttpReply{} : r.front();
}

TEST(Console, TicketAfterTheWindowIsRefused) {
  Harness h;
  std::optional<ConsoleTicket> console = h.vncproxy(100);
  ASSERT_TRUE(console);
  h.clock.advance(11);  // the 10-second window, not the ticket (valid 40 s)
  HttpReply r = upgrade_reply(h, 100, *console);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "failed to connect: Connection refused");
}

TEST(Console, TicketIsOneShot) {
  Harness h;
  RawWsClient first(h, 100);
  ASSERT_TRUE(first.ok);
  HttpReply again = upgrade_reply(h, 100, first.console);
  EXPECT_EQ(again.status, 500);
}

TEST(Console, UpgradeAnswerEchoesBinaryAndTheAcceptKey) {
  Harness h;
  RawWsClient c(h, 100);
  ASSERT_TRUE(c.ok);
  std::vector<HttpReply> r = parse_replies(c.collector.data.substr(0, c.head_bytes));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(*r[0].headers.get("Sec-WebSocket-Protocol"), "binary");
  // RFC 6455's own example key and answer.
  EXPECT_EQ(*r[0].headers.get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  // The greeting: one unmasked binary frame.
  h.run_until([&] { return !parse_frames(c.after_head()).empty() || c.collector.closed; });
  std::vector<ServerFrame> frames = parse_frames(c.after_head());
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames[0].opcode(), 2);
  EXPECT_FALSE(frames[0].masked);
  EXPECT_EQ(frames[0].payload, "RFB 003.008\n");
}

std::string deterministic_bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  SeededRandom r(seed);
  r.fill(s.data(), s.size());
  return s;
}

TEST(Console, EchoReturnsEveryByte) {
  Harness h;
  std::optional<ConsoleTicket> console = h.vncproxy(302);
  ASSERT_TRUE(console);
  Collector c;
  std::unique_ptr<WsTransport> ws = ws_client(h, 302, *console);
  ws->set_sink(&c);
  ws->start();
  const std::string sent = deterministic_bytes(300 * 1024 + 7, 1);
  for (size_t off = 0; off < sent.size(); off += 10000) {
    ByteChain part(std::string_view(sent).substr(off, 10000));
    ws->write(part);
  }
  ASSERT_TRUE(h.run_until([&] { return c.data.size() >= sent.size() || c.closed; }));
  EXPECT_TRUE(c.data == sent);
  ws->close(CloseMode::Flush);
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  EXPECT_EQ(h.server->finished_consoles()[0].relay.to_vm, sent.size());
  EXPECT_EQ(h.server->finished_consoles()[0].relay.to_client, sent.size());
}

TEST(Console, SourceStreamsTheCounterPattern) {
  Harness h;
  std::optional<ConsoleTicket> console = h.vncproxy(300);
  ASSERT_TRUE(console);
  Collector c;
  std::unique_ptr<WsTransport> ws = ws_client(h, 300, *console);
  ws->set_sink(&c);
  ws->start();
  const size_t want = 3 * 1024 * 1024;
  ASSERT_TRUE(h.run_until([&] { return c.data.size() >= want || c.closed; }));
  size_t bad = 0;
  for (size_t i = 0; i < c.data.size(); ++i) {
    if (static_cast<uint8_t>(c.data[i]) != BenchConsole::source_byte(i)) ++bad;
  }
  EXPECT_EQ(bad, 0u);
  ws->close(CloseMode::Abort);
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
}

TEST(Console, SourcePausesWhileTheClientReadsNothing) {
  Harness h;
  RawWsClient c(h, 300);
  ASSERT_TRUE(c.ok);
  c.transport->read_disable(true);
  ConsoleWebsocket* session = h.server->find_console(c.console.port);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(h.run_until([&] { return session->relay()->vm_paused(); }));
  // The loop runs dry: the source stopped, what it sent is bounded by the websocket's high mark
  // plus one burst.
  h.run_until([] { return false; });
  EXPECT_TRUE(session->relay()->vm_paused());
  EXPECT_LE(session->relay()->result().to_client, 256 * 1024 + 2 * BenchConsole::kSourceBurst);
  c.transport->read_disable(false);
  ASSERT_TRUE(h.run_until([&] { return frame_payloads(c.after_head()).size() > 1024 * 1024; }));
}

TEST(Console, SinkTakesEverythingWithoutDropping) {
  Harness h;
  std::optional<ConsoleTicket> console = h.vncproxy(301);
  ASSERT_TRUE(console);
  Collector c;
  std::unique_ptr<WsTransport> ws = ws_client(h, 301, *console);
  ws->set_sink(&c);
  ws->start();
  const size_t total = 4 * 1024 * 1024;
  const std::string chunk(64 * 1024, 's');
  for (size_t sent = 0; sent < total; sent += chunk.size()) {
    ByteChain part(chunk);
    ws->write(part);
  }
  ws->close(CloseMode::Flush);  // after the handshake and the data
  ASSERT_TRUE(h.run_until([&] { return h.server->finished_consoles().size() == 1; }));
  EXPECT_EQ(h.server->finished_consoles()[0].relay.to_vm, total);
  EXPECT_EQ(h.server->finished_consoles()[0].relay.ended_by, RelayResult::End::client);
}

// --- pveproxy's frame rules ---------------------------------------------------------------

// Sends `bytes` after the upgrade to the echo console; true when the connection was killed.
bool killed_by(const std::string& bytes, MockOptions options = {}) {
  Harness h(options);
  RawWsClient c(h, 302);
  if (!c.ok) return false;
  c.send(bytes);
  h.run_until([&] { return c.collector.closed || c.collector.ended; });
  h.run_until([&] { return h.server->console_sessions() == 0; });
  return (c.collector.closed || c.collector.ended) && c.after_head().empty() &&
         h.server->finished_consoles().size() == 1 &&
         h.server->finished_consoles()[0].error.failed();
}

// Sends `bytes` and expects `echoed` payload bytes back on a connection that stays up.
void expect_echo(const std::string& bytes, size_t echoed, MockOptions options = {}) {
  Harness h(options);
  RawWsClient c(h, 302);
  ASSERT_TRUE(c.ok);
  c.send(bytes);
  ASSERT_TRUE(h.run_until(
      [&] { return frame_payloads(c.after_head()).size() >= echoed || c.collector.closed; }));
  EXPECT_EQ(frame_payloads(c.after_head()).size(), echoed);
  EXPECT_FALSE(c.collector.closed);
}

TEST(FrameRules, UnmaskedFrameKills) {
  EXPECT_TRUE(killed_by(client_frame(kFin | 2, "abc", /*masked=*/false)));
}

TEST(FrameRules, FragmentedMessageKills) {
  EXPECT_TRUE(killed_by(client_frame(2, "ab") + client_frame(kFin | 0, "cd")));
}

TEST(FrameRules, RsvBitsKill) {
  EXPECT_TRUE(killed_by(client_frame(kFin | 0x40 | 2, "abc")));
}

TEST(FrameRules, PayloadOf128KiBPassesOneMoreByteKills) {
  expect_echo(client_frame(kFin | 2, std::string(128 * 1024, 'p')), 128 * 1024);
  EXPECT_TRUE(killed_by(client_frame(kFin | 2, std::string(128 * 1024 + 1, 'p'))));
}

TEST(FrameRules, TextFramesAreRelayedAsBytes) {
  expect_echo(client_frame(kFin | 1, "text!") + client_frame(kFin | 2, "bin"), 8);
}

TEST(FrameRules, OldPveproxyAllowsWholeFramesUpTo64KiB) {
  MockOptions old;
  old.old_pveproxy = true;
  // A masked frame with a 2-byte length has an 8-byte header.
  expect_echo(client_frame(kFin | 2, std::string(65536 - 8, 'o')), 65536 - 8, old);
  EXPECT_TRUE(killed_by(client_frame(kFin | 2, std::string(65536 - 7, 'o')), old));
}

TEST(FrameRules, PingIsAnsweredCloseIsNot) {
  Harness h;
  RawWsClient c(h, 302);
  ASSERT_TRUE(c.ok);
  c.send(client_frame(kFin | 0x9, "hi"));
  ASSERT_TRUE(
      h.run_until([&] { return !parse_frames(c.after_head()).empty() || c.collector.closed; }));
  std::vector<ServerFrame> frames = parse_frames(c.after_head());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode(), 0xA);
  EXPECT_EQ(frames[0].payload, "hi");
  c.send(client_frame(kFin | 0x8, std::string("\x03\xe8", 2)));
  ASSERT_TRUE(h.run_until([&] { return c.collector.ended || c.collector.closed; }));
  for (const ServerFrame& f : parse_frames(c.after_head())) EXPECT_NE(f.opcode(), 0x8);
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  EXPECT_TRUE(h.server->finished_consoles()[0].error.ok());
}

TEST(FrameRules, WhenTheVmEndsTheConnectionClosesWithoutCloseFrame) {
  Harness h;
  RawWsClient c(h, 100);
  ASSERT_TRUE(c.ok);
  c.send(client_frame(kFin | 2, "XXX 000.000\n"));  // not a version: the fake VM hangs up
  ASSERT_TRUE(h.run_until([&] { return c.collector.ended || c.collector.closed; }));
  std::vector<ServerFrame> frames = parse_frames(c.after_head());
  ASSERT_EQ(frames.size(), 1u);  // the greeting, and no Close frame
  EXPECT_EQ(frames[0].payload, "RFB 003.008\n");
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  EXPECT_EQ(h.server->finished_consoles()[0].relay.ended_by, RelayResult::End::vm);
}

// Writes `total` bytes to the echo console in rounds of 128 KiB (16 KiB frames) while the client
// reads nothing, letting the loop run dry after each round.
void flood_echo_without_reading(Harness& h, RawWsClient& c, size_t total) {
  c.transport->read_disable(true);
  for (size_t sent = 0; sent < total && !c.collector.closed; sent += 128 * 1024) {
    std::string frames;
    for (size_t i = 0; i < 8; ++i) frames += client_frame(kFin | 2, std::string(16 * 1024, 'f'));
    c.send(frames);
    h.run_until([] { return false; });  // until the loop has nothing left to do
  }
}

TEST(BufferRules, MoreThan640KiBForTheVmDropsTheConnection) {
  Harness h;
  RawWsClient c(h, 302);
  ASSERT_TRUE(c.ok);
  flood_echo_without_reading(h, c, 2 * 1024 * 1024);
  ASSERT_EQ(h.server->finished_consoles().size(), 1u);
  EXPECT_EQ(h.server->finished_consoles()[0].relay.ended_by, RelayResult::End::vm_backlog);
  EXPECT_EQ(h.server->finished_consoles()[0].error.code(), Errc::too_large);
}

TEST(BufferRules, HalfAMegabyteWaitingIsFine) {
  Harness h;
  RawWsClient c(h, 302);
  ASSERT_TRUE(c.ok);
  flood_echo_without_reading(h, c, 512 * 1024);
  EXPECT_EQ(h.server->console_sessions(), 1u);
  c.transport->read_disable(false);
  ASSERT_TRUE(h.run_until(
      [&] { return frame_payloads(c.after_head()).size() >= 512 * 1024 || c.collector.closed; }));
  EXPECT_EQ(frame_payloads(c.after_head()).size(), 512u * 1024);
}

// --- faults -----------------------------------------------------------------------------------

MockOptions with_fault(std::string_view spec) {
  MockOptions o;
  EXPECT_TRUE(o.add_fault(spec).ok()) << spec;
  return o;
}

TEST(Faults, DropWsAfterRelaysExactlyThatManyBytes) {
  Harness h(with_fault("drop_ws_after=100000"));
  RawWsClient c(h, 300);  // the source
  ASSERT_TRUE(c.ok);
  ASSERT_TRUE(h.run_until([&] { return c.collector.ended || c.collector.closed; }));
  std::string payload = frame_payloads(c.after_head());
  EXPECT_EQ(payload.size(), 100000u);
  for (const ServerFrame& f : parse_frames(c.after_head())) EXPECT_NE(f.opcode(), 0x8);
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  EXPECT_EQ(h.server->finished_consoles()[0].relay.ended_by, RelayResult::End::drop_after);
}

TEST(Faults, StallWsRelaysNothingButAnswersPings) {
  Harness h(with_fault("stall_ws"));
  RawWsClient c(h, 100);
  ASSERT_TRUE(c.ok);
  c.send(client_frame(kFin | 2, "RFB 003.008\n"));
  h.run_until([] { return false; });
  EXPECT_TRUE(c.after_head().empty());  // no greeting, no echo, nothing
  c.send(client_frame(kFin | 0x9, "still there?"));
  ASSERT_TRUE(h.run_until([&] { return !c.after_head().empty() || c.collector.closed; }));
  std::vector<ServerFrame> frames = parse_frames(c.after_head());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode(), 0xA);
  EXPECT_EQ(h.server->console_sessions(), 1u);
}

class RawAfterUpgrade : public ::testing::TestWithParam<RawFrameKind> {};

TEST_P(RawAfterUpgrade, WritesTheHandMadeBytes) {
  const RawFrameKind kind = GetParam();
  Harness h(with_fault("raw_after_upgrade=" + std::string(raw_frame_kind_name(kind))));
  RawWsClient c(h, 100);
  ASSERT_TRUE(c.ok);
  const std::string one = raw_frame_bytes(kind).to_string();
  const size_t want =
      kind == RawFrameKind::ping_flood ? one.size() * RawFrameSession::kPingFloodCount : one.size();
  ASSERT_TRUE(h.run_until([&] { return c.after_head().size() >= want || c.collector.closed; }));
  ASSERT_EQ(c.after_head().size(), want);
  EXPECT_EQ(c.after_head().substr(0, one.size()), one);
  if (kind == RawFrameKind::ping_flood) {
    std::vector<ServerFrame> frames = parse_frames(c.after_head());
    EXPECT_EQ(frames.size(), RawFrameSession::kPingFloodCount);
    EXPECT_EQ(frames.back().opcode(), 0x9);
  }
  // Nothing is relayed: the client's bytes go nowhere, and the session ends when it leaves.
  c.send(client_frame(kFin | 2, "RFB 003.008\n"));
  c.transport->close(CloseMode::Flush);
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  EXPECT_EQ(h.server->finished_consoles()[0].mode, "raw:" + std::string(raw_frame_kind_name(kind)));
}

INSTANTIATE_TEST_SUITE_P(Kinds, RawAfterUpgrade,
                         ::testing::Values(RawFrameKind::masked_frame, RawFrameKind::rsv_bits,
                                           RawFrameKind::huge_length, RawFrameKind::reserved_opcode,
                                           RawFrameKind::ping_flood),
                         [](const auto& info) {
                           return std::string(raw_frame_kind_name(info.param));
                         });

TEST(RawFrames, AreWhatTheyClaim) {
  std::vector<ServerFrame> masked =
      parse_frames(raw_frame_bytes(RawFrameKind::masked_frame).to_string());
  ASSERT_EQ(masked.size(), 1u);
  EXPECT_TRUE(masked[0].masked);
  EXPECT_EQ(masked[0].payload, "RFB 003.008\n");
  std::string rsv = raw_frame_bytes(RawFrameKind::rsv_bits).to_string();
  EXPECT_EQ(static_cast<uint8_t>(rsv[0]) & 0x70, 0x70);
  std::string huge = raw_frame_bytes(RawFrameKind::huge_length).to_string();
  EXPECT_EQ(huge.substr(1, 9), std::string("\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 9));
  EXPECT_EQ(
      static_cast<uint8_t>(raw_frame_bytes(RawFrameKind::reserved_opcode).to_string()[0]) & 0x0F,
      3);
}

TEST(Faults, NeverCloseIgnoresTheClientsClose) {
  Harness h(with_fault("raw_after_upgrade=never_close"));
  RawWsClient c(h, 100);
  ASSERT_TRUE(c.ok);
  ASSERT_TRUE(
      h.run_until([&] { return !parse_frames(c.after_head()).empty() || c.collector.closed; }));
  EXPECT_EQ(parse_frames(c.after_head())[0].payload, "RFB 003.008\n");  // relayed as usual
  c.send(client_frame(kFin | 0x8, std::string("\x03\xe8", 2)) + client_frame(kFin | 0x9, "p"));
  h.run_until([] { return false; });
  EXPECT_FALSE(c.collector.ended || c.collector.closed);  // no reply, no close
  EXPECT_EQ(parse_frames(c.after_head()).size(), 1u);     // not even the pong
  EXPECT_EQ(h.server->console_sessions(), 1u);
  c.transport->close(CloseMode::Flush);  // only the client giving up ends it
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  EXPECT_EQ(h.server->finished_consoles()[0].mode, "never_close");
}

TEST(Faults, RejectTicketRefusesTheUpgrade) {
  Harness h(with_fault("reject_ticket"));
  std::optional<ConsoleTicket> console = h.vncproxy(100);
  ASSERT_TRUE(console);
  HttpReply r = upgrade_reply(h, 100, *console);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(h.server->console_sessions(), 0u);
}

TEST(Logs, NeverHoldSecrets) {
  Harness h;
  std::optional<ConsoleTicket> console = h.vncproxy(100);
  ASSERT_TRUE(console);
  RfbTestClient client(ws_client(h, 100, *console), RfbClientOptions{.password = console->password},
                       [](Result<RfbSnapshot>) {});
  client.start();
  h.run_until([&] { return client.ready(); });
  client.close();
  ASSERT_TRUE(h.run_until([&] { return h.server->console_sessions() == 0; }));
  h.call("POST", "/api2/json/access/ticket", {}, "username=root@pam&password=mock-root-password");
  ASSERT_FALSE(h.logs.empty());
  for (const std::string& line : h.logs) {
    EXPECT_EQ(line.find(console->ticket.substr(0, 20)), std::string::npos) << line;
    EXPECT_EQ(line.find(console->password), std::string::npos) << line;
    EXPECT_EQ(line.find("5f0c6e2a"), std::string::npos) << line;  // the token secret
    EXPECT_EQ(line.find("mock-root-password"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace pvb::mock::test
