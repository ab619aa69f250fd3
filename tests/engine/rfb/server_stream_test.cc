#include "engine/rfb/server_stream.h"

#include <gtest/gtest.h>

#include "engine/rfb/rfb_wire.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;
using UnitRun = testing::DelimitRun<ServerUnit>;

PixelFormat rgb888() {
  return PixelFormat::rgb888();
}  // 32 bpp, depth 24: TPIXEL is 3 bytes

PixelFormat bgr233() {
  PixelFormat pf;
  pf.bits_per_pixel = 8;
  pf.depth = 8;
  pf.red_max = 7;
  pf.green_max = 7;
  pf.blue_max = 3;
  pf.red_shift = 0;
  pf.green_shift = 3;
  pf.blue_shift = 6;
  return pf;
}

// Every extension message enabled, as remote-viewer's list does (plus fence and CU).
RfbServerStream make_stream(const PixelFormat& pf = rgb888()) {
  RfbServerStream s(pf, 1024, 768);
  const int32_t encodings[] = {kEncodingTight, kPseudoXvp, kPseudoQemuAudio, kPseudoFence,
                               kPseudoContinuousUpdates};
  s.set_client_encodings(encodings);
  return s;
}

// Delimits `data` whole, then one byte at a time, then in 7-byte pieces; all three must agree.
UnitRun delimit_every_way(std::string_view data, const PixelFormat& pf = rgb888()) {
  auto whole_stream = make_stream(pf);
  UnitRun whole = testing::delimit<ServerUnit>(whole_stream, data);
  EXPECT_EQ(whole.contract_violation, "");
  for (size_t piece : {size_t{1}, size_t{7}}) {
    auto s = make_stream(pf);
    UnitRun split = testing::delimit<ServerUnit>(s, data, piece);
    EXPECT_EQ(split.contract_violation, "") << "piece " << piece;
    EXPECT_EQ(split.offsets, whole.offsets) << "piece " << piece;
    EXPECT_EQ(split.error.code(), whole.error.code()) << "piece " << piece;
    EXPECT_EQ(split.end, whole.end) << "piece " << piece;
  }
  return whole;
}

// One FramebufferUpdate holding one rectangle: header(12) + body. Returns the body length found.
uint64_t one_rect_body(const Bytes& rect_and_body, const PixelFormat& pf = rgb888(),
                       Error* error = nullptr) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(1).raw(rect_and_body.str());
  UnitRun run = delimit_every_way(b.str(), pf);
  if (error) *error = run.error;
  if (run.error.failed()) return UINT64_MAX;
  EXPECT_EQ(run.units.size(), 2u);
  if (run.units.size() != 2) return UINT64_MAX;
  EXPECT_EQ(run.units[0].kind, ServerUnitKind::update_header);
  EXPECT_EQ(run.units[0].rect_count, 1);
  EXPECT_EQ(run.units[1].kind, ServerUnitKind::rect);
  EXPECT_TRUE(run.units[1].ends_update);
  EXPECT_EQ(run.end, b.size()) << "the whole update was consumed";
  return run.units[1].body_length;
}

TEST(RfbServerStream, RawDependsOnPixelSize) {
  EXPECT_EQ(one_rect_body(Bytes().rect(1, 2, 10, 3, kEncodingRaw).fill(120)), 120u);
  EXPECT_EQ(one_rect_body(Bytes().rect(1, 2, 10, 3, kEncodingRaw).fill(60), PixelFormat::rgb565()),
            60u);
  EXPECT_EQ(one_rect_body(Bytes().rect(1, 2, 10, 3, kEncodingRaw).fill(30), bgr233()), 30u);
  EXPECT_EQ(one_rect_body(Bytes().rect(1, 2, 0, 3, kEncodingRaw)), 0u);
}

TEST(RfbServerStream, RectHeaderIsExposed) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(2).rect(5, 6, 2, 1, kEncodingRaw).fill(8);
  b.rect(7, 8, 9, 10, kEncodingCopyRect).u16(1).u16(2);
  UnitRun run = delimit_every_way(b.str());
  ASSERT_EQ(run.units.size(), 3u);
  EXPECT_EQ(run.units[1].rect, (RectHeader{5, 6, 2, 1, kEncodingRaw}));
  EXPECT_EQ(run.units[1].rect_index, 0u);
  EXPECT_FALSE(run.units[1].ends_update);
  EXPECT_EQ(run.units[2].rect, (RectHeader{7, 8, 9, 10, kEncodingCopyRect}));
  EXPECT_EQ(run.units[2].rect_index, 1u);
  EXPECT_EQ(run.units[2].body_length, 4u);
  EXPECT_TRUE(run.units[2].ends_update);
  EXPECT_EQ(run.end, b.size());
}

