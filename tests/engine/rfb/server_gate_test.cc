// ServerGate (engine/rfb/server_gate.h): whole units to the viewer, a cut FramebufferUpdate
// completed for every encoding, Tight resets on the next session.
#include "engine/rfb/server_gate.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_stream.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;

const std::vector<int32_t> kNoLastRect = {kEncodingTight, kEncodingZrle, kEncodingRaw};
const std::vector<int32_t> kWithLastRect = {kEncodingTight, kPseudoLastRect, kEncodingRaw};

// One rectangle of each encoding and pseudo-encoding the bridge lets through, in rgb888.
struct Sample {
  const char* name;
  std::string rect;  // header and body
};
std::vector<Sample> samples() {
  std::vector<Sample> s;
  s.push_back({"raw", Bytes().rect(0, 0, 3, 2, kEncodingRaw).fill(24).str()});
  s.push_back({"copyrect", Bytes().rect(4, 4, 8, 8, kEncodingCopyRect).u16(0).u16(0).str()});
  s.push_back({"rre", Bytes()
                          .rect(0, 0, 8, 8, kEncodingRre)
                          .u32(1)
                          .fill(4)
                          .fill(4)
                          .u16(1)
                          .u16(1)
                          .u16(2)
                          .u16(2)
                          .str()});
  s.push_back({"corre", Bytes()
                            .rect(0, 0, 8, 8, kEncodingCoRre)
                            .u32(1)
                            .fill(4)
                            .fill(4)
                            .u8(1)
                            .u8(1)
                            .u8(2)
                            .u8(2)
                            .str()});
  s.push_back({"hextile", Bytes()
                              .rect(0, 0, 20, 16, kEncodingHextile)
                              .u8(kHextileBackgroundSpecified | kHextileAnySubrects)
                              .fill(4)
                              .u8(1)
                              .u8(0x11)
                              .u8(0x22)
                              .u8(kHextileRaw)
                              .fill(4 * 16 * 4)
                              .str()});
  s.push_back({"zlib", Bytes().rect(0, 0, 8, 8, kEncodingZlib).u32(9).fill(9).str()});
  s.push_back({"zrle", Bytes().rect(0, 0, 8, 8, kEncodingZrle).u32(7).fill(7).str()});
  s.push_back({"tight_fill", Bytes().rect(0, 0, 8, 8, kEncodingTight).u8(0x80).fill(3).str()});
  s.push_back({"tight_basic",
               Bytes().rect(0, 0, 8, 8, kEncodingTight).u8(0x10).compact(20).fill(20).str()});
  s.push_back(
      {"tight_jpeg", Bytes().rect(0, 0, 8, 8, kEncodingTight).u8(0x90).compact(30).fill(30).str()});
  s.push_back({"desktop_size", Bytes().rect(0, 0, 640, 480, kPseudoDesktopSize).str()});
  // Screen id 7: a screen named 0 reaches the viewer renamed (ServerGate.NamesQemusScreen...).
  s.push_back({"extended_desktop_size", Bytes()
                                            .rect(0, 0, 640, 480, kPseudoExtendedDesktopSize)
                                            .u8(1)
                                            .fill(3, 0)
                                            .u32(7)
                                            .u16(0)
                                            .u16(0)
                                            .u16(640)
                                            .u16(480)
                                            .u32(0)
                                            .str()});
  s.push_back(
      {"desktop_name", Bytes().rect(0, 0, 0, 0, kPseudoDesktopName).u32(5).raw("hello").str()});
  s.push_back({"rich_cursor", Bytes().rect(1, 1, 2, 2, kPseudoRichCursor).fill(16).fill(2).str()});
  s.push_back({"x_cursor", Bytes().rect(1, 1, 2, 2, kPseudoXCursor).fill(6).fill(4).str()});
  s.push_back({"alpha_cursor",
               Bytes().rect(1, 1, 2, 2, kPseudoAlphaCursor).s32(kEncodingRaw).fill(16).str()});
  s.push_back({"led_state", Bytes().rect(0, 0, 0, 0, kPseudoLedState).u8(1).str()});
  s.push_back({"cursor_pos", Bytes().rect(5, 5, 0, 0, kPseudoCursorPos).str()});
  s.push_back(
      {"wmvi",
       Bytes().rect(0, 0, 800, 600, kPseudoVmwareDisplayModeChange).pixel_format({}).str()});
  return s;
}

