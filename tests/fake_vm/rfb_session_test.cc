// RfbServer and RfbTestClient against each other, and against scripted raw peers, over MemPipe.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/rfb/vnc_auth.h"
#include "tests/fake_vm/rfb_client.h"
#include "tests/fake_vm/rfb_server.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

RfbServerOptions server_options(std::string password, std::string name = "guest-101") {
  RfbServerOptions o;
  o.password = [password] { return std::optional<std::string>(password); };
  o.desktop_name = std::move(name);
  return o;
}

RfbClientOptions client_options(std::string password) {
  RfbClientOptions o;
  o.password = std::move(password);
  return o;
}

// The screen as RfbSnapshot holds it, built from the framebuffer pixel by pixel.
std::vector<uint8_t> expected_pixels(const Framebuffer& fb) {
  std::vector<uint8_t> out;
  for (int y = 0; y < fb.height(); ++y) {
    for (int x = 0; x < fb.width(); ++x) {
      uint32_t p = fb.at(x, y);
      out.push_back(static_cast<uint8_t>(p));
      out.push_back(static_cast<uint8_t>(p >> 8));
      out.push_back(static_cast<uint8_t>(p >> 16));
      out.push_back(0);
    }
  }
  return out;
}

size_t distinct_pixels(const std::vector<uint8_t>& bgrx) {
  std::set<uint32_t> colours;
  for (size_t i = 0; i + 4 <= bgrx.size(); i += 4) {
    colours.insert(uint32_t{bgrx[i]} | uint32_t{bgrx[i + 1]} << 8 | uint32_t{bgrx[i + 2]} << 16);
  }
  return colours.size();
}

// A server and a client joined by a MemPipe.
struct Session {
  Loop loop;
  SeededRandom random{20240611};
  std::unique_ptr<RfbServer> server;
  std::unique_ptr<RfbTestClient> client;
  std::optional<Result<RfbSnapshot>> result;
  std::optional<Error> server_closed;
  std::optional<Error> client_closed;
  int authenticated = 0;

  void start(RfbServerOptions so, RfbClientOptions co, MemPipeOptions po = {}) {
    auto pipe = make_mem_pipe(loop, po);
    server = std::make_unique<RfbServer>(std::move(pipe.first), std::move(so), random);
    server->set_on_authenticated([this] { ++authenticated; });
    server->set_on_closed([this](const Error& e) { server_closed = e; });
    client =
        std::make_unique<RfbTestClient>(std::move(pipe.second), std::move(co),
                                        [this](Result<RfbSnapshot> r) { result = std::move(r); });
    client->set_on_closed([this](const Error& e) { client_closed = e; });
    server->start();
    client->start();
  }
  void run_to_result() {
    ASSERT_TRUE(loop.run_until([&] { return result.has_value(); }));
  }
  void run_to_server_closed() {
    ASSERT_TRUE(loop.run_until([&] { return server_closed.has_value(); }));
  }
};

void expect_snapshot_matches(Session& s) {
  ASSERT_TRUE(s.result && s.result->ok()) << s.result->error().message();
  const RfbSnapshot& snap = s.result->value();
  const Framebuffer& fb = s.server->framebuffer();
  EXPECT_EQ(snap.width, fb.width());
  EXPECT_EQ(snap.height, fb.height());
  EXPECT_EQ(snap.pixels, expected_pixels(fb));
  EXPECT_GE(distinct_pixels(snap.pixels), 8u);  // bars and text, never blank
}

TEST(RfbSession, Handshake38WithPasswordGivesTheServersScreen) {
  Session s;
  s.start(server_options("s3cret!x", "web-frontend"), client_options("s3cret!x"));
  s.run_to_result();
  expect_snapshot_matches(s);
  EXPECT_EQ(s.result->value().name, "web-frontend");
  EXPECT_EQ(s.result->value().width, 640);
  EXPECT_EQ(s.result->value().height, 480);
  EXPECT_EQ(s.client->negotiated_version(), RfbVersion::v3_8);
  EXPECT_EQ(s.server->negotiated_version(), RfbVersion::v3_8);
  EXPECT_EQ(s.client->security_type(), rfb::kSecurityVncAuth);
  EXPECT_EQ(s.authenticated, 1);
  EXPECT_TRUE(s.server->shared());
  EXPECT_EQ(s.server->encodings(), std::vector<int32_t>{rfb::kEncodingRaw});
  EXPECT_EQ(s.server->pixel_format(), PixelFormat::rgb888());
  EXPECT_EQ(s.server->state(), RfbServer::State::running);
  EXPECT_TRUE(s.client->ready());
}

