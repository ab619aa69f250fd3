// The fake VM's encoders byte by byte on small pictures (the wire formats of rfbproto), its pixel
// packing, the choice of encoding from SetEncodings, and the screen that changes every tick.
// (encoders_libvncclient_test.cc decodes whole screens with an independent implementation.)
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/rfb_wire.h"
#include "tests/fake_vm/fake_screen.h"
#include "tests/fake_vm/fake_vm_screens.h"
#include "tests/fake_vm/pixel_packer.h"
#include "tests/fake_vm/rect_encoder.h"
#include "tests/vnc_check/ppm.h"

namespace pvb {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes to_bytes(const ByteChain& c) {
  std::string s = c.to_string();
  return Bytes(s.begin(), s.end());
}

// Inflates one zlib stream's worth of rectangles (a client keeps the inflater across them).
class Inflater {
 public:
  Inflater() { inflateInit(&z_); }
  ~Inflater() { inflateEnd(&z_); }
  Bytes inflate_all(const uint8_t* in, size_t n) {
    Bytes out(1 << 20);
    z_.next_in = const_cast<uint8_t*>(in);
    z_.avail_in = static_cast<uInt>(n);
    z_.next_out = out.data();
    z_.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&z_, Z_SYNC_FLUSH), Z_OK);
    EXPECT_EQ(z_.avail_in, 0u);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

Framebuffer solid(uint16_t w, uint16_t h, uint32_t rgb) {
  Framebuffer fb(w, h);
  fb.fill_rect(0, 0, w, h, rgb);
  return fb;
}

std::unique_ptr<RectEncoder> encoder(int32_t encoding,
                                     const PixelFormat& pf = PixelFormat::rgb888()) {
  auto e = std::make_unique<RectEncoder>();
  e->set_pixel_format(pf);
  e->set_encoding(encoding);
  return e;
}

void expect_header(const Bytes& b, size_t at, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
                   int32_t encoding) {
  ASSERT_GE(b.size(), at + 12);
  EXPECT_EQ(get_u16(&b[at]), x);
  EXPECT_EQ(get_u16(&b[at + 2]), y);
  EXPECT_EQ(get_u16(&b[at + 4]), w);
  EXPECT_EQ(get_u16(&b[at + 6]), h);
  EXPECT_EQ(get_s32(&b[at + 8]), encoding);
}

TEST(PixelPacker, TightAndZrleCompactPixels) {
  const PixelPacker rgb888(PixelFormat::rgb888());
  uint8_t out[4] = {};
  rgb888.put_tpixel(0x123456, out);
  EXPECT_EQ(rgb888.tpixel_size(), 3u);
  EXPECT_EQ(Bytes(out, out + 3), (Bytes{0x12, 0x34, 0x56}));  // R, G, B whatever the shifts
  EXPECT_EQ(rgb888.cpixel_size(), 3u);
  rgb888.put_cpixel(0x123456, out);
  EXPECT_EQ(Bytes(out, out + 3), (Bytes{0x56, 0x34, 0x12}));  // the low 3 bytes, little-endian

  PixelFormat be = PixelFormat::rgb888();
  be.big_endian = true;
  const PixelPacker big(be);
  big.put_cpixel(0x123456, out);
  EXPECT_EQ(Bytes(out, out + 3), (Bytes{0x12, 0x34, 0x56}));  // the low 3 bytes, big-endian

  PixelFormat high = PixelFormat::rgb888();  // colours in the high three bytes
  high.red_shift = 24;
  high.green_shift = 16;
  high.blue_shift = 8;
  const PixelPacker up(high);
  EXPECT_EQ(up.cpixel_size(), 3u);
  up.put_cpixel(0x123456, out);
  EXPECT_EQ(Bytes(out, out + 3), (Bytes{0x56, 0x34, 0x12}));

  PixelFormat deep = PixelFormat::rgb888();
  deep.depth = 32;
  EXPECT_EQ(PixelPacker(deep).tpixel_size(), 4u);  // depth 32: whole pixels
  const PixelPacker rgb565(PixelFormat::rgb565());
  EXPECT_EQ(rgb565.tpixel_size(), 2u);
  EXPECT_EQ(rgb565.cpixel_size(), 2u);
  rgb565.put_tpixel(0xFF0000, out);
  EXPECT_EQ(Bytes(out, out + 2), (Bytes{0x00, 0xF8}));
}

TEST(RectEncoder, PicksTheFirstImplementedEncodingLikeQemu) {
  RectEncoder e;
  const int32_t list[] = {rfb::kPseudoRichCursor, rfb::kEncodingCopyRect, rfb::kEncodingRre,
                          rfb::kEncodingZrle,     rfb::kEncodingTight,    rfb::kEncodingRaw};
  e.set_client_encodings(list);
  EXPECT_EQ(e.encoding(), rfb::kEncodingZrle);
  const int32_t none[] = {rfb::kEncodingCopyRect, rfb::kPseudoDesktopSize};
  e.set_client_encodings(none);
  EXPECT_EQ(e.encoding(), rfb::kEncodingRaw);

  // A quality level turns on JPEG for many-coloured tiles; without one there is none.
  Framebuffer noise = FakeScreen::render(640, 480, "q", 1);
  const ScreenRect strip = FakeScreen::activity_area(640, 480);
  const int32_t tight_jpeg[] = {rfb::kEncodingTight, rfb::kPseudoQualityLevel0 + 5};
  e.set_client_encodings(tight_jpeg);
  ByteChain out;
  e.encode(noise, strip, out);
  EXPECT_GT(e.stats().tight_jpeg, 0u);
  RectEncoder lossless;
  const int32_t tight[] = {rfb::kEncodingTight};
  lossless.set_client_encodings(tight);
  lossless.encode(noise, strip, out);
  EXPECT_EQ(lossless.stats().tight_jpeg, 0u);
}

TEST(Hextile, SolidTilesThenTheSameBackground) {
  auto e = encoder(rfb::kEncodingHextile);
  ByteChain out;
  EXPECT_EQ(e->encode(solid(32, 16, 0x102030), {0, 0, 32, 16}, out), 1u);
  const Bytes b = to_bytes(out);
  expect_header(b, 0, 0, 0, 32, 16, rfb::kEncodingHextile);
  // Tile 1: background specified (little-endian 0x00102030); tile 2: the same background.
  EXPECT_EQ(Bytes(b.begin() + 12, b.end()), (Bytes{2, 0x30, 0x20, 0x10, 0x00, 0}));
}

TEST(Hextile, OneForegroundPixelIsAMonoSubrect) {
  Framebuffer fb = solid(16, 16, 0x000000);
  fb.fill_rect(3, 5, 2, 1, 0xFFFFFF);
  auto e = encoder(rfb::kEncodingHextile, PixelFormat::rgb565());
  ByteChain out;
  e->encode(fb, {0, 0, 16, 16}, out);
  const Bytes b = to_bytes(out);
  // bg | fg | any subrects; bg, fg (16 bpp), 1 subrect at (3,5) of 2x1.
  EXPECT_EQ(Bytes(b.begin() + 12, b.end()),
            (Bytes{2 | 4 | 8, 0x00, 0x00, 0xFF, 0xFF, 1, 0x35, 0x10}));
  EXPECT_EQ(e->stats().hextile_mono, 1u);
}

TEST(Zrle, SolidTileIsOneCpixel) {
  auto e = encoder(rfb::kEncodingZrle);
  ByteChain out;
  e->encode(solid(64, 64, 0xABCDEF), {0, 0, 64, 64}, out);
  const Bytes b = to_bytes(out);
  expect_header(b, 0, 0, 0, 64, 64, rfb::kEncodingZrle);
  const uint32_t length = get_u32(&b[12]);
  ASSERT_EQ(b.size(), 16u + length);
  Inflater z;
  EXPECT_EQ(z.inflate_all(&b[16], length), (Bytes{1, 0xEF, 0xCD, 0xAB}));
}

TEST(Zrle, TwoColoursPackOneBitAPixelAndRunsCrossRows) {
  Framebuffer fb(8, 2);
  for (int x = 0; x < 8; x += 2) fb.fill_rect(x, 0, 1, 2, 0xFFFFFF);  // columns: W B W B ...
  auto e = encoder(rfb::kEncodingZrle);
  ByteChain out;
  e->encode(fb, {0, 0, 8, 2}, out);
  Bytes b = to_bytes(out);
  Inflater z;
  // Packed palette of 2: white first (first seen), then black; rows 10101010.
  EXPECT_EQ(z.inflate_all(&b[16], get_u32(&b[12])),
            (Bytes{2, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x55, 0x55}));

  // Long runs: plain RLE (or palette RLE) beats raw; the second rectangle continues the stream.
  Framebuffer halves = solid(64, 4, 0x112233);
  halves.fill_rect(0, 2, 64, 2, 0x445566);
  ByteChain more;
  e->encode(halves, {0, 0, 64, 4}, more);
  b = to_bytes(more);
  const Bytes tile = z.inflate_all(&b[16], get_u32(&b[12]));
  // Plain RLE, the smallest here (8 bytes; palette RLE would take 11): each colour for 128
  // pixels, a run length of 128 written as 127.
  EXPECT_EQ(tile, (Bytes{128, 0x33, 0x22, 0x11, 127, 0x66, 0x55, 0x44, 127}));
  EXPECT_EQ(e->stats().zrle_plain_rle, 1u);
}

TEST(Tight, FillIsOneTpixel) {
  auto e = encoder(rfb::kEncodingTight);
  ByteChain out;
  EXPECT_EQ(e->encode(solid(100, 50, 0x0A0B0C), {0, 0, 100, 50}, out), 1u);
  const Bytes b = to_bytes(out);
  expect_header(b, 0, 0, 0, 100, 50, rfb::kEncodingTight);
  EXPECT_EQ(Bytes(b.begin() + 12, b.end()), (Bytes{0x80, 0x0A, 0x0B, 0x0C}));
}

TEST(Tight, SmallPaletteDataGoesRawAndTilesAre128x64) {
  Framebuffer fb = solid(4, 2, 0x000000);
  fb.fill_rect(0, 0, 1, 2, 0xFFFFFF);
  auto e = encoder(rfb::kEncodingTight);
  ByteChain out;
  e->encode(fb, {0, 0, 4, 2}, out);
  const Bytes b = to_bytes(out);
  // Stream 1 with a filter; palette filter; 2 colours (white first seen); 2 bytes of bits raw:
  // each row 0111 (black is index 1), padded to a byte.
  EXPECT_EQ(Bytes(b.begin() + 12, b.end()),
            (Bytes{0x50, 1, 1, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x70, 0x70}));
  EXPECT_EQ(e->stats().tight_raw_data, 1u);

  ByteChain tiles;
  EXPECT_EQ(e->encode(solid(300, 100, 1), {0, 0, 300, 100}, tiles), 6u);  // 3 x 2 tiles
}

TEST(Tight, NoiseIsCopiedWithAThreeByteCompactLength) {
  Framebuffer fb(128, 64);
  uint32_t seed = 1;
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 128; ++x) {
      seed = seed * 1103515245 + 12345;
      fb.fill_rect(x, y, 1, 1, seed >> 8 & 0xFFFFFF);
    }
  }
  auto e = encoder(rfb::kEncodingTight);
  ByteChain out;
  e->encode(fb, {0, 0, 128, 64}, out);
  const Bytes b = to_bytes(out);
  ASSERT_GT(b.size(), 16u);
  EXPECT_EQ(b[12], 0x00);  // stream 0, no filter byte: copy
  ASSERT_TRUE(b[13] & 0x80);
  ASSERT_TRUE(b[14] & 0x80);
  const size_t length = (b[13] & 0x7F) | (b[14] & 0x7F) << 7 | size_t{b[15]} << 14;
  EXPECT_GE(length, 16384u);
  EXPECT_EQ(b.size(), 16u + length);
  Inflater z;
  EXPECT_EQ(z.inflate_all(&b[16], length).size(), 128u * 64 * 3);
}