std::string update(uint16_t count, const std::vector<std::string>& rects) {
  std::string s = Bytes().u8(kFramebufferUpdate).u8(0).u16(count).str();
  for (const std::string& r : rects) s += r;
  return s;
}

// What a viewer's parser makes of `bytes`: well-formed, ending on a message boundary.
::testing::AssertionResult viewer_parses(std::string_view bytes,
                                         const std::vector<int32_t>& encodings, uint16_t w = 1024,
                                         uint16_t h = 768) {
  RfbServerStream viewer(PixelFormat::rgb888(), w, h);
  viewer.set_client_encodings(encodings);
  auto run = testing::delimit<ServerUnit>(viewer, bytes);
  if (run.error.failed()) return ::testing::AssertionFailure() << run.error.message();
  if (!run.contract_violation.empty())
    return ::testing::AssertionFailure() << run.contract_violation;
  if (run.end != bytes.size()) {
    return ::testing::AssertionFailure()
           << "a partial unit at the end: " << run.end << " of " << bytes.size();
  }
  if (viewer.in_update()) return ::testing::AssertionFailure() << "an update left open";
  return ::testing::AssertionSuccess();
}

// Feeds `server` to a gate a byte at a time, forwarding what it releases, and cuts after
// `cut` bytes. Checks that every release ends on a unit boundary or inside a Raw body.
std::string run_with_cut(std::string_view server, size_t cut, const std::vector<int32_t>& encodings,
                         Error* error = nullptr, uint64_t max_held = ServerGate::kDefaultMaxHeld) {
  ServerGate gate(PixelFormat::rgb888(), 1024, 768, max_held);
  gate.set_client_encodings(encodings);
  ByteChain in, viewer;
  for (size_t i = 0; i < cut; ++i) {
    testing::append_piece(in, server.substr(i, 1));
    auto ready = gate.advance(in);
    EXPECT_TRUE(ready.ok()) << ready.error().message();
    if (!ready.ok()) break;
    EXPECT_LE(*ready, in.size());
    viewer.move_from(in, *ready);
    gate.forwarded(*ready);
  }
  Error e = gate.finish_cut(in, viewer);
  if (error != nullptr) {
    *error = e;
  } else {
    EXPECT_TRUE(e.ok()) << e.message();
  }
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(gate.in_update());
  return viewer.to_string();
}

class CutUpdate : public ::testing::TestWithParam<Sample> {};