TEST(RfbSession, ServerOffering33IsAnsweredWith33) {
  Session s;
  RfbServerOptions so = server_options("pw33");
  so.version = RfbVersion::v3_3;
  s.start(so, client_options("pw33"));
  s.run_to_result();
  expect_snapshot_matches(s);
  EXPECT_EQ(s.client->negotiated_version(), RfbVersion::v3_3);
  EXPECT_EQ(s.server->negotiated_version(), RfbVersion::v3_3);
}

TEST(RfbSession, ClientsSpeaking33Or37AreServedBy38Server) {
  for (RfbVersion v : {RfbVersion::v3_3, RfbVersion::v3_7}) {
    Session s;
    RfbClientOptions co = client_options("older");
    co.max_version = v;
    s.start(server_options("older"), co);
    s.run_to_result();
    expect_snapshot_matches(s);
    EXPECT_EQ(s.server->negotiated_version(), v);
  }
}

TEST(RfbSession, WrongPasswordFailsWithTheServersReason) {
  Session s;
  s.start(server_options("right-pw"), client_options("wrong-pw"));
  s.run_to_result();
  ASSERT_FALSE(s.result->ok());
  EXPECT_EQ(s.result->error().code(), Errc::auth);
  EXPECT_NE(s.result->error().detail().find("Authentication failed"), std::string::npos)
      << s.result->error().detail();
  s.run_to_server_closed();
  EXPECT_EQ(s.server_closed->code(), Errc::auth);
  EXPECT_NE(s.server_closed->detail().find("wrong"), std::string::npos);
  EXPECT_EQ(s.authenticated, 0);
  ASSERT_TRUE(s.loop.run_until([&] { return s.client_closed.has_value(); }));
}

TEST(RfbSession, WrongPasswordIn33FailsWithoutReason) {
  Session s;
  RfbServerOptions so = server_options("right-pw");
  so.version = RfbVersion::v3_3;
  s.start(so, client_options("wrong-pw"));
  s.run_to_result();
  ASSERT_FALSE(s.result->ok());
  EXPECT_EQ(s.result->error().code(), Errc::auth);
  s.run_to_server_closed();
  EXPECT_EQ(s.server_closed->code(), Errc::auth);
}

TEST(RfbSession, ExpiredPasswordFails) {
  Session s;
  RfbServerOptions so = server_options("unused");
  int asked = 0;
  so.password = [&asked]() -> std::optional<std::string> {
    ++asked;
    return std::nullopt;
  };
  s.start(so, client_options("anything"));
  s.run_to_result();
  ASSERT_FALSE(s.result->ok());
  EXPECT_EQ(s.result->error().code(), Errc::auth);
  s.run_to_server_closed();
  EXPECT_EQ(s.server_closed->code(), Errc::auth);
  EXPECT_NE(s.server_closed->detail().find("expired"), std::string::npos);
  EXPECT_EQ(asked, 1);
}

TEST(RfbSession, PasswordIsReadWhenTheResponseArrives) {
  // The mock sets a console's password after the connection opened: the value at response time
  // is the one that counts, like QEMU's set_password.
  Session s;
  std::optional<std::string> current;
  RfbServerOptions so = server_options("unused");
  so.password = [&current] { return current; };
  s.start(so, client_options("late-pw"));
  current = "late-pw";
  s.run_to_result();
  expect_snapshot_matches(s);
}

TEST(RfbSession, OnlyTheFirstEightPasswordBytesMatter) {
  {
    Session s;
    s.start(server_options("12345678"), client_options("12345678-and-the-rest"));
    s.run_to_result();
    expect_snapshot_matches(s);
  }
  {
    Session s;
    s.start(server_options("abcdefgh-server-tail"), client_options("abcdefgh"));
    s.run_to_result();
    expect_snapshot_matches(s);
  }
  {
    Session s;
    s.start(server_options("abcdefgh"), client_options("abcdefg"));
    s.run_to_result();
    ASSERT_FALSE(s.result->ok());
    EXPECT_EQ(s.result->error().code(), Errc::auth);
  }
}