TEST(RfbServerStream, RreAndCoRre) {
  // count 2, background, then 2 x (pixel + geometry).
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 50, 50, kEncodingRre).u32(2).fill(4 + 2 * 12)),
            4u + 4 + 2 * (4 + 8));
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 50, 50, kEncodingCoRre).u32(3).fill(2 + 3 * 6),
                          PixelFormat::rgb565()),
            4u + 2 + 3 * (2 + 4));
}

TEST(RfbServerStream, ZlibAndZrleCarryTheirLength) {
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 64, 64, kEncodingZlib).u32(5).fill(5)), 9u);
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 64, 64, kEncodingZrle).u32(300).fill(300)), 304u);
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 64, 64, kEncodingZrle).u32(0)), 4u);
}

// --- Hextile ------------------------------------------------------------------------------------

TEST(RfbServerStream, HextileEveryFlag) {
  const uint8_t bpp = 4;
  // A 20x18 rectangle: tiles 16x16, 4x16, 16x2, 4x2.
  Bytes b;
  b.rect(0, 0, 20, 18, kEncodingHextile);
  b.u8(kHextileRaw).fill(16 * 16 * bpp);  // raw tile 16x16
  // Raw wins over every other bit: no background, no subrects follow.
  b.u8(kHextileRaw | kHextileBackgroundSpecified | kHextileAnySubrects).fill(4 * 16 * bpp);
  // background + foreground + 2 plain subrects.
  b.u8(kHextileBackgroundSpecified | kHextileForegroundSpecified | kHextileAnySubrects)
      .fill(2 * bpp)
      .u8(2)
      .fill(2 * 2);
  // coloured subrects: 3 x (pixel + 2).
  b.u8(kHextileAnySubrects | kHextileSubrectsColoured).u8(3).fill(3 * (bpp + 2));
  const uint64_t expected = b.size() - 12;
  EXPECT_EQ(one_rect_body(b), expected);
}

TEST(RfbServerStream, HextileTilesWithNoDataAndEdges) {
  // 33x17: 3x2 tiles; every tile just a flags byte of 0 (same background as before).
  Bytes b;
  b.rect(0, 0, 33, 17, kEncodingHextile).fill(6, 0);
  EXPECT_EQ(one_rect_body(b), 6u);
  // Edge tile sizes: 1x1 raw tile at the bottom right.
  Bytes c;
  c.rect(0, 0, 17, 17, kEncodingHextile);
  c.u8(0).u8(kHextileRaw).fill(1 * 16 * 4).u8(kHextileRaw).fill(16 * 1 * 4).u8(kHextileRaw).fill(4);
  EXPECT_EQ(one_rect_body(c), c.size() - 12);
}

TEST(RfbServerStream, HextileBigRectInManySlices) {
  // 256x256 raw tiles at 4 bytes: 256 tiles of 1025 bytes, fed 1000 bytes at a time.
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(1).rect(0, 0, 256, 256, kEncodingHextile);
  for (int i = 0; i < 256; ++i) b.u8(kHextileRaw).fill(1024);
  auto s = make_stream();
  UnitRun run = testing::delimit<ServerUnit>(s, b.str(), 1000);
  EXPECT_EQ(run.contract_violation, "");
  ASSERT_EQ(run.units.size(), 2u);
  EXPECT_EQ(run.units[1].body_length, 256u * 1025);
  EXPECT_EQ(run.end, b.size());
}

// --- Tight --------------------------------------------------------------------------------------

TEST(RfbServerStream, TightFillUsesTpixel) {
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 100, 100, kEncodingTight).u8(0x80).fill(3)), 4u);
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 100, 100, kEncodingTight).u8(0x80).fill(2),
                          PixelFormat::rgb565()),
            3u);
}

