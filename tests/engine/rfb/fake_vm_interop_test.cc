// The RFB cores against the fake VM's independent RFB code over a MemPipe: our client role and
// server-stream delimiter against its RfbServer (as against QEMU), our server role and
// client-stream delimiter against its RfbTestClient (as against a viewer).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "engine/rfb/client_handshake.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/encodings.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_handshake.h"
#include "engine/rfb/server_stream.h"
#include "tests/engine/rfb/rfb_test_util.h"
#include "tests/fake_vm/fake_screen.h"
#include "tests/fake_vm/rfb_client.h"
#include "tests/fake_vm/rfb_server.h"
#include "transports/testing/mem_pipe.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;

// A viewer built from the cores: handshake, then SetPixelFormat (16 bpp unless told otherwise),
// SetEncodings (Raw unless told otherwise), one full update request; every unit the server sends
// is delimited and drained.
struct CoreViewer : TransportSink {
  explicit CoreViewer(ClientHandshakeConfig config) : handshake(std::move(config)) {}

  PixelFormat format = PixelFormat::rgb565();
  std::vector<int32_t> encodings = {kEncodingRaw};

  RfbClientHandshake handshake;
  std::unique_ptr<RfbServerStream> stream;
  std::unique_ptr<MemPipeEnd> end;
  ByteChain in;
  uint64_t pending = 0;  // a unit found whose bytes are still arriving
  uint64_t delimited_bytes = 0;
  std::vector<ServerUnit> units;
  std::optional<Error> failure;

  void on_data(ByteChain& data, bool) override {
    in.move_from(data);
    if (!stream && !finish_handshake()) return;
    for (;;) {
      if (pending > 0) {
        if (in.size() < pending) return;
        in.drain(pending);
        pending = 0;
      }
      auto r = stream->next(in);
      if (!r.ok()) {
        failure = r.error();
        return;
      }
      if (!r->found()) return;
      units.push_back(*r->unit);
      delimited_bytes += r->unit->length;
      pending = r->unit->length;
    }
  }
  void on_closed(const Error& e) override {
    if (!failure && e.failed()) failure = e;
  }

  bool finish_handshake() {
    ByteChain out;
    HandshakeStatus status = handshake.feed(in, out);
    if (!out.empty()) end->write(out);
    if (status == HandshakeStatus::failed) failure = handshake.error();
    if (status != HandshakeStatus::done) return false;
    const ServerInit& init = handshake.server_init();
    stream = std::make_unique<RfbServerStream>(init.pixel_format, init.width, init.height);
    ByteChain msgs;
    Bytes spf;
    spf.u8(kSetPixelFormat).fill(3, 0).pixel_format(format);
    msgs.append(spf.str());
    write_set_encodings(encodings, msgs);
    msgs.append(Bytes()
                    .u8(kFramebufferUpdateRequest)
                    .u8(0)
                    .u16(0)
                    .u16(0)
                    .u16(init.width)
                    .u16(init.height)
                    .str());
    end->write(msgs);
    stream->set_pixel_format(format);
    stream->set_client_encodings(encodings);
    return true;
  }

  void request_update(bool incremental) {
    ByteChain msg;
    msg.append(Bytes()
                   .u8(kFramebufferUpdateRequest)
                   .u8(incremental)
                   .u16(0)
                   .u16(0)
                   .u16(0xFFFF)
                   .u16(0xFFFF)
                   .str());
    end->write(msg);
  }
  // Units delimited since `from` up to the end of the next complete update.
  bool update_done_since(size_t from) const {
    for (size_t i = from; i < units.size(); ++i) {
      if (units[i].ends_update && i + 1 == units.size() && pending == 0) return true;
    }
    return false;
  }
};

struct ViewerSession {
  Loop loop;
  SeededRandom random{7};
  std::unique_ptr<RfbServer> server;
  CoreViewer viewer;