TEST(RfbSession, SecurityNoneInEveryVersion) {
  for (RfbVersion v : {RfbVersion::v3_3, RfbVersion::v3_7, RfbVersion::v3_8}) {
    Session s;
    RfbServerOptions so = server_options("");
    so.vnc_auth = false;
    so.version = v;
    s.start(so, client_options(""));
    s.run_to_result();
    expect_snapshot_matches(s);
    EXPECT_EQ(s.client->security_type(), rfb::kSecurityNone);
    EXPECT_EQ(s.authenticated, 1);
  }
}

TEST(RfbSession, KeyAndPointerEventsAreCounted) {
  Session s;
  s.start(server_options("keys"), client_options("keys"));
  s.run_to_result();
  ASSERT_TRUE(s.result->ok());
  EXPECT_TRUE(s.client->send_key(0xFF0D, true));  // Return
  EXPECT_TRUE(s.client->send_key(0xFF0D, false));
  EXPECT_TRUE(s.client->send_key('a', true));
  EXPECT_TRUE(s.client->send_pointer(10, 20, 0));
  EXPECT_TRUE(s.client->send_pointer(300, 200, 1));
  const RfbInputCounters& c = s.server->counters();
  ASSERT_TRUE(s.loop.run_until([&] { return c.key_events == 3 && c.pointer_events == 2; }));
  EXPECT_EQ(c.last_key, uint32_t{'a'});
  EXPECT_TRUE(c.last_key_down);
  EXPECT_EQ(c.last_pointer_x, 300);
  EXPECT_EQ(c.last_pointer_y, 200);
  EXPECT_EQ(c.last_buttons, 1);
}

TEST(RfbSession, InputIsRefusedBeforeTheFirstUpdate) {
  Session s;
  s.start(server_options("early"), client_options("early"));
  EXPECT_FALSE(s.client->send_key('x', true));
  EXPECT_FALSE(s.client->send_pointer(1, 1, 0));
  EXPECT_FALSE(s.client->request_update(false));
  s.run_to_result();
  EXPECT_EQ(s.server->counters().key_events, 0u);
}

TEST(RfbSession, FurtherUpdatesOnRequest) {
  Session s;
  s.start(server_options("again"), client_options("again"));
  s.run_to_result();
  int updates = 0;
  s.client->set_on_update([&] { ++updates; });
  EXPECT_TRUE(s.client->request_update(false));
  EXPECT_TRUE(s.client->request_update(true));
  ASSERT_TRUE(s.loop.run_until([&] { return updates == 2; }));
  EXPECT_EQ(s.client->updates_received(), 3u);
  EXPECT_EQ(s.server->counters().update_requests, 3u);
  EXPECT_EQ(s.client->screen().pixels, expected_pixels(s.server->framebuffer()));
}

TEST(RfbSession, DelayedIncrementalRequestsAreMerged) {
  Session s;
  RfbServerOptions so = server_options("poll");
  so.incremental_delay_ms = 5;
  s.start(so, client_options("poll"));
  s.run_to_result();
  int updates = 0;
  s.client->set_on_update([&] { ++updates; });
  // Three polls written in one go reach the server together and are answered once.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(s.client->request_update(true));
  ASSERT_TRUE(s.loop.run_until([&] { return updates == 1; }));
  EXPECT_EQ(s.server->counters().update_requests, 4u);
  EXPECT_EQ(s.server->counters().updates_sent, 2u);
  // A non-incremental request is never delayed behind them.
  EXPECT_TRUE(s.client->request_update(false));
  ASSERT_TRUE(s.loop.run_until([&] { return updates == 2; }));
}

TEST(RfbSession, OneByteDeliveries) {
  for (RfbVersion v : {RfbVersion::v3_8, RfbVersion::v3_3}) {
    Session s;
    RfbServerOptions so = server_options("bytewise", "tiny");
    so.version = v;
    so.width = 40;
    so.height = 24;
    s.start(so, client_options("bytewise"), MemPipeOptions{1});
    s.run_to_result();
    expect_snapshot_matches(s);
    EXPECT_EQ(s.result->value().name, "tiny");
    EXPECT_TRUE(s.client->send_key(0x20, true));
    EXPECT_TRUE(s.client->send_pointer(39, 23, 4));
    ASSERT_TRUE(s.loop.run_until([&] { return s.server->counters().pointer_events == 1; }));
    EXPECT_EQ(s.server->counters().key_events, 1u);
    EXPECT_EQ(s.server->counters().last_pointer_y, 23);
  }
}

