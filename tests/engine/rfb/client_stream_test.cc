#include "engine/rfb/client_stream.h"

#include <gtest/gtest.h>

#include "engine/rfb/rfb_wire.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;
using MessageRun = testing::DelimitRun<ClientMessage>;

// SetEncodings with remote-viewer's measured list (see RFB.md).
Bytes remote_viewer_encodings() {
  const std::vector<int32_t>& list = testing::remote_viewer_encoding_list();
  Bytes b;
  b.u8(kSetEncodings).u8(0).u16(static_cast<uint16_t>(list.size()));
  for (int32_t e : list) b.s32(e);
  return b;
}

MessageRun delimit_every_way(std::string_view data) {
  RfbClientStream whole_stream(PixelFormat::rgb888());
  MessageRun whole = testing::delimit<ClientMessage>(whole_stream, data);
  EXPECT_EQ(whole.contract_violation, "");
  for (size_t piece : {size_t{1}, size_t{5}}) {
    RfbClientStream s(PixelFormat::rgb888());
    MessageRun split = testing::delimit<ClientMessage>(s, data, piece);
    EXPECT_EQ(split.contract_violation, "");
    EXPECT_EQ(split.offsets, whole.offsets) << "piece " << piece;
    EXPECT_EQ(split.error.code(), whole.error.code()) << "piece " << piece;
  }
  return whole;
}

TEST(RfbClientStream, WhatRemoteViewerSends) {
  PixelFormat pf = PixelFormat::rgb565();
  Bytes b;
  b.u8(kSetPixelFormat).fill(3, 0).pixel_format(pf);
  b.raw(remote_viewer_encodings().str());
  b.u8(kFramebufferUpdateRequest).u8(0).u16(0).u16(0).u16(1024).u16(768);
  b.u8(kKeyEvent).u8(1).u16(0).u32(0xFF0D);
  b.u8(kPointerEvent).u8(1).u16(10).u16(20);
  b.u8(kClientCutText).fill(3, 0).u32(3).raw("abc");
  b.u8(kClientQemu).u8(kQemuExtendedKeyEvent).u16(1).u32(0x61).u32(30);
  b.u8(kClientQemu).u8(kQemuAudio).u16(kQemuAudioSetFormat).u8(3).u8(2).u32(44100);
  b.u8(kClientQemu).u8(kQemuAudio).u16(kQemuAudioEnable);
  b.u8(kClientXvp).u8(0).u8(1).u8(2);
  b.u8(kSetDesktopSize).u8(0).u16(800).u16(600).u8(1).u8(0).fill(16);
  MessageRun run = delimit_every_way(b.str());
  ASSERT_EQ(run.units.size(), 11u) << run.error.message();
  const std::vector<uint64_t> lengths = {20, 4 + 4 * 19, 10, 8, 6, 11, 12, 10, 4, 4, 24};
  for (size_t i = 0; i < lengths.size(); ++i) EXPECT_EQ(run.units[i].length, lengths[i]) << i;
  EXPECT_EQ(run.units[6].subtype, kQemuExtendedKeyEvent);
  EXPECT_EQ(run.units[7].subtype, kQemuAudio);
  EXPECT_EQ(run.end, b.size());

  RfbClientStream s(PixelFormat::rgb888());
  testing::delimit<ClientMessage>(s, b.str());
  EXPECT_EQ(s.pixel_format(), pf);
  ASSERT_EQ(s.encodings().size(), 19u);
  EXPECT_EQ(s.encodings()[0], kEncodingTight);
  EXPECT_EQ(s.encodings()[8], kPseudoVmwareDisplayModeChange);
  EXPECT_TRUE(s.announced(kPseudoQemuAudio));
  EXPECT_FALSE(s.announced(kPseudoFence));
}