  ViewerSession(RfbServerOptions so, ClientHandshakeConfig co, size_t delivery,
                PixelFormat format = PixelFormat::rgb565(),
                std::vector<int32_t> encodings = {kEncodingRaw})
      : viewer(std::move(co)) {
    viewer.format = format;
    viewer.encodings = std::move(encodings);
    auto pipe = make_mem_pipe(loop, MemPipeOptions{delivery});
    server = std::make_unique<RfbServer>(std::move(pipe.first), std::move(so), random);
    viewer.end = std::move(pipe.second);
    viewer.end->set_sink(&viewer);
    server->start();
    viewer.end->start();
  }
};

RfbServerOptions fake_vm_options(RfbVersion version) {
  RfbServerOptions o;
  o.version = version;
  o.password = [] { return std::optional<std::string>("vm-pass"); };
  o.width = 40;
  o.height = 24;
  o.desktop_name = "fake";
  return o;
}

TEST(RfbCoresAgainstFakeVm, ClientRoleAndServerStreamEveryVersion) {
  for (RfbVersion v : {RfbVersion::v3_8, RfbVersion::v3_7, RfbVersion::v3_3}) {
    for (size_t delivery : {size_t{1}, SIZE_MAX}) {
      ViewerSession s(fake_vm_options(v), {"vm-pass", true}, delivery);
      ASSERT_TRUE(s.loop.run_until([&] {
        return s.viewer.failure.has_value() ||
               (!s.viewer.units.empty() && s.viewer.units.back().ends_update &&
                s.viewer.pending == 0);
      }));
      ASSERT_FALSE(s.viewer.failure) << s.viewer.failure->message();
      const ServerInit& init = s.viewer.handshake.server_init();
      EXPECT_EQ(init.name, "fake");
      EXPECT_EQ(init.width, 40);
      EXPECT_EQ(static_cast<int>(s.viewer.handshake.version()), static_cast<int>(v));
      // One update of Raw rectangles covering the screen in 16 bpp.
      ASSERT_GE(s.viewer.units.size(), 2u);
      EXPECT_EQ(s.viewer.units[0].kind, ServerUnitKind::update_header);
      uint64_t pixels = 0;
      for (size_t i = 1; i < s.viewer.units.size(); ++i) {
        const ServerUnit& u = s.viewer.units[i];
        ASSERT_EQ(u.kind, ServerUnitKind::rect);
        EXPECT_EQ(u.rect.encoding, kEncodingRaw);
        EXPECT_EQ(u.body_length, uint64_t{u.rect.w} * u.rect.h * 2);
        pixels += uint64_t{u.rect.w} * u.rect.h;
      }
      EXPECT_EQ(pixels, 40u * 24);
      EXPECT_TRUE(s.viewer.in.empty()) << "every byte was delimited";
    }
  }
}

// The fake VM's encodings (Tight with and without JPEG, ZRLE, Hextile, Zlib) through our
// delimiter over a real session, and a screen resize told by ExtendedDesktopSize, DesktopSize or
// (announced neither) not at all.
struct EncodingCase {
  const char* name;
  std::vector<int32_t> encodings;  // the size pseudo-encodings are added per run
  int32_t expected;
};

class FakeVmEncodings : public ::testing::TestWithParam<EncodingCase> {};