TEST(RfbSession, ClientEndingTheSessionIsANormalClose) {
  Session s;
  s.start(server_options("bye"), client_options("bye"));
  s.run_to_result();
  s.client->close();
  s.run_to_server_closed();
  EXPECT_TRUE(s.server_closed->ok()) << s.server_closed->message();
  ASSERT_TRUE(s.loop.run_until([&] { return s.client_closed.has_value(); }));
  EXPECT_EQ(s.server->state(), RfbServer::State::closed);
}

TEST(RfbSession, ServerClosingBeforeTheUpdateFailsTheClient) {
  Session s;
  s.start(server_options("gone"), client_options("gone"));
  s.server->set_on_authenticated([&] { s.server->close(); });
  s.run_to_result();
  ASSERT_FALSE(s.result->ok());
  EXPECT_EQ(s.result->error().code(), Errc::connection_lost);
  s.run_to_server_closed();
  EXPECT_TRUE(s.server_closed->ok());
}

TEST(RfbSession, AttachedTransportsAreNotOwned) {
  Loop loop;
  SeededRandom random(1);
  auto [a, b] = make_mem_pipe(loop);
  std::optional<Result<RfbSnapshot>> result;
  {
    RfbServer server(*a, server_options("attach"), random);
    RfbTestClient client(*b, client_options("attach"),
                         [&](Result<RfbSnapshot> r) { result = std::move(r); });
    server.start();
    client.start();
    a->start();
    b->start();
    ASSERT_TRUE(loop.run_until([&] { return result.has_value(); }));
    ASSERT_TRUE(result->ok());
  }
  // Both transports outlive their users and no longer point at them.
  EXPECT_EQ(a->sink(), nullptr);
  EXPECT_EQ(b->sink(), nullptr);
}

// --- the server against scripted raw clients --------------------------------------------------

// A raw peer on one MemPipe end: writes scripted bytes, records what arrives.
struct RawPeer : TransportSink {
  std::unique_ptr<MemPipeEnd> end;
  std::string received;
  bool ended = false;
  std::optional<Error> closed;
  void on_data(ByteChain& c, bool end_stream) override {
    received += c.to_string();
    c.clear();
    ended |= end_stream;
  }
  void on_closed(const Error& e) override { closed = e; }
  void write(std::string_view bytes) {
    ByteChain c(bytes);
    end->write(c);
  }
};

struct RawClientSession {
  Loop loop;
  SeededRandom random{99};
  RawPeer peer;
  std::unique_ptr<RfbServer> server;
  std::optional<Error> server_closed;

  explicit RawClientSession(RfbServerOptions so, MemPipeOptions po = {}) {
    auto pipe = make_mem_pipe(loop, po);
    server = std::make_unique<RfbServer>(std::move(pipe.first), std::move(so), random);
    server->set_on_closed([this](const Error& e) { server_closed = e; });
    peer.end = std::move(pipe.second);
    peer.end->set_sink(&peer);
    server->start();
    peer.end->start();
  }
  void expect_closed_with(Errc code) {
    ASSERT_TRUE(loop.run_until([&] { return server_closed.has_value() && peer.ended; }));
    EXPECT_EQ(server_closed->code(), code) << server_closed->message();
  }
};

RfbServerOptions no_auth_options(uint16_t width = 16, uint16_t height = 8) {
  RfbServerOptions o;
  o.vnc_auth = false;
  o.width = width;
  o.height = height;
  o.desktop_name = "raw";
  return o;
}

// Version, security None, ClientInit: everything a 3.8 client sends before its first message.
const std::string kNoAuthPreamble = std::string("RFB 003.008\n") + '\x01' + '\x01';

// What the server sends up to and including ServerInit for no_auth_options().
size_t no_auth_server_preamble_size() {
  return 12 + 2 + 4 + 24 + 3;
}

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s += static_cast<char>(b);
  return s;
}

TEST(RfbServerMalformed, BadVersionStringCloses) {
  RawClientSession s(server_options("pw"));
  s.peer.write("GET / HTTP/1.1\r\n\r\n");
  s.expect_closed_with(Errc::protocol);
  EXPECT_EQ(s.peer.received, "RFB 003.008\n");
}