// An update of three rectangles, the middle one of the encoding under test, cut at every byte:
// whatever the viewer got parses, ends on a boundary, and begins with what the server sent.
TEST_P(CutUpdate, EveryCutLeavesTheViewerInStep) {
  const Sample& s = GetParam();
  const std::string first = Bytes().rect(0, 0, 1, 1, kEncodingCopyRect).u32(0).str();
  const std::string last = Bytes().rect(0, 0, 2, 1, kEncodingRaw).fill(8).str();
  const std::string server = update(3, {first, s.rect, last}) + Bytes().u8(kBell).str();
  for (const auto* encodings : {&kNoLastRect, &kWithLastRect}) {
    ASSERT_TRUE(viewer_parses(server, *encodings));
    RfbServerStream delimiter(PixelFormat::rgb888(), 1024, 768);
    const auto boundaries = testing::delimit<ServerUnit>(delimiter, server);
    for (size_t cut = 0; cut <= server.size(); ++cut) {
      const std::string got = run_with_cut(server, cut, *encodings);
      ASSERT_TRUE(viewer_parses(got, *encodings)) << s.name << " cut at " << cut;
      // What the viewer got starts with every unit the server finished before the cut, as sent.
      size_t whole = 0;
      for (size_t i = 0; i < boundaries.units.size(); ++i) {
        const uint64_t end = boundaries.offsets[i] + boundaries.units[i].length;
        if (end <= cut) whole = end;
      }
      ASSERT_GE(got.size(), whole);
      EXPECT_EQ(got.substr(0, whole), server.substr(0, whole)) << s.name << " cut " << cut;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, CutUpdate, ::testing::ValuesIn(samples()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ServerGate, HoldsARectangleUntilItIsWhole) {
  const std::string zrle = Bytes().rect(0, 0, 8, 8, kEncodingZrle).u32(100).fill(100).str();
  const std::string server = update(1, {zrle});
  ServerGate gate(PixelFormat::rgb888(), 1024, 768);
  ByteChain in;
  testing::append_piece(in, server.substr(0, 50));
  auto ready = gate.advance(in);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, 4u) << "only the update header";
  testing::append_piece(in, server.substr(50));
  ready = gate.advance(in);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, server.size());
}

TEST(ServerGate, ForwardingInSmallStepsKeepsItsPlace) {
  // The splice may move less than advance() allowed (the viewer's pump is full): the gate
  // counts from the front of what is left.
  const std::string zrle = Bytes().rect(0, 0, 8, 8, kEncodingZrle).u32(30).fill(30).str();
  const std::string raw = Bytes().rect(0, 0, 4, 4, kEncodingRaw).fill(64, 0x11).str();
  const std::string server = update(3, {zrle, raw, zrle});
  ServerGate gate(PixelFormat::rgb888(), 1024, 768);
  gate.set_client_encodings(kNoLastRect);
  ByteChain in, viewer;
  size_t fed = 0;
  while (fed < server.size() - 10) {
    const size_t n = std::min<size_t>(7, server.size() - fed);
    testing::append_piece(in, server.substr(fed, n));
    fed += n;
    auto ready = gate.advance(in);
    ASSERT_TRUE(ready.ok());
    const uint64_t take = std::min<uint64_t>(*ready, 3);
    viewer.move_from(in, take);
    gate.forwarded(take);
  }
  ASSERT_TRUE(gate.finish_cut(in, viewer).ok());
  const std::string got = viewer.to_string();
  EXPECT_EQ(got, update(3, {zrle, raw}) + Bytes().rect(0, 0, 0, 0, kEncodingRaw).str())
      << "the last ZRLE rectangle was cut: it is dropped, and owed as an empty Raw one";
  EXPECT_TRUE(viewer_parses(got, kNoLastRect));
}

TEST(ServerGate, StreamsRawAndPadsItWithZerosWhenCut) {
  const std::string raw = Bytes().rect(0, 0, 10, 10, kEncodingRaw).fill(400, 0x55).str();
  const std::string server = update(2, {raw, raw});
  ServerGate gate(PixelFormat::rgb888(), 1024, 768);
  gate.set_client_encodings(kNoLastRect);
  ByteChain in, viewer;
  testing::append_piece(in, server.substr(0, 4 + 12 + 100));
  auto ready = gate.advance(in);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, 4u + 12 + 100) << "a Raw body goes as it arrives";
  ASSERT_TRUE(gate.finish_cut(in, viewer).ok());
  const std::string got = viewer.to_string();
  EXPECT_EQ(got, server.substr(0, 116) + std::string(300, '\0') +
                     Bytes().rect(0, 0, 0, 0, kEncodingRaw).str());
  EXPECT_TRUE(viewer_parses(got, kNoLastRect));
}