TEST_P(FakeVmEncodings, EveryUnitDelimitedThroughAResize) {
  const EncodingCase& c = GetParam();
  for (const PixelFormat& format : {PixelFormat::rgb888(), PixelFormat::rgb565()}) {
    for (int32_t size_pseudo : {kPseudoExtendedDesktopSize, kPseudoDesktopSize, 0}) {
      SCOPED_TRACE(std::string(c.name) + " " + std::to_string(format.bits_per_pixel) +
                   " bpp, size pseudo-encoding " + std::to_string(size_pseudo));
      RfbServerOptions so = fake_vm_options(RfbVersion::v3_8);
      auto screen = std::make_shared<FakeScreen>(320, 240, "enc");
      screen->freeze(2);
      so.screen = screen;
      std::vector<int32_t> encodings = c.encodings;
      if (size_pseudo != 0) encodings.push_back(size_pseudo);
      auto announced = [&](int32_t e) {
        return std::find(encodings.begin(), encodings.end(), e) != encodings.end();
      };
      // ExtendedDesktopSize when announced (as QEMU prefers), else DesktopSize, else none.
      const int32_t told_by = announced(kPseudoExtendedDesktopSize) ? kPseudoExtendedDesktopSize
                              : announced(kPseudoDesktopSize)       ? kPseudoDesktopSize
                                                                    : 0;
      ViewerSession s(so, {"vm-pass", true}, 1000, format, encodings);
      ASSERT_TRUE(s.loop.run_until(
          [&] { return s.viewer.failure.has_value() || s.viewer.update_done_since(0); }));
      ASSERT_FALSE(s.viewer.failure) << s.viewer.failure->message();
      EXPECT_EQ(s.server->encoding(), c.expected);

      // The screen changes size and moves on a tick; the next update tells the viewer (after a
      // WMVi update when announced, as QEMU does on a display mode switch).
      screen->resize(400, 300);
      screen->step();
      const size_t before = s.viewer.units.size();
      s.viewer.request_update(true);
      auto pixels_arrived = [&] {
        for (size_t i = before; i < s.viewer.units.size(); ++i) {
          if (s.viewer.units[i].kind == ServerUnitKind::rect &&
              s.viewer.units[i].rect.encoding == c.expected) {
            return s.viewer.update_done_since(i);
          }
        }
        return false;
      };
      ASSERT_TRUE(
          s.loop.run_until([&] { return s.viewer.failure.has_value() || pixels_arrived(); }));
      ASSERT_FALSE(s.viewer.failure) << s.viewer.failure->message();
      std::vector<int32_t> pseudo;  // the non-pixel rectangles, in order
      uint64_t pixels = 0;
      for (size_t i = before; i < s.viewer.units.size(); ++i) {
        const ServerUnit& u = s.viewer.units[i];
        if (u.kind != ServerUnitKind::rect) continue;
        if (u.rect.encoding == c.expected) {
          pixels += uint64_t{u.rect.w} * u.rect.h;
        } else {
          pseudo.push_back(u.rect.encoding);
        }
      }
      std::vector<int32_t> told;
      if (told_by != 0 && announced(kPseudoVmwareDisplayModeChange)) {
        told.push_back(kPseudoVmwareDisplayModeChange);
      }
      if (told_by != 0) told.push_back(told_by);
      EXPECT_EQ(pseudo, told);
      if (told_by != 0) {
        EXPECT_EQ(s.viewer.stream->width(), 400);
        EXPECT_EQ(s.viewer.stream->height(), 300);
        EXPECT_EQ(pixels, 400u * 300);
      } else {
        // A viewer that cannot follow keeps the size it knows; updates stay inside it.
        EXPECT_EQ(s.viewer.stream->width(), 320);
        EXPECT_EQ(pixels, 320u * 240);
      }
      if (announced(kPseudoVmwareDisplayModeChange) && told_by != 0) {
        // WMVi put the server's own format back: the delimiter follows it.
        EXPECT_EQ(s.viewer.stream->pixel_format(), PixelFormat::rgb888());
      } else {
        EXPECT_EQ(s.viewer.stream->pixel_format(), format);
      }
      EXPECT_EQ(s.server->counters().desktop_size_rects, told_by != 0 ? 1u : 0u);
      EXPECT_TRUE(s.viewer.in.empty()) << "every byte was delimited";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    FakeVm, FakeVmEncodings,
    ::testing::Values(
        EncodingCase{"tight", {kEncodingTight, kPseudoLastRect, kEncodingRaw}, kEncodingTight},
        EncodingCase{
            "tight_jpeg", {kEncodingTight, kPseudoQualityLevel0 + 6, kEncodingRaw}, kEncodingTight},
        EncodingCase{"zrle", {kEncodingZrle, kEncodingHextile}, kEncodingZrle},
        EncodingCase{"hextile", {kPseudoRichCursor, kEncodingHextile}, kEncodingHextile},
        EncodingCase{"zlib", {kEncodingZlib, kEncodingRaw}, kEncodingZlib},
        EncodingCase{"remote_viewer", testing::remote_viewer_encoding_list(), kEncodingTight}),
    [](const auto& info) { return std::string(info.param.name); });

// A SetDesktopSize (the viewer's window was resized) is answered with ExtendedDesktopSize
// "prohibited", and the screen keeps its size.
TEST(RfbCoresAgainstFakeVm, SetDesktopSizeIsRefused) {
  ViewerSession s(fake_vm_options(RfbVersion::v3_8), {"vm-pass", true}, SIZE_MAX,
                  PixelFormat::rgb888(), {kEncodingRaw, kPseudoExtendedDesktopSize});
  ASSERT_TRUE(s.loop.run_until([&] { return s.viewer.update_done_since(0); }));
  const size_t before = s.viewer.units.size();
  ByteChain msg;
  msg.append(Bytes().u8(kSetDesktopSize).u8(0).u16(800).u16(600).u8(1).u8(0).fill(16, 0).str());
  s.viewer.end->write(msg);
  ASSERT_TRUE(s.loop.run_until(
      [&] { return s.viewer.failure.has_value() || s.viewer.update_done_since(before); }));
  ASSERT_FALSE(s.viewer.failure) << s.viewer.failure->message();
  ASSERT_EQ(s.viewer.units.size(), before + 2);
  const ServerUnit& reply = s.viewer.units[before + 1];
  EXPECT_EQ(reply.rect.encoding, kPseudoExtendedDesktopSize);
  EXPECT_EQ(reply.rect.x, 1);  // reason: this client asked
  EXPECT_EQ(reply.rect.y, 1);  // status: prohibited
  EXPECT_EQ(reply.rect.w, 40);
  EXPECT_EQ(s.server->counters().set_desktop_size_requests, 1u);
}

TEST(RfbCoresAgainstFakeVm, WrongPasswordCarriesTheServersReason) {
  ViewerSession s(fake_vm_options(RfbVersion::v3_8), {"guess", true}, SIZE_MAX);
  ASSERT_TRUE(s.loop.run_until([&] { return s.viewer.failure.has_value(); }));
  EXPECT_EQ(s.viewer.failure->code(), Errc::auth) << s.viewer.failure->message();
  EXPECT_EQ(s.viewer.handshake.status(), HandshakeStatus::failed);
}

// A console server built from the cores: handshake, our own ServerInit, then a Raw update of a
// known pattern for every update request, delimiting the viewer's messages.
struct CoreServer : TransportSink {
  explicit CoreServer(ServerHandshakeConfig config) : handshake(std::move(config)) {}

  RfbServerHandshake handshake;
  std::unique_ptr<RfbClientStream> stream;
  std::unique_ptr<MemPipeEnd> end;
  ByteChain in;
  std::vector<ClientMessage> messages;
  std::optional<Error> failure;
  static constexpr uint16_t kWidth = 8, kHeight = 4;

  void on_data(ByteChain& data, bool) override {
    in.move_from(data);
    if (!stream) {
      ByteChain out;
      HandshakeStatus status = handshake.feed(in, out);
      if (status == HandshakeStatus::done) {
        out.append(Bytes()
                       .u16(kWidth)
                       .u16(kHeight)
                       .pixel_format(PixelFormat::rgb888())
                       .u32(4)
                       .raw("core")
                       .str());
        stream = std::make_unique<RfbClientStream>(PixelFormat::rgb888());
      }
      if (!out.empty()) end->write(out);
      if (status == HandshakeStatus::failed) failure = handshake.error();
      if (!stream) return;
    }
    for (;;) {
      auto r = stream->next(in);
      if (!r.ok()) {
        failure = r.error();
        return;
      }
      if (!r->found() || in.size() < r->unit->length) return;
      messages.push_back(*r->unit);
      in.drain(r->unit->length);
      if (r->unit->type == kFramebufferUpdateRequest) send_update();
    }
  }
  void on_closed(const Error& e) override {
    if (!failure && e.failed()) failure = e;
  }
  void send_update() {
    const size_t bpp = stream->pixel_format().bits_per_pixel / 8;
    Bytes b;
    b.u8(kFramebufferUpdate).u8(0).u16(1).rect(0, 0, kWidth, kHeight, kEncodingRaw);
    for (size_t i = 0; i < size_t{kWidth} * kHeight * bpp; ++i) b.u8(static_cast<uint8_t>(i));
    ByteChain out;
    out.append(b.str());
    end->write(out);
  }
};

struct ServerSession {
  Loop loop;
  CoreServer server;
  std::unique_ptr<RfbTestClient> client;
  std::optional<Result<RfbSnapshot>> result;

  ServerSession(ServerHandshakeConfig sc, RfbClientOptions co) : server(std::move(sc)) {
    auto pipe = make_mem_pipe(loop, MemPipeOptions{3});
    server.end = std::move(pipe.first);
    server.end->set_sink(&server);
    client =
        std::make_unique<RfbTestClient>(std::move(pipe.second), std::move(co),
                                        [this](Result<RfbSnapshot> r) { result = std::move(r); });
    ByteChain version;
    server.handshake.start(version);
    server.end->start();
    server.end->write(version);
    client->start();
  }
};

ServerHandshakeConfig core_server_config() {
  ServerHandshakeConfig c;
  c.password = "local-otp";
  for (size_t i = 0; i < c.challenge.size(); ++i) c.challenge[i] = static_cast<uint8_t>(i * 31);
  return c;
}

TEST(RfbCoresAgainstFakeVm, ServerRoleAndClientStreamEveryVersion) {
  for (RfbVersion v : {RfbVersion::v3_8, RfbVersion::v3_7, RfbVersion::v3_3}) {
    RfbClientOptions co;
    co.password = "local-otp";
    co.max_version = v;
    co.shared = false;
    ServerSession s(core_server_config(), co);
    ASSERT_TRUE(s.loop.run_until([&] { return s.result.has_value(); }));
    ASSERT_TRUE(s.result->ok()) << s.result->error().message();
    EXPECT_EQ(s.result->value().name, "core");
    EXPECT_EQ(s.result->value().width, CoreServer::kWidth);
    ASSERT_EQ(s.result->value().pixels.size(), 8u * 4 * 4);
    EXPECT_EQ(s.result->value().pixels[5], 5);
    EXPECT_FALSE(s.server.handshake.shared());
    EXPECT_EQ(static_cast<int>(s.server.handshake.version()), static_cast<int>(v));
    // SetPixelFormat, SetEncodings, FramebufferUpdateRequest, delimited.
    ASSERT_GE(s.server.messages.size(), 3u);
    EXPECT_EQ(s.server.messages[0].type, kSetPixelFormat);
    EXPECT_EQ(s.server.messages[1].type, kSetEncodings);
    EXPECT_EQ(s.server.messages[2].type, kFramebufferUpdateRequest);
    EXPECT_EQ(s.server.stream->pixel_format(), PixelFormat::rgb888());
    EXPECT_FALSE(s.server.stream->encodings().empty());
  }
}

TEST(RfbCoresAgainstFakeVm, ServerRoleRefusesAWrongPassword) {
  RfbClientOptions co;
  co.password = "other";
  ServerSession s(core_server_config(), co);
  ASSERT_TRUE(s.loop.run_until([&] { return s.result.has_value(); }));
  ASSERT_FALSE(s.result->ok());
  EXPECT_EQ(s.result->error().code(), Errc::auth);
  EXPECT_NE(s.result->error().detail().find("Authentication failed"), std::string::npos)
      << s.result->error().detail();
  EXPECT_EQ(s.server.handshake.error().code(), Errc::auth);
}

}  // namespace
}  // namespace pvb::rfb