TEST(RfbServerMalformed, UnknownMessageTypeCloses) {
  RawClientSession s(no_auth_options());
  s.peer.write(kNoAuthPreamble + bytes({200, 1, 2, 3}));
  s.expect_closed_with(Errc::protocol);
  EXPECT_NE(s.server_closed->detail().find("200"), std::string::npos);
  EXPECT_EQ(s.peer.received.size(), no_auth_server_preamble_size());
}

TEST(RfbServerMalformed, HugeClientCutTextCloses) {
  RawClientSession s(no_auth_options());
  s.peer.write(kNoAuthPreamble + bytes({6, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}));
  s.expect_closed_with(Errc::too_large);
}

TEST(RfbServerMalformed, UnsupportedPixelFormatsClose) {
  for (int bpp : {24, 0}) {
    RawClientSession s(no_auth_options());
    uint8_t pf[PixelFormat::kWireLength];
    PixelFormat f = PixelFormat::rgb888();
    f.bits_per_pixel = static_cast<uint8_t>(bpp);
    f.write(pf);
    s.peer.write(kNoAuthPreamble + bytes({0, 0, 0, 0}) +
                 std::string(reinterpret_cast<char*>(pf), sizeof pf));
    s.expect_closed_with(Errc::protocol);
  }
  RawClientSession s(no_auth_options());
  uint8_t pf[PixelFormat::kWireLength];
  PixelFormat f = PixelFormat::rgb888();
  f.true_colour = false;
  f.write(pf);
  s.peer.write(kNoAuthPreamble + bytes({0, 0, 0, 0}) +
               std::string(reinterpret_cast<char*>(pf), sizeof pf));
  s.expect_closed_with(Errc::protocol);
}

TEST(RfbServerMalformed, SecurityTypeNotOfferedIsRefusedWithReason) {
  RawClientSession s(server_options("pw"));
  s.peer.write(std::string("RFB 003.008\n") + '\x01');  // None, but only VNC auth is offered
  s.expect_closed_with(Errc::protocol);
  // Version, the list [1, 2], then SecurityResult failed with a reason string.
  const std::string& r = s.peer.received;
  ASSERT_GT(r.size(), 12u + 2 + 8);
  EXPECT_EQ(r.substr(12, 2), bytes({1, 2}));
  EXPECT_EQ(r.substr(14, 4), bytes({0, 0, 0, 1}));
  EXPECT_NE(r.find("Unsupported security type"), std::string::npos);
}

TEST(RfbServerMalformed, ClientLeavingDuringHandshakeIsConnectionLost) {
  RawClientSession s(server_options("pw"));
  s.peer.write("RFB 003.0");
  s.peer.end->close(CloseMode::Flush);
  ASSERT_TRUE(s.loop.run_until([&] { return s.server_closed.has_value(); }));
  EXPECT_EQ(s.server_closed->code(), Errc::connection_lost);
}

TEST(RfbServerMalformed, GarbageInOneByteDeliveriesNeverCrashes) {
  // Deterministic junk after a valid preamble: whatever it parses as, the server either keeps
  // going or closes cleanly, and never reads past what it was given.
  SeededRandom junk(5);
  for (int round = 0; round < 20; ++round) {
    RawClientSession s(no_auth_options(), MemPipeOptions{1});
    std::string noise(64, '\0');
    junk.fill(noise.data(), noise.size());
    s.peer.write(kNoAuthPreamble + noise);
    s.peer.end->close(CloseMode::Flush);
    ASSERT_TRUE(s.loop.run_until([&] { return s.server_closed.has_value(); }));
  }
}

TEST(RfbServerMessages, CutTextIsSkippedAcrossDeliveriesThenInputContinues) {
  RawClientSession s(no_auth_options(), MemPipeOptions{3});
  std::string text(1000, 'c');
  s.peer.write(kNoAuthPreamble + bytes({6, 0, 0, 0, 0, 0, 0x03, 0xE8}) + text +
               bytes({4, 1, 0, 0, 0, 0, 0xFF, 0x1B}));
  ASSERT_TRUE(s.loop.run_until([&] { return s.server->counters().key_events == 1; }));
  EXPECT_EQ(s.server->counters().cut_text_bytes, 1000u);
  EXPECT_EQ(s.server->counters().last_key, 0xFF1Bu);
  EXPECT_FALSE(s.server_closed.has_value());
}