TEST(ServerGate, CompletesWithLastRectWhenTheViewerAnnouncedIt) {
  const std::string server = update(5, {Bytes().rect(0, 0, 1, 1, kEncodingCopyRect).u32(0).str()});
  const std::string got = run_with_cut(server, server.size(), kWithLastRect);
  EXPECT_EQ(got, server + Bytes().rect(0, 0, 0, 0, kPseudoLastRect).str());
  const std::string owed = run_with_cut(server, server.size(), kNoLastRect);
  std::string expected = server;
  for (int i = 0; i < 4; ++i) expected += Bytes().rect(0, 0, 0, 0, kEncodingRaw).str();
  EXPECT_EQ(owed, expected) << "four empty Raw rectangles still owed";
}

TEST(ServerGate, CompletesAnUpdateCountedUntilLastRect) {
  const std::string server =
      update(0xFFFF, {Bytes().rect(0, 0, 1, 1, kEncodingCopyRect).u32(0).str()});
  const std::string got = run_with_cut(server, server.size(), kWithLastRect);
  EXPECT_EQ(got, server + Bytes().rect(0, 0, 0, 0, kPseudoLastRect).str());
  EXPECT_TRUE(viewer_parses(got, kWithLastRect));
}

TEST(ServerGate, ACutBetweenMessagesAddsNothing) {
  const std::string server = update(1, {Bytes().rect(0, 0, 1, 1, kEncodingCopyRect).u32(0).str()}) +
                             Bytes().u8(kBell).str();
  EXPECT_EQ(run_with_cut(server, server.size(), kNoLastRect), server);
  const std::string cut_text = Bytes().u8(kServerCutText).fill(3, 0).u32(10).fill(10).str();
  EXPECT_EQ(run_with_cut(server + cut_text, server.size() + 9, kNoLastRect), server)
      << "a partial ServerCutText is dropped whole";
}

TEST(ServerGate, ACutInsideAnUnboundedRectangleCannotBeHidden) {
  const std::string zrle = Bytes().rect(0, 0, 8, 8, kEncodingZrle).u32(100).fill(100).str();
  const std::string server = update(1, {zrle});
  Error e;
  run_with_cut(server, 60, kNoLastRect, &e, /*max_held=*/64);
  EXPECT_EQ(e.code(), Errc::connection_lost);
  EXPECT_NE(e.message().find("ZRLE"), std::string::npos) << e.message();
  // Whole, it streams through fine.
  EXPECT_EQ(run_with_cut(server, server.size(), kNoLastRect, nullptr, 64), server);
}

TEST(ServerGate, ACutOffSizeChangeDoesNotChangeTheViewersSize) {
  const std::string eds = Bytes()
                              .rect(0, 0, 640, 480, kPseudoExtendedDesktopSize)
                              .u8(1)
                              .fill(3, 0)
                              .u32(0)
                              .u16(0)
                              .u16(0)
                              .u16(640)
                              .u16(480)
                              .u32(0)
                              .str();
  const std::string server = update(1, {eds});
  for (size_t cut : {server.size() - 1, server.size()}) {
    ServerGate gate(PixelFormat::rgb888(), 1024, 768);
    ByteChain in, viewer;
    testing::append_piece(in, server.substr(0, cut));
    ASSERT_TRUE(gate.advance(in).ok());
    ASSERT_TRUE(gate.finish_cut(in, viewer).ok());
    const bool whole = cut == server.size();
    EXPECT_EQ(gate.viewer_width(), whole ? 640 : 1024) << cut;
    EXPECT_EQ(gate.viewer_height(), whole ? 480 : 768) << cut;
  }
}

std::string tight_basic(uint8_t stream, uint8_t resets = 0) {
  // 1x1, copy filter: 3 bytes of data, under 12 so sent raw.
  return Bytes()
      .rect(0, 0, 1, 1, kEncodingTight)
      .u8(static_cast<uint8_t>(stream << 4 | resets))
      .fill(3)
      .str();
}
std::string tight_fill() {
  return Bytes().rect(0, 0, 8, 8, kEncodingTight).u8(0x80).fill(3).str();
}