TEST(RfbServerStream, TightJpegCompactLengths) {
  for (uint32_t n : {0u, 1u, 127u, 128u, 16383u, 16384u, 100000u}) {
    Bytes b;
    b.rect(0, 0, 100, 100, kEncodingTight).u8(0x90).compact(n).fill(n);
    const uint64_t compact_bytes = n <= 0x7F ? 1 : n <= 0x3FFF ? 2 : 3;
    EXPECT_EQ(one_rect_body(b), 1 + compact_bytes + n) << n;
  }
}

TEST(RfbServerStream, TightBasicCopyBelowAndAboveTwelveBytes) {
  // 2x2 at TPIXEL 3 = 12 bytes: compressed, with a length.
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 2, 2, kEncodingTight).u8(0x00).compact(7).fill(7)),
            1u + 1 + 7);
  // 3x1 = 9 bytes: raw, no length.
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 3, 1, kEncodingTight).u8(0x10).fill(9)), 10u);
  // 11 bytes at 8 bpp (11x1): raw.
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 11, 1, kEncodingTight).u8(0x20).fill(11), bgr233()),
            12u);
  // 12 bytes at 8 bpp: compressed.
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 12, 1, kEncodingTight).u8(0x30).compact(2).fill(2),
                          bgr233()),
            4u);
  // Explicit copy filter, stream 2.
  EXPECT_EQ(
      one_rect_body(Bytes().rect(0, 0, 1, 1, kEncodingTight).u8(0x60).u8(kTightFilterCopy).fill(3)),
      5u);
}

TEST(RfbServerStream, TightPaletteSizes) {
  // Two colours: 1 bit per pixel, rows padded: 10x2 -> 2 bytes a row, 4 bytes: raw.
  EXPECT_EQ(
      one_rect_body(Bytes().rect(0, 0, 10, 2, kEncodingTight).u8(0x40).u8(1).u8(1).fill(6).fill(4)),
      1u + 1 + 1 + 6 + 4);
  // Two colours, 100x1 -> 13 bytes: compressed.
  EXPECT_EQ(one_rect_body(Bytes()
                              .rect(0, 0, 100, 1, kEncodingTight)
                              .u8(0x40)
                              .u8(1)
                              .u8(1)
                              .fill(6)
                              .compact(5)
                              .fill(5)),
            1u + 1 + 1 + 6 + 1 + 5);
  // Four colours: a byte per pixel, 3x3 = 9: raw.
  EXPECT_EQ(
      one_rect_body(Bytes().rect(0, 0, 3, 3, kEncodingTight).u8(0x40).u8(1).u8(3).fill(12).fill(9)),
      1u + 1 + 1 + 12 + 9);
  // 256 colours at 16 bpp (TPIXEL 2), 16x16: compressed.
  EXPECT_EQ(one_rect_body(Bytes()
                              .rect(0, 0, 16, 16, kEncodingTight)
                              .u8(0x40)
                              .u8(1)
                              .u8(255)
                              .fill(512)
                              .compact(200)
                              .fill(200),
                          PixelFormat::rgb565()),
            1u + 1 + 1 + 512 + 2 + 200);
  // One colour: a byte per pixel too.
  EXPECT_EQ(
      one_rect_body(Bytes().rect(0, 0, 2, 2, kEncodingTight).u8(0x40).u8(1).u8(0).fill(3).fill(4)),
      1u + 1 + 1 + 3 + 4);
}

TEST(RfbServerStream, TightGradient) {
  // 2x2 at 3 bytes = 12: compressed.
  EXPECT_EQ(
      one_rect_body(Bytes().rect(0, 0, 2, 2, kEncodingTight).u8(0x40).u8(2).compact(9).fill(9)),
      1u + 1 + 1 + 9);
}

TEST(RfbServerStream, TightRejectsWhatItCannotKnow) {
  Error e;
  one_rect_body(Bytes().rect(0, 0, 2, 2, kEncodingTight).u8(0x40).u8(3).fill(20), rgb888(), &e);
  EXPECT_EQ(e.code(), Errc::protocol);
  EXPECT_NE(e.detail().find("filter 3"), std::string::npos) << e.detail();
  one_rect_body(Bytes().rect(0, 0, 2, 2, kEncodingTight).u8(0xA0).fill(20), rgb888(), &e);
  EXPECT_NE(e.detail().find("TightPNG"), std::string::npos) << e.detail();
  one_rect_body(Bytes().rect(0, 0, 2, 2, kEncodingTight).u8(0xB0).fill(20), rgb888(), &e);
  EXPECT_EQ(e.code(), Errc::protocol);
  // 32 bpp depth 32: QEMU would send 3-byte pixels, the spec says 4.
  PixelFormat deep = rgb888();
  deep.depth = 32;
  EXPECT_FALSE(tight_pixel_size(deep).has_value());
  one_rect_body(Bytes().rect(0, 0, 2, 2, kEncodingTight).u8(0x80).fill(4), deep, &e);
  EXPECT_NE(e.detail().find("ambiguous"), std::string::npos) << e.detail();
}