TEST(RfbServerMessages, SixteenBitUpdateClippedToTheScreen) {
  RawClientSession s(no_auth_options(16, 8));
  uint8_t pf[PixelFormat::kWireLength];
  PixelFormat::rgb565().write(pf);
  s.peer.write(kNoAuthPreamble + bytes({0, 0, 0, 0}) +
               std::string(reinterpret_cast<char*>(pf), sizeof pf) +
               bytes({3, 0, 0, 4, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF}));  // x=4 y=2, huge w/h
  const size_t update = 4 + 12 + 12 * 6 * 2;                        // clipped to 12x6
  ASSERT_TRUE(s.loop.run_until(
      [&] { return s.peer.received.size() >= no_auth_server_preamble_size() + update; }));
  std::string u = s.peer.received.substr(no_auth_server_preamble_size());
  EXPECT_EQ(u.substr(0, 4), bytes({0, 0, 0, 1}));
  EXPECT_EQ(u.substr(4, 12), bytes({0, 4, 0, 2, 0, 12, 0, 6, 0, 0, 0, 0}));
  ByteChain expected;
  s.server->framebuffer().encode_rect(PixelFormat::rgb565(), 4, 2, 12, 6, expected);
  EXPECT_EQ(u.substr(16), expected.to_string());
  EXPECT_EQ(s.server->pixel_format(), PixelFormat::rgb565());
}

TEST(RfbServerMessages, VncAuthByAScriptedClient) {
  // The server's challenge comes from the injected Random: a twin generator predicts it, so a
  // script can answer without reading it first.
  RfbServerOptions so = server_options("scripted");
  so.width = 4;
  so.height = 2;
  RawClientSession s(so);
  SeededRandom twin(99);
  uint8_t challenge[16];
  twin.fill(challenge, sizeof challenge);
  std::array<uint8_t, 16> response =
      vnc_auth_response("scripted", std::span<const uint8_t, 16>(challenge));
  s.peer.write(std::string("RFB 003.008\n") + '\x02' +
               std::string(reinterpret_cast<char*>(response.data()), response.size()) + '\x00');
  const size_t expect = 12 + 2 + 16 + 4 + 24 + so.desktop_name.size();
  ASSERT_TRUE(s.loop.run_until([&] { return s.peer.received.size() >= expect; }));
  EXPECT_EQ(s.peer.received.substr(14, 16), std::string(reinterpret_cast<char*>(challenge), 16));
  EXPECT_EQ(s.peer.received.substr(30, 4), bytes({0, 0, 0, 0}));
  EXPECT_TRUE(s.server->authenticated());
  EXPECT_FALSE(s.server->shared());
}

TEST(RfbServerMessages, OutputBacklogStopsReadingRequests) {
  // 20 full-screen requests at once from a client that does not read: the server answers one,
  // then waits for its output to drain instead of queueing 20 screens.
  RawClientSession s(no_auth_options(320, 240));
  const size_t frame = 4 + 12 + 320 * 240 * 4;  // larger than the default high mark
  std::string requests;
  for (int i = 0; i < 20; ++i) requests += bytes({3, 0, 0, 0, 0, 0, 0x01, 0x40, 0, 0xF0});
  s.peer.end->read_disable(true);
  s.peer.write(kNoAuthPreamble + requests);
  ASSERT_TRUE(s.loop.run_until([&] { return s.server->counters().update_requests >= 1; }));
  s.loop.run_until([] { return false; });  // until nothing is left to do
  EXPECT_EQ(s.server->counters().updates_sent, 1u);
  EXPECT_LE(s.server->transport().pending_write_bytes(), no_auth_server_preamble_size() + frame);

  s.peer.end->read_disable(false);
  const size_t total = no_auth_server_preamble_size() + 20 * frame;
  ASSERT_TRUE(s.loop.run_until([&] { return s.peer.received.size() >= total; }));
  EXPECT_EQ(s.peer.received.size(), total);
  EXPECT_EQ(s.server->counters().updates_sent, 20u);
}

// --- the client against scripted raw servers --------------------------------------------------

struct RawServerSession {
  Loop loop;
  RawPeer peer;
  std::unique_ptr<RfbTestClient> client;
  std::optional<Result<RfbSnapshot>> result;

  explicit RawServerSession(RfbClientOptions co = client_options("pw")) {
    auto pipe = make_mem_pipe(loop);
    client =
        std::make_unique<RfbTestClient>(std::move(pipe.first), std::move(co),
                                        [this](Result<RfbSnapshot> r) { result = std::move(r); });
    peer.end = std::move(pipe.second);
    peer.end->set_sink(&peer);
    client->start();
    peer.end->start();
  }
  Error run_to_error() {
    EXPECT_TRUE(loop.run_until([&] { return result.has_value(); }));
    EXPECT_FALSE(result->ok());
    return result->ok() ? Error() : result->error();
  }
};