// Forwards `server` through the gate whole; returns what the viewer got.
std::string pass(ServerGate& gate, std::string_view server) {
  ByteChain in, viewer;
  testing::append_piece(in, server);
  auto ready = gate.advance(in);
  EXPECT_TRUE(ready.ok());
  viewer.move_from(in, *ready);
  gate.forwarded(*ready);
  return viewer.to_string();
}

TEST(ServerGate, SetsTightResetsOnTheFirstUseOfEachStreamAfterAResume) {
  ServerGate gate(PixelFormat::rgb888(), 1024, 768);
  gate.set_client_encodings(kWithLastRect);
  const std::string first = update(2, {tight_basic(1), tight_basic(2)});
  EXPECT_EQ(pass(gate, first), first) << "the first session needs no reset";
  ByteChain in, viewer;
  ASSERT_TRUE(gate.finish_cut(in, viewer).ok());
  EXPECT_EQ(gate.resume_session(1024, 768, kWithLastRect, viewer), ResizeResult::same_size);
  EXPECT_TRUE(viewer.empty());
  EXPECT_EQ(gate.pending_tight_resets(), 0x0F);
  const std::string second =
      update(4, {tight_fill(), tight_basic(1), tight_basic(1), tight_basic(3)});
  const std::string expected =
      update(4, {tight_fill(), tight_basic(1, 0x02), tight_basic(1), tight_basic(3, 0x08)});
  EXPECT_EQ(pass(gate, second), expected);
  EXPECT_EQ(gate.pending_tight_resets(), 0x01 | 0x04);
}

TEST(ServerGate, TellsTheViewerOfANewSize) {
  for (const auto& [list, kind] : std::vector<std::pair<std::vector<int32_t>, int32_t>>{
           {{kEncodingRaw, kPseudoExtendedDesktopSize, kPseudoDesktopSize},
            kPseudoExtendedDesktopSize},
           {{kEncodingRaw, kPseudoDesktopSize}, kPseudoDesktopSize}}) {
    ServerGate gate(PixelFormat::rgb888(), 1024, 768);
    gate.set_client_encodings(list);
    ByteChain in, viewer;
    ASSERT_TRUE(gate.finish_cut(in, viewer).ok());
    EXPECT_EQ(gate.resume_session(1280, 800, list, viewer), ResizeResult::announced);
    RfbServerStream parser(PixelFormat::rgb888(), 1024, 768);
    auto run = testing::delimit<ServerUnit>(parser, viewer.to_string());
    ASSERT_FALSE(run.error.failed()) << run.error.message();
    ASSERT_EQ(run.units.size(), 2u);
    EXPECT_EQ(run.units[1].rect.encoding, kind);
    EXPECT_EQ(parser.width(), 1280);
    EXPECT_EQ(parser.height(), 800);
    EXPECT_EQ(gate.viewer_width(), 1280);
  }
  ServerGate gate(PixelFormat::rgb888(), 1024, 768);
  ByteChain in, viewer;
  ASSERT_TRUE(gate.finish_cut(in, viewer).ok());
  EXPECT_EQ(gate.resume_session(1280, 800, kNoLastRect, viewer), ResizeResult::cannot_resize);
  EXPECT_TRUE(viewer.empty());
}