TEST(RfbServerStream, TightInfoAndResetBitsInPlace) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(2);
  b.rect(0, 0, 1, 1, kEncodingTight).u8(0x60).u8(0).fill(3);  // stream 2, explicit copy
  b.rect(0, 0, 1, 1, kEncodingTight).u8(0x80).fill(3);        // fill
  ByteChain in;
  testing::append_piece(in, b.str());
  auto s = make_stream();
  auto header = s.next(in, 0);
  ASSERT_TRUE(header.ok() && header->found());
  auto first = s.next(in, 4);
  ASSERT_TRUE(first.ok() && first->found());
  EXPECT_EQ(first->unit->info.tight.zlib_stream, 2);
  EXPECT_EQ(first->unit->info.tight.control, 0x60);
  auto second = s.next(in, 4 + first->unit->length);
  ASSERT_TRUE(second.ok() && second->found());
  EXPECT_EQ(second->unit->info.tight.zlib_stream, -1);
  set_tight_stream_resets(in, 4 + kRectHeaderLength, 0x04);
  EXPECT_EQ(in.at(4 + kRectHeaderLength), 0x64);
  EXPECT_EQ(in.size(), b.size());
}

TEST(RfbServerStream, TightResetBitsInALaterSlice) {
  ByteChain in;
  testing::append_piece(in, "abc");
  testing::append_piece(in, "\x10zz");
  set_tight_stream_resets(in, 3, 0x0F);
  EXPECT_EQ(in.at(3), 0x1F);
  EXPECT_EQ(in.at(2), 'c');
}

// --- Pseudo-encodings ---------------------------------------------------------------------------

TEST(RfbServerStream, PseudoEncodingsWithoutBody) {
  for (int32_t e : {kPseudoDesktopSize, kPseudoCursorPos, kPseudoQemuPointerTypeChange,
                    kPseudoQemuExtendedKeyEvent, kPseudoQemuAudio, kPseudoXvp, kPseudoFence,
                    kPseudoContinuousUpdates}) {
    EXPECT_EQ(one_rect_body(Bytes().rect(1, 0, 800, 600, e)), 0u) << encoding_name(e);
  }
}

TEST(RfbServerStream, PseudoEncodingsWithBody) {
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 0, 0, kPseudoLedState).u8(4)), 1u);
  EXPECT_EQ(one_rect_body(
                Bytes().rect(0, 0, 800, 600, kPseudoExtendedDesktopSize).u8(2).fill(3).fill(32)),
            4u + 32);
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 0, 0, kPseudoDesktopName).u32(4).raw("QEMU")), 8u);
  // Rich cursor 10x3 at 4 bytes: pixels + a mask of 2 bytes a row.
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 10, 3, kPseudoRichCursor).fill(120 + 6)), 126u);
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 10, 3, kPseudoRichCursor).fill(60 + 6),
                          PixelFormat::rgb565()),
            66u);
  // X cursor 9x2: 6 bytes of colours + 2 bitmaps of 2 bytes a row; empty: nothing.
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 9, 2, kPseudoXCursor).fill(6 + 8)), 14u);
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 0, 0, kPseudoXCursor)), 0u);
  // Alpha cursor as QEMU sends it: Raw, 4 bytes a pixel whatever the pixel format.
  EXPECT_EQ(one_rect_body(Bytes().rect(0, 0, 8, 8, kPseudoAlphaCursor).s32(kEncodingRaw).fill(256),
                          PixelFormat::rgb565()),
            4u + 256);
}

TEST(RfbServerStream, AlphaCursorNestedHextile) {
  Bytes b;
  b.rect(0, 0, 16, 16, kPseudoAlphaCursor).s32(kEncodingHextile).u8(kHextileRaw).fill(1024);
  EXPECT_EQ(one_rect_body(b), 4u + 1 + 1024);
  Error e;
  one_rect_body(Bytes().rect(0, 0, 2, 2, kPseudoAlphaCursor).s32(kPseudoRichCursor).fill(40),
                rgb888(), &e);
  EXPECT_EQ(e.code(), Errc::protocol);
}