TEST(FakeScreen, TicksChangeOnlyTheActivityStrip) {
  const ScreenRect strip = FakeScreen::activity_area(640, 480);
  EXPECT_EQ(strip.y + strip.h, 480);
  EXPECT_GT(strip.h, 20);
  const Framebuffer a = FakeScreen::render(640, 480, "vm", 1);
  const Framebuffer b = FakeScreen::render(640, 480, "vm", 2);
  size_t changed = 0;
  for (int y = 0; y < 480; ++y) {
    for (int x = 0; x < 640; ++x) {
      if (a.at(x, y) != b.at(x, y)) {
        ++changed;
        EXPECT_GE(y, strip.y) << "outside the strip at " << x << "," << y;
      }
    }
  }
  EXPECT_GT(changed, 1000u);
  EXPECT_EQ(FakeScreen::render(640, 480, "vm", 1).pixels(), a.pixels()) << "deterministic";
  EXPECT_TRUE(FakeScreen::activity_area(40, 30).empty());

  FakeScreen screen(640, 480, "vm", 1000);
  EXPECT_FALSE(screen.refresh(5000));  // starts tick 0
  EXPECT_FALSE(screen.refresh(5999));
  EXPECT_TRUE(screen.refresh(7000));
  EXPECT_EQ(screen.tick(), 2u);
  EXPECT_EQ(screen.framebuffer().pixels(), b.pixels());
  screen.freeze(7);
  EXPECT_FALSE(screen.refresh(100000));
  EXPECT_EQ(screen.tick(), 7u);
  screen.step();
  EXPECT_EQ(screen.tick(), 8u);
  const uint64_t generation = screen.size_generation();
  screen.resize(800, 600);
  EXPECT_EQ(screen.size_generation(), generation + 1);
  EXPECT_EQ(screen.framebuffer().pixels(), FakeScreen::render(800, 600, "vm", 8).pixels());
}