// QEMU names its one screen 0, which libvncclient takes for "no screen" (it then ignores the size
// change and fails on the next rectangle): the viewer is told 1. Other layouts pass unchanged.
TEST(ServerGate, NamesQemusScreenZeroOneAndLeavesOtherLayoutsAlone) {
  auto eds = [](std::vector<uint32_t> ids) {
    Bytes b;
    b.rect(0, 0, 800, 600, kPseudoExtendedDesktopSize).u8(static_cast<uint8_t>(ids.size()));
    b.fill(3, 0);
    for (uint32_t id : ids) b.u32(id).u16(0).u16(0).u16(800).u16(600).u32(0);
    return b.str();
  };
  const std::vector<int32_t> encodings = {kEncodingRaw, kPseudoExtendedDesktopSize};
  for (const auto& [sent, expected] : std::vector<std::pair<std::string, std::string>>{
           {eds({0}), eds({1})}, {eds({5}), eds({5})}, {eds({0, 1}), eds({0, 1})}}) {
    const std::string server = update(1, {sent});
    // Whole at once, and a byte at a time.
    EXPECT_EQ(run_with_cut(server, server.size(), encodings), update(1, {expected}));
    ServerGate gate(PixelFormat::rgb888(), 1024, 768);
    gate.set_client_encodings(encodings);
    ByteChain in;
    testing::append_piece(in, server);
    auto ready = gate.advance(in);
    ASSERT_TRUE(ready.ok());
    ASSERT_EQ(*ready, server.size());
    EXPECT_EQ(in.to_string(), update(1, {expected}));
    EXPECT_EQ(gate.viewer_width(), 800);
  }
}

// ---- recorded QEMU sessions, cut anywhere, resumed with the same recording -------------------

std::string read_data(const std::string& name) {
  std::ifstream f(std::string(PVB_RFB_TEST_DATA) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(ServerGate, RecordedSessionsCutAndResumedStayInStep) {
  for (const char* name : {"qemu_tight_remote_viewer", "qemu_tight_jpeg", "qemu_tight_16bpp",
                           "qemu_zrle", "qemu_zlib", "qemu_hextile_8bpp", "qemu_wmvi_hextile"}) {
    const std::string client_bytes = read_data(std::string(name) + ".client");
    const std::string server_bytes = read_data(std::string(name) + ".server");
    ASSERT_GT(server_bytes.size(), 24u) << name;
    const auto* p = reinterpret_cast<const uint8_t*>(server_bytes.data());
    const uint16_t w = get_u16(p), h = get_u16(p + 2);
    const PixelFormat init = PixelFormat::read(p + 4);
    const std::string_view messages = std::string_view(server_bytes).substr(24 + get_u32(p + 20));
    RfbClientStream client(init);
    auto sent = testing::delimit<ClientMessage>(client, client_bytes);
    ASSERT_FALSE(sent.error.failed());

    const size_t step = std::max<size_t>(1, messages.size() / 97);
    for (size_t cut = 0; cut <= messages.size(); cut += step) {
      ServerGate gate(init, w, h);
      gate.set_pixel_format(client.pixel_format());
      gate.set_client_encodings(client.encodings());
      ByteChain in, viewer;
      testing::append_piece(in, messages.substr(0, cut));
      ASSERT_TRUE(gate.advance(in).ok());
      ASSERT_TRUE(gate.finish_cut(in, viewer).ok());
      // (Some recordings change the size themselves: resume at the size the viewer has.)
      ASSERT_EQ(gate.resume_session(gate.viewer_width(), gate.viewer_height(), client.encodings(),
                                    viewer),
                ResizeResult::same_size);
      testing::append_piece(in, messages);
      auto ready = gate.advance(in);
      ASSERT_TRUE(ready.ok()) << ready.error().message();
      EXPECT_EQ(*ready, messages.size());
      viewer.move_from(in);
      // The viewer's own parser, from its start: in step through the cut and the new session.
      RfbServerStream parser(init, w, h);
      parser.set_pixel_format(client.pixel_format());
      parser.set_client_encodings(client.encodings());
      const std::string got = viewer.to_string();
      auto run = testing::delimit<ServerUnit>(parser, got);
      ASSERT_FALSE(run.error.failed()) << name << " cut " << cut << ": " << run.error.message();
      EXPECT_EQ(run.end, got.size()) << name << " cut " << cut;
    }
  }
}

}  // namespace
}  // namespace pvb::rfb
