// The fake VM's encoders against libvncclient (Debian libvncserver-dev), an independent decoder:
// every encoding, in several pixel formats, over several updates on the same zlib streams, must
// decode to exactly the picture the fake VM holds (JPEG: within a tolerance), and every method of
// each encoder must have run. The same bytes go through pvebridge's delimiter (RfbServerStream),
// which must find each rectangle the encoder wrote and end exactly where the bytes end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rfb/rfbclient.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_stream.h"
#include "engine/rfb/tight.h"
#include "tests/fake_vm/fake_screen.h"
#include "tests/fake_vm/rect_encoder.h"

// libvncclient 0.9.14 (Debian 12) never frees its JPEG decompressor (fixed upstream after
// 0.9.14: LibVNC/libvncserver 7c1a422e "libvncclient: fix possible memory leak"). It exports its
// bundled turbojpeg wrapper, so we free the handle ourselves before rfbClientCleanup.
extern "C" int tjDestroy(void* handle);

namespace pvb {
namespace {

PixelFormat bgr888() {  // libvncclient's own 32-bit format: red in the low byte
  PixelFormat pf;
  pf.red_shift = 0;
  pf.blue_shift = 16;
  return pf;
}

PixelFormat bgr233() {
  PixelFormat pf;
  pf.bits_per_pixel = 8;
  pf.depth = 8;
  pf.red_max = pf.green_max = 7;
  pf.blue_max = 3;
  pf.red_shift = 0;
  pf.green_shift = 3;
  pf.blue_shift = 6;
  return pf;
}

// One FramebufferUpdate of `r` from `fb`.
std::string update(RectEncoder& enc, const Framebuffer& fb, ScreenRect r, size_t* rects) {
  ByteChain body;
  *rects = enc.encode(fb, r, body);
  uint8_t head[4] = {rfb::kFramebufferUpdate, 0, 0, 0};
  put_u16(head + 2, static_cast<uint16_t>(*rects));
  return std::string(reinterpret_cast<char*>(head), 4) + body.to_string();
}

void quiet(const char*, ...) {}

struct Decoded {
  std::string failure;
  std::vector<uint32_t> rgb;  // 0xRRGGBB per pixel, as libvncclient's framebuffer holds it
};

uint32_t unscale(uint32_t v, uint32_t max) {
  return (v * 255 + max / 2) / max;
}

// libvncclient decodes `data` (a stream of server messages after ServerInit) into a w x h
// framebuffer in `pf`; the data is written from another thread, so it may be any size.
Decoded libvncclient_decode(const PixelFormat& pf, uint16_t w, uint16_t h,
                            const std::string& data) {
  rfbClientLog = quiet;
  rfbClientErr = quiet;
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::thread writer([fd = sv[1], &data] {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    shutdown(fd, SHUT_WR);
  });
  rfbClient* c = rfbGetClient(8, 3, 4);
  c->sock = sv[0];
  c->width = w;
  c->height = h;
  c->format.bitsPerPixel = pf.bits_per_pixel;
  c->format.depth = pf.depth;
  c->format.bigEndian = pf.big_endian;
  c->format.trueColour = pf.true_colour;
  c->format.redMax = pf.red_max;
  c->format.greenMax = pf.green_max;
  c->format.blueMax = pf.blue_max;
  c->format.redShift = pf.red_shift;
  c->format.greenShift = pf.green_shift;
  c->format.blueShift = pf.blue_shift;
  c->si.format = c->format;
  c->si.framebufferWidth = w;
  c->si.framebufferHeight = h;
  c->MallocFrameBuffer(c);
  Decoded out;
  // Until the writer has finished and libvncclient has read everything.
  for (;;) {
    if (WaitForMessage(c, 500000) <= 0 && c->buffered == 0) break;
    if (!HandleRFBServerMessage(c)) {
      // End of stream after the last message is how every run ends; anything else is a failure.
      int pending = 0;
      if (recv(sv[0], &pending, 1, MSG_PEEK | MSG_DONTWAIT) != 0)
        out.failure = "libvncclient failed";
      break;
    }
  }
  writer.join();
  const int bytes = pf.bits_per_pixel / 8;
  for (size_t i = 0; i < static_cast<size_t>(c->width) * static_cast<size_t>(c->height); ++i) {
    uint32_t v = 0;
    std::memcpy(&v, c->frameBuffer + i * bytes, static_cast<size_t>(bytes));
    out.rgb.push_back(unscale((v >> pf.red_shift) & pf.red_max, pf.red_max) << 16 |
                      unscale((v >> pf.green_shift) & pf.green_max, pf.green_max) << 8 |
                      unscale((v >> pf.blue_shift) & pf.blue_max, pf.blue_max));
  }
  close(sv[1]);
  free(c->frameBuffer);
  c->frameBuffer = nullptr;
  if (c->tjhnd) tjDestroy(c->tjhnd);
  c->tjhnd = nullptr;
  rfbClientCleanup(c);
  return out;
}

// What a client in `pf` can show of the screen.
std::vector<uint32_t> quantised(const Framebuffer& fb, const PixelFormat& pf) {
  std::vector<uint32_t> out;
  uint8_t pix[4];
  for (uint32_t rgb : fb.pixels()) {
    pf.encode(rgb, pix);
    out.push_back(pf.decode(pix));
  }
  return out;
}

double mean_difference(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  if (a.size() != b.size() || a.empty()) return 1e9;
  uint64_t total = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (int s : {0, 8, 16}) {
      total += static_cast<uint64_t>(std::abs(int((a[i] >> s) & 0xFF) - int((b[i] >> s) & 0xFF)));
    }
  }
  return static_cast<double>(total) / (3.0 * a.size());
}

// Our delimiter over the same bytes: every byte delimited, `rects` rectangles of `encoding`.
void expect_delimited(const PixelFormat& pf, uint16_t w, uint16_t h, const std::string& data,
                      size_t rects, int32_t encoding) {
  rfb::RfbServerStream stream(pf, w, h);
  const int32_t encodings[] = {encoding};
  stream.set_client_encodings(encodings);
  ByteChain in{std::string_view(data)};
  size_t offset = 0, seen = 0;
  while (offset < data.size()) {
    auto r = stream.next(in, offset);
    ASSERT_TRUE(r.ok()) << r.error().message() << " at byte " << offset;
    ASSERT_TRUE(r->found()) << "incomplete unit at byte " << offset;
    if (r->unit->kind == rfb::ServerUnitKind::rect) {
      EXPECT_EQ(r->unit->rect.encoding, encoding);
      ++seen;
    }
    offset += r->unit->length;
  }
  EXPECT_EQ(offset, data.size());
  EXPECT_EQ(seen, rects);
}

struct Case {
  const char* name;
  int32_t encoding;
  PixelFormat format;
  std::optional<int> jpeg_quality;
};

class EncoderAgainstLibvncclient : public ::testing::TestWithParam<Case> {};

TEST_P(EncoderAgainstLibvncclient, DecodesToTheScreen) {
  const Case& c = GetParam();
  RectEncoder enc;
  enc.set_pixel_format(c.format);
  enc.set_encoding(c.encoding);
  enc.set_jpeg_quality(c.jpeg_quality);
  FakeScreen screen(640, 480, "encoders");
  screen.freeze(3);
  // A full update, a full update one tick later (the zlib streams carry on), then a part of the
  // screen at an odd place.
  std::string data;
  size_t rects = 0, n = 0;
  data += update(enc, screen.framebuffer(), {0, 0, 640, 480}, &n);
  rects += n;
  screen.step();
  data += update(enc, screen.framebuffer(), {0, 0, 640, 480}, &n);
  rects += n;
  data += update(enc, screen.framebuffer(), {37, 401, 301, 70}, &n);
  rects += n;

  Decoded d = libvncclient_decode(c.format, 640, 480, data);
  ASSERT_EQ(d.failure, "");
  const std::vector<uint32_t> expected = quantised(screen.framebuffer(), c.format);
  if (c.jpeg_quality) {
    EXPECT_LT(mean_difference(d.rgb, expected), 4.0);
    EXPECT_GT(enc.stats().tight_jpeg, 0u);
  } else {
    ASSERT_EQ(d.rgb.size(), expected.size());
    size_t wrong = 0;
    for (size_t i = 0; i < expected.size(); ++i) wrong += d.rgb[i] != expected[i];
    EXPECT_EQ(wrong, 0u) << "pixels that differ from the fake VM's screen";
  }
  expect_delimited(c.format, 640, 480, data, rects, c.encoding);

  // Every method of the encoder ran on this screen.
  const EncoderStats& s = enc.stats();
  if (c.encoding == rfb::kEncodingHextile) {
    EXPECT_GT(s.hextile_raw, 0u);
    EXPECT_GT(s.hextile_background, 0u);
    EXPECT_GT(s.hextile_same_background, 0u);
    EXPECT_GT(s.hextile_mono, 0u);
    EXPECT_GT(s.hextile_coloured, 0u);
  } else if (c.encoding == rfb::kEncodingZrle) {
    EXPECT_GT(s.zrle_raw, 0u);
    EXPECT_GT(s.zrle_solid, 0u);
    EXPECT_GT(s.zrle_packed_palette, 0u);
    EXPECT_GT(s.zrle_plain_rle, 0u);
    EXPECT_GT(s.zrle_palette_rle, 0u);
  } else if (c.encoding == rfb::kEncodingTight) {
    EXPECT_GT(s.tight_fill, 0u);
    EXPECT_GT(s.tight_mono, 0u);
    EXPECT_GT(s.tight_palette, 0u);
    if (!c.jpeg_quality) {
      EXPECT_GT(s.tight_copy, 0u);
      if (c.format.bits_per_pixel > 8) {
        EXPECT_GT(s.tight_gradient, 0u);
      }
    }
  } else if (c.encoding == rfb::kEncodingZlib) {
    EXPECT_EQ(s.zlib, rects);
  }
}

INSTANTIATE_TEST_SUITE_P(
    FakeVm, EncoderAgainstLibvncclient,
    ::testing::Values(Case{"raw_rgb565", rfb::kEncodingRaw, PixelFormat::rgb565(), {}},
                      Case{"hextile_rgb888", rfb::kEncodingHextile, PixelFormat::rgb888(), {}},
                      Case{"hextile_rgb565", rfb::kEncodingHextile, PixelFormat::rgb565(), {}},
                      Case{"hextile_bgr233", rfb::kEncodingHextile, bgr233(), {}},
                      Case{"zlib_bgr888", rfb::kEncodingZlib, bgr888(), {}},
                      Case{"zlib_rgb565", rfb::kEncodingZlib, PixelFormat::rgb565(), {}},
                      Case{"zrle_rgb888", rfb::kEncodingZrle, PixelFormat::rgb888(), {}},
                      Case{"zrle_bgr888", rfb::kEncodingZrle, bgr888(), {}},
                      Case{"zrle_rgb565", rfb::kEncodingZrle, PixelFormat::rgb565(), {}},
                      Case{"zrle_bgr233", rfb::kEncodingZrle, bgr233(), {}},
                      Case{"tight_rgb888", rfb::kEncodingTight, PixelFormat::rgb888(), {}},
                      Case{"tight_bgr888", rfb::kEncodingTight, bgr888(), {}},
                      Case{"tight_rgb565", rfb::kEncodingTight, PixelFormat::rgb565(), {}},
                      Case{"tight_bgr233", rfb::kEncodingTight, bgr233(), {}},
                      Case{"tight_jpeg_rgb888", rfb::kEncodingTight, PixelFormat::rgb888(), 5},
                      Case{"tight_jpeg_rgb565", rfb::kEncodingTight, PixelFormat::rgb565(), 9}),
    [](const auto& info) { return std::string(info.param.name); });

// A reset of Tight's zlib streams between updates: the control bytes say so, and libvncclient,
// resetting its inflaters as told, still decodes every pixel.
TEST(TightStreamReset, ResetBitsKeepTheClientInStep) {
  RectEncoder enc;
  enc.set_encoding(rfb::kEncodingTight);
  FakeScreen screen(640, 480, "reset");
  screen.freeze(1);
  size_t n = 0;
  std::string first = update(enc, screen.framebuffer(), {0, 0, 640, 480}, &n);
  EXPECT_EQ(enc.stats().tight_resets, 0u) << "no reset unless asked: as QEMU";
  enc.reset_tight_streams();
  screen.step();
  std::string second = update(enc, screen.framebuffer(), {0, 0, 640, 480}, &n);
  EXPECT_GE(enc.stats().tight_resets, 3u);  // streams 0 (copy), 1 (mono), 2 (palette), 3 (gradient)
  EXPECT_LE(enc.stats().tight_resets, 4u);

  // The delimiter sees the reset bits exactly once per stream.
  rfb::RfbServerStream stream(PixelFormat::rgb888(), 640, 480);
  ByteChain in{std::string_view(second)};
  uint8_t reset_bits = 0;
  int resets = 0;
  for (size_t offset = 0; offset < second.size();) {
    auto r = stream.next(in, offset);
    ASSERT_TRUE(r.ok() && r->found());
    if (r->unit->kind == rfb::ServerUnitKind::rect) {
      const uint8_t bits = r->unit->info.tight.control & 0x0F;
      EXPECT_EQ(bits & reset_bits, 0) << "a stream reset twice";
      reset_bits |= bits;
      resets += __builtin_popcount(bits);
    }
    offset += r->unit->length;
  }
  EXPECT_EQ(static_cast<uint64_t>(resets), enc.stats().tight_resets);

  Decoded d = libvncclient_decode(PixelFormat::rgb888(), 640, 480, first + second);
  ASSERT_EQ(d.failure, "");
  EXPECT_EQ(d.rgb, quantised(screen.framebuffer(), PixelFormat::rgb888()));
}

// A reconnect as the bridge splices it (issue 14): the viewer's inflaters are in step with
// connection A, while the fake VM behind connection B starts fresh deflaters. The bridge sets
// Tight's reset bit on the first rectangle of each stream after the reconnect
// (rfb::set_tight_stream_resets, found with RfbServerStream); libvncclient then decodes B's
// updates exactly. Without the bits it goes out of step, and so it does for ZRLE, which has no
// reset: why the bridge leaves ZRLE and Zlib out after a reconnect.
std::string spliced(int32_t encoding, bool set_resets, FakeScreen& screen) {
  RectEncoder a, b;
  a.set_encoding(encoding);
  b.set_encoding(encoding);
  size_t n = 0;
  std::string before = update(a, screen.framebuffer(), {0, 0, 640, 480}, &n);
  screen.step();
  before += update(a, screen.framebuffer(), {0, 0, 640, 480}, &n);
  screen.step();
  ByteChain after{std::string_view(update(b, screen.framebuffer(), {0, 0, 640, 480}, &n))};
  if (set_resets) {
    rfb::RfbServerStream stream(PixelFormat::rgb888(), 640, 480);
    uint8_t reset = 0;
    for (size_t offset = 0; offset < after.size();) {
      auto r = stream.next(after, offset);
      EXPECT_TRUE(r.ok() && r->found());
      if (!r.ok() || !r->found()) break;
      const int8_t id = r->unit->info.tight.zlib_stream;
      if (r->unit->kind == rfb::ServerUnitKind::rect && id >= 0 && !(reset & (1 << id))) {
        rfb::set_tight_stream_resets(after, offset + 12, static_cast<uint8_t>(1 << id));
        reset = static_cast<uint8_t>(reset | 1 << id);
      }
      offset += r->unit->length;
    }
    EXPECT_GE(reset, 0x07) << "streams 0-2 at least were in use";
  }
  return before + after.to_string();
}

TEST(SplicedReconnect, TightResetBitsKeepTheViewerInStep) {
  FakeScreen screen(640, 480, "splice");
  screen.freeze(1);
  const std::string fixed = spliced(rfb::kEncodingTight, true, screen);
  Decoded d = libvncclient_decode(PixelFormat::rgb888(), 640, 480, fixed);
  ASSERT_EQ(d.failure, "");
  EXPECT_EQ(d.rgb, quantised(screen.framebuffer(), PixelFormat::rgb888()));

  screen.freeze(1);
  const std::string broken = spliced(rfb::kEncodingTight, false, screen);
  Decoded out_of_step = libvncclient_decode(PixelFormat::rgb888(), 640, 480, broken);
  EXPECT_TRUE(!out_of_step.failure.empty() ||
              out_of_step.rgb != quantised(screen.framebuffer(), PixelFormat::rgb888()))
      << "without reset bits the fresh deflaters cannot be read with the old inflaters";
}

TEST(SplicedReconnect, ZrleCannotBeSplicedAcrossConnections) {
  FakeScreen screen(640, 480, "splice");
  screen.freeze(1);
  Decoded d = libvncclient_decode(PixelFormat::rgb888(), 640, 480,
                                  spliced(rfb::kEncodingZrle, false, screen));
  EXPECT_TRUE(!d.failure.empty() ||
              d.rgb != quantised(screen.framebuffer(), PixelFormat::rgb888()));
}

}  // namespace
}  // namespace pvb