TEST(RfbClientMalformed, NotAnRfbServer) {
  RawServerSession s;
  s.peer.write("SSH-2.0-OpenSSH_9.2\r\n");
  EXPECT_EQ(s.run_to_error().code(), Errc::protocol);
}

TEST(RfbClientMalformed, RefusalCarriesTheReason) {
  RawServerSession s;
  s.peer.write("RFB 003.008\n" + bytes({0, 0, 0, 0, 16}) + "Too many clients");
  Error e = s.run_to_error();
  EXPECT_EQ(e.code(), Errc::protocol);
  EXPECT_NE(e.detail().find("Too many clients"), std::string::npos);
}

TEST(RfbClientMalformed, QemuStyleReasonWithTrailingNul) {
  // QEMU counts the NUL of "Authentication failed" in the reason's length.
  RawServerSession s;
  std::string reason("Authentication failed", 22);
  s.peer.write("RFB 003.008\n" + bytes({1, 2}) + std::string(16, 'c') + bytes({0, 0, 0, 1}) +
               bytes({0, 0, 0, 22}) + reason);
  Error e = s.run_to_error();
  EXPECT_EQ(e.code(), Errc::auth);
  EXPECT_EQ(e.detail(), "RFB: authentication failed: Authentication failed");
}

TEST(RfbClientMalformed, OversizedScreenAndNameAreRefused) {
  {
    RawServerSession s;
    s.peer.write("RFB 003.008\n" + bytes({1, 1}) + bytes({0, 0, 0, 0}) +
                 bytes({0xFF, 0xFF, 0xFF, 0xFF}) + std::string(16, '\0') + bytes({0, 0, 0, 0}));
    EXPECT_EQ(s.run_to_error().code(), Errc::too_large);
  }
  {
    RawServerSession s;
    s.peer.write("RFB 003.008\n" + bytes({1, 1}) + bytes({0, 0, 0, 0}) + bytes({0, 1, 0, 1}) +
                 std::string(16, '\0') + bytes({0x7F, 0, 0, 0}));
    EXPECT_EQ(s.run_to_error().code(), Errc::too_large);
  }
}

TEST(RfbClientMalformed, RectangleOutsideTheScreenOrNotRaw) {
  const std::string init = "RFB 003.008\n" + bytes({1, 1}) + bytes({0, 0, 0, 0}) +
                           bytes({0, 2, 0, 2}) + std::string(16, '\0') + bytes({0, 0, 0, 0});
  {
    RawServerSession s;
    s.peer.write(init + bytes({0, 0, 0, 1}) + bytes({0, 1, 0, 1, 0, 2, 0, 2, 0, 0, 0, 0}));
    EXPECT_EQ(s.run_to_error().code(), Errc::protocol);
  }
  {
    RawServerSession s;
    s.peer.write(init + bytes({0, 0, 0, 1}) + bytes({0, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 5}));
    EXPECT_EQ(s.run_to_error().code(), Errc::protocol);
  }
}

TEST(RfbClientMessages, BellColourMapAndCutTextAreSkipped) {
  RawServerSession s;
  const std::string init = "RFB 003.008\n" + bytes({1, 1}) + bytes({0, 0, 0, 0}) +
                           bytes({0, 1, 0, 1}) + std::string(16, '\0') + bytes({0, 0, 0, 1}) + "n";
  s.peer.write(init + bytes({2}) + bytes({1, 0, 0, 0, 0, 1}) + std::string(6, 'm') +
               bytes({3, 0, 0, 0, 0, 0, 0, 3}) + "cut" + bytes({0, 0, 0, 1}) +
               bytes({0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}) + bytes({1, 2, 3, 0}));
  ASSERT_TRUE(s.loop.run_until([&] { return s.result.has_value(); }));
  ASSERT_TRUE(s.result->ok()) << s.result->error().message();
  EXPECT_EQ(s.result->value().pixels, (std::vector<uint8_t>{1, 2, 3, 0}));
  EXPECT_EQ(s.result->value().name, "n");
  EXPECT_EQ(s.client->bells(), 1u);
}

}  // namespace
}  // namespace pvb