TEST(RfbServerStream, VmwareDisplayModeChangeSwitchesThePixelFormat) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(2);
  b.rect(0, 0, 640, 480, kPseudoVmwareDisplayModeChange).pixel_format(PixelFormat::rgb565());
  b.rect(0, 0, 2, 2, kEncodingRaw).fill(8);  // 16 bpp from now on
  auto s = make_stream();
  UnitRun run = testing::delimit<ServerUnit>(s, b.str(), 3);
  ASSERT_EQ(run.units.size(), 3u) << run.error.message();
  EXPECT_EQ(run.units[1].body_length, 16u);
  EXPECT_EQ(run.units[2].body_length, 8u);
  EXPECT_EQ(s.pixel_format(), PixelFormat::rgb565());
  EXPECT_EQ(s.width(), 640);
  EXPECT_EQ(s.height(), 480);
}

TEST(RfbServerStream, DesktopSizeTracksTheFramebuffer) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(2).rect(0, 0, 1280, 800, kPseudoDesktopSize);
  b.rect(1, 5, 1920, 1080, kPseudoExtendedDesktopSize).u8(0).fill(3);  // status 5: refused
  auto s = make_stream();
  UnitRun run = testing::delimit<ServerUnit>(s, b.str());
  ASSERT_EQ(run.units.size(), 3u);
  EXPECT_EQ(s.width(), 1280);
  EXPECT_EQ(s.height(), 800);
}

TEST(RfbServerStream, UnknownEncodingIsALoudError) {
  Error e;
  one_rect_body(Bytes().rect(0, 0, 2, 2, 17).fill(20), rgb888(), &e);  // ZYWRLE
  EXPECT_EQ(e.code(), Errc::protocol);
  EXPECT_NE(e.detail().find("(17)"), std::string::npos) << e.detail();
  one_rect_body(Bytes().rect(0, 0, 2, 2, kPseudoTightPng).fill(20), rgb888(), &e);
  EXPECT_NE(e.detail().find("-260"), std::string::npos) << e.detail();
}

TEST(RfbServerStream, AbsurdSizesAreRefused) {
  Error e;
  one_rect_body(Bytes().rect(0, 0, 65535, 65535, kEncodingRaw), rgb888(), &e);
  EXPECT_EQ(e.code(), Errc::too_large);
  one_rect_body(Bytes().rect(0, 0, 1, 1, kEncodingZrle).u32(0xFFFFFFFF), rgb888(), &e);
  EXPECT_EQ(e.code(), Errc::too_large);
  one_rect_body(Bytes().rect(0, 0, 1, 1, kEncodingRre).u32(0xFFFFFFFF), rgb888(), &e);
  EXPECT_EQ(e.code(), Errc::too_large);
  one_rect_body(Bytes().rect(0, 0, 0, 0, kPseudoDesktopName).u32(0x7FFFFFFF), rgb888(), &e);
  EXPECT_EQ(e.code(), Errc::too_large);
}

// --- Updates and messages -----------------------------------------------------------------------

TEST(RfbServerStream, LastRectEndsAnOpenUpdate) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(0xFFFF);
  b.rect(0, 0, 1, 1, kEncodingRaw).fill(4);
  b.rect(0, 0, 0, 0, kPseudoLastRect);
  b.u8(kBell);
  auto s = make_stream();
  UnitRun run = testing::delimit<ServerUnit>(s, b.str());
  ASSERT_EQ(run.units.size(), 4u) << run.error.message();
  EXPECT_EQ(run.units[0].rect_count, 0xFFFF);
  EXPECT_FALSE(run.units[1].ends_update);
  EXPECT_EQ(run.units[2].rect.encoding, kPseudoLastRect);
  EXPECT_TRUE(run.units[2].ends_update);
  EXPECT_EQ(run.units[3].kind, ServerUnitKind::bell);
  EXPECT_FALSE(s.in_update());
  delimit_every_way(b.str());
}

TEST(RfbServerStream, EmptyUpdate) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(0).u8(kBell);
  UnitRun run = delimit_every_way(b.str());
  ASSERT_EQ(run.units.size(), 2u);
  EXPECT_TRUE(run.units[0].ends_update);
  EXPECT_EQ(run.units[1].kind, ServerUnitKind::bell);
}