TEST(RfbClientStream, FenceAndContinuousUpdatesWhenAnnounced) {
  Bytes b;
  b.u8(kSetEncodings).u8(0).u16(2).s32(kPseudoFence).s32(kPseudoContinuousUpdates);
  b.u8(kClientFence).fill(3, 0).u32(0).u8(3).fill(3);
  b.u8(kEnableContinuousUpdates).u8(1).u16(0).u16(0).u16(10).u16(10);
  MessageRun run = delimit_every_way(b.str());
  ASSERT_EQ(run.units.size(), 3u) << run.error.message();
  EXPECT_EQ(run.units[1].length, 12u);
  EXPECT_EQ(run.units[2].length, 10u);
}

TEST(RfbClientStream, ExtendedClipboardUsesTheAbsoluteLength) {
  Bytes b;
  b.u8(kClientCutText).fill(3, 0).s32(-8).u32(0x10000000).u32(0);
  MessageRun run = delimit_every_way(b.str());
  ASSERT_EQ(run.units.size(), 1u);
  EXPECT_EQ(run.units[0].length, 16u);
}

TEST(RfbClientStream, ExtensionsNeedTheirPseudoEncoding) {
  for (const Bytes& b :
       {Bytes().u8(kEnableContinuousUpdates).fill(9), Bytes().u8(kClientFence).fill(8),
        Bytes().u8(kClientXvp).fill(3), Bytes().u8(kSetDesktopSize).fill(7),
        Bytes().u8(kClientQemu).u8(0).fill(10), Bytes().u8(kClientQemu).u8(1).fill(2)}) {
    MessageRun run = delimit_every_way(b.str());
    EXPECT_EQ(run.error.code(), Errc::protocol) << int(uint8_t(b.str()[0]));
    EXPECT_NE(run.error.detail().find("without announcing"), std::string::npos)
        << run.error.detail();
  }
}

TEST(RfbClientStream, MalformedMessages) {
  EXPECT_EQ(delimit_every_way(Bytes().u8(1).str()).error.code(), Errc::protocol);
  EXPECT_NE(delimit_every_way(Bytes().u8(99).str()).error.detail().find("type 99"),
            std::string::npos);
  PixelFormat bad = PixelFormat::rgb888();
  bad.bits_per_pixel = 24;
  EXPECT_EQ(
      delimit_every_way(Bytes().u8(kSetPixelFormat).fill(3).pixel_format(bad).str()).error.code(),
      Errc::protocol);
  EXPECT_EQ(
      delimit_every_way(Bytes().u8(kClientCutText).fill(3).u32(16u << 20 | 1).str()).error.code(),
      Errc::too_large);
  EXPECT_EQ(delimit_every_way(Bytes().u8(kClientCutText).fill(3).s32(INT32_MIN).str()).error.code(),
            Errc::too_large);
  Bytes audio = remote_viewer_encodings();
  audio.u8(kClientQemu).u8(kQemuAudio).u16(7);
  EXPECT_EQ(delimit_every_way(audio.str()).error.code(), Errc::protocol);
  Bytes sub = remote_viewer_encodings();
  sub.u8(kClientQemu).u8(9).u16(0);
  EXPECT_EQ(delimit_every_way(sub.str()).error.code(), Errc::protocol);
}

TEST(RfbClientStream, SetEncodingsIsFoundOnlyWhole) {
  std::string b = remote_viewer_encodings().str();
  ByteChain in;
  testing::append_piece(in, b.substr(0, 10));
  RfbClientStream s(PixelFormat::rgb888());
  auto r = s.next(in);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->found());
  EXPECT_EQ(r->need, b.size());
  EXPECT_TRUE(s.encodings().empty());
  // A cut text is found as soon as its length is known.
  ByteChain cut;
  testing::append_piece(cut, Bytes().u8(kClientCutText).fill(3).u32(1000).str());
  auto c = s.next(cut);
  ASSERT_TRUE(c.ok() && c->found());
  EXPECT_EQ(c->unit->length, 1008u);
}

}  // namespace
}  // namespace pvb::rfb