TEST(FakeScreen, DumpsAPpmAtomically) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pvb-fake-screen-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  FakeScreen screen(64, 60, "ppm");
  screen.freeze(3);
  const std::string path = (dir / "screen.ppm").string();
  ASSERT_TRUE(screen.write_ppm(path).ok());
  std::string error;
  std::optional<RgbImage> image = read_ppm(path, &error);
  ASSERT_TRUE(image) << error;
  ASSERT_EQ(image->width, 64);
  ASSERT_EQ(image->height, 60);
  for (int i : {0, 64 * 30 + 7, 64 * 60 - 1}) {
    const uint32_t p = screen.framebuffer().pixels()[static_cast<size_t>(i)];
    EXPECT_EQ(image->rgb[3 * i], p >> 16 & 0xFF);
    EXPECT_EQ(image->rgb[3 * i + 1], p >> 8 & 0xFF);
    EXPECT_EQ(image->rgb[3 * i + 2], p & 0xFF);
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1)
      << "no temporary file left behind";
  EXPECT_FALSE(screen.write_ppm((dir / "missing" / "x.ppm").string()).ok());
  std::filesystem::remove_all(dir);
}

TEST(FakeVmScreens, OnePerGuestFrozenSteppedAndDumped) {
  FakeVmScreens screens;
  screens.set_freeze_at(4);
  auto a = screens.screen(100, "web", 64, 60);
  EXPECT_EQ(screens.screen(100, "other", 10, 10), a) << "the first call decides";
  auto b = screens.screen(101, "db", 80, 60);
  EXPECT_EQ(screens.find(102), nullptr);
  EXPECT_EQ(a->tick(), 4u);
  screens.step_all();
  EXPECT_EQ(a->tick(), 5u);
  EXPECT_EQ(b->tick(), 5u);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pvb-fake-screens-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(screens.dump_all(dir.string(), 0).ok());
  std::string error;
  auto web = read_ppm((dir / "100.ppm").string(), &error);
  auto db = read_ppm((dir / "101.ppm").string(), &error);
  ASSERT_TRUE(web && db) << error;
  EXPECT_EQ(web->width, 64);
  EXPECT_EQ(db->width, 80);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pvb