TEST(RfbServerStream, OtherMessages) {
  Bytes b;
  b.u8(kSetColourMapEntries).u8(0).u16(0).u16(3).fill(18);
  b.u8(kBell);
  b.u8(kServerCutText).fill(3, 0).u32(5).raw("hello");
  b.u8(kServerCutText).fill(3, 0).s32(-6).u32(1).u16(7);  // extended clipboard
  b.u8(kEndOfContinuousUpdates);
  b.u8(kServerFence).fill(3, 0).u32(0x80000000).u8(4).fill(4);
  b.u8(kServerXvp).u8(0).u8(1).u8(1);
  b.u8(kServerQemu).u8(kQemuAudio).u16(kQemuAudioBegin);
  b.u8(kServerQemu).u8(kQemuAudio).u16(kQemuAudioData).u32(10).fill(10);
  b.u8(kServerQemu).u8(kQemuAudio).u16(kQemuAudioEnd);
  UnitRun run = delimit_every_way(b.str());
  ASSERT_EQ(run.units.size(), 10u) << run.error.message();
  const std::vector<uint64_t> lengths = {24, 1, 13, 14, 1, 13, 4, 4, 18, 4};
  for (size_t i = 0; i < lengths.size(); ++i) EXPECT_EQ(run.units[i].length, lengths[i]) << i;
  EXPECT_EQ(run.units[2].kind, ServerUnitKind::cut_text);
  EXPECT_EQ(run.units[8].kind, ServerUnitKind::qemu_audio);
  EXPECT_EQ(run.end, b.size());
}

TEST(RfbServerStream, ExtensionMessagesNeedTheirPseudoEncoding) {
  for (uint8_t type : {kEndOfContinuousUpdates, kServerFence, kServerXvp, kServerQemu}) {
    RfbServerStream s(rgb888(), 10, 10);
    const int32_t only_raw[] = {kEncodingRaw};
    s.set_client_encodings(only_raw);
    std::string bytes = Bytes().u8(type).fill(20, 0).str();
    UnitRun run = testing::delimit<ServerUnit>(s, bytes);
    EXPECT_EQ(run.error.code(), Errc::protocol) << int(type);
    EXPECT_NE(run.error.detail().find("without the viewer announcing"), std::string::npos);
  }
}

TEST(RfbServerStream, MalformedMessages) {
  auto error_of = [](const Bytes& b) {
    auto s = make_stream();
    return testing::delimit<ServerUnit>(s, b.str()).error;
  };
  EXPECT_EQ(error_of(Bytes().u8(7)).code(), Errc::protocol);
  EXPECT_NE(error_of(Bytes().u8(7)).detail().find("type 7"), std::string::npos);
  EXPECT_EQ(error_of(Bytes().u8(kServerCutText).fill(3, 0).u32(17u << 20)).code(), Errc::too_large);
  EXPECT_EQ(error_of(Bytes().u8(kServerCutText).fill(3, 0).s32(INT32_MIN)).code(), Errc::too_large);
  EXPECT_EQ(error_of(Bytes().u8(kServerFence).fill(3, 0).u32(0).u8(65)).code(), Errc::protocol);
  EXPECT_EQ(error_of(Bytes().u8(kServerQemu).u8(0).u16(0)).code(), Errc::protocol);
  EXPECT_EQ(error_of(Bytes().u8(kServerQemu).u8(1).u16(9)).code(), Errc::protocol);
}

TEST(RfbServerStream, ErrorsAreSticky) {
  auto s = make_stream();
  ByteChain in("\x07");
  auto first = s.next(in);
  ASSERT_FALSE(first.ok());
  ByteChain bell("\x02");
  auto again = s.next(bell);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().detail(), first.error().detail());
}

TEST(RfbServerStream, LengthIsKnownBeforeTheBodyArrives) {
  // The bridge can forward a long Raw body as it streams in.
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(1).rect(0, 0, 100, 100, kEncodingRaw);
  ByteChain in;
  testing::append_piece(in, b.str());
  auto s = make_stream();
  ASSERT_TRUE(s.next(in, 0)->found());
  auto rect = s.next(in, 4);
  ASSERT_TRUE(rect.ok() && rect->found());
  EXPECT_EQ(rect->unit->length, 12u + 40000);
}

}  // namespace
}  // namespace pvb::rfb
