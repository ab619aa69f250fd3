// RectEncoder: turns a region of the fake VM's screen into FramebufferUpdate rectangles in the
// encoding the client asked for, the way QEMU's VNC server does: the first encoding of the
// client's SetEncodings list that it implements (Tight, ZRLE, Hextile, Zlib, Raw), Raw when none.
// One per connection: Zlib, ZRLE and Tight keep zlib streams alive across updates, in step with
// that client's inflaters.
//
// Each encoder chooses among its own methods per tile by content, so a screen with solid areas,
// few-colour text, smooth gradients and noise makes every path run:
//   Hextile (16x16 tiles): background only (or the same background again), one-colour subrects,
//     coloured subrects, raw.
//   ZRLE (64x64 tiles, one deflate stream): solid, packed palette, plain RLE, palette RLE, raw.
//   Zlib: the rectangle's raw pixels through one deflate stream.
//   Tight (128x64 tiles): fill; palette of 2 (1 bit per pixel, stream 1) or up to 16 colours
//     (stream 2); gradient filter (stream 3) for smooth areas; copy (stream 0) otherwise; JPEG
//     instead of gradient and copy when the client sent a quality level (-32..-23) and the
//     format has more than 8 bits per pixel, as QEMU does. Data under 12 bytes goes raw.
//     reset_tight_streams() makes the next rectangle on each stream reset it (control bits 0-3).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/rfb/pixel_format.h"
#include "tests/fake_vm/framebuffer.h"

namespace pvb {

struct ScreenRect {
  uint16_t x = 0, y = 0, w = 0, h = 0;
  bool empty() const { return w == 0 || h == 0; }
};

// How often each method ran (tests check that every path was exercised).
struct EncoderStats {
  uint64_t rects = 0;
  uint64_t hextile_raw = 0, hextile_background = 0, hextile_same_background = 0, hextile_mono = 0,
           hextile_coloured = 0;
  uint64_t zrle_raw = 0, zrle_solid = 0, zrle_packed_palette = 0, zrle_plain_rle = 0,
           zrle_palette_rle = 0;
  uint64_t tight_fill = 0, tight_mono = 0, tight_palette = 0, tight_gradient = 0, tight_copy = 0,
           tight_jpeg = 0, tight_raw_data = 0, tight_resets = 0;
  uint64_t zlib = 0, raw = 0;
};

class RectEncoder {
 public:
  RectEncoder();
  ~RectEncoder();
  RectEncoder(const RectEncoder&) = delete;
  RectEncoder& operator=(const RectEncoder&) = delete;

  void set_pixel_format(const PixelFormat& format);
  // The client's SetEncodings list: picks the pixel encoding, the JPEG quality and zlib level.
  void set_client_encodings(std::span<const int32_t> encodings);
  // Forces an encoding (tests); must be one of the five.
  void set_encoding(int32_t encoding) { encoding_ = encoding; }
  void set_jpeg_quality(std::optional<int> quality_level) { quality_level_ = quality_level; }

  int32_t encoding() const { return encoding_; }
  const PixelFormat& pixel_format() const { return format_; }
  const EncoderStats& stats() const { return stats_; }

  // Appends the rectangles (12-byte header and body each) that cover `r` (inside the screen) and
  // returns how many there are.
  size_t encode(const Framebuffer& fb, ScreenRect r, ByteChain& out);

  // The next Tight rectangle that uses each zlib stream resets it first and says so.
  void reset_tight_streams();

  // The encodings this server implements, in no particular order.
  static bool implemented(int32_t encoding);

 private:
  struct Zlib;
  size_t encode_raw(const Framebuffer& fb, ScreenRect r, ByteChain& out);
  size_t encode_hextile(const Framebuffer& fb, ScreenRect r, ByteChain& out);
  size_t encode_zlib(const Framebuffer& fb, ScreenRect r, ByteChain& out);
  size_t encode_zrle(const Framebuffer& fb, ScreenRect r, ByteChain& out);
  size_t encode_tight(const Framebuffer& fb, ScreenRect r, ByteChain& out);

  PixelFormat format_;
  int32_t encoding_ = 0;
  std::optional<int> quality_level_;  // 0..9 from -32..-23
  int zlib_level_ = 6;                // from -256..-247
  std::unique_ptr<Zlib> zlib_stream_, zrle_stream_;
  std::unique_ptr<Zlib> tight_streams_[4];
  uint8_t tight_pending_resets_ = 0;
  EncoderStats stats_;
};

// Appends bytes we generated to a chain (reserve/commit: not counted as a payload copy).
void append_generated(ByteChain& out, const uint8_t* data, size_t n);
// A rectangle header: x, y, w, h, encoding.
void append_rect_header(ByteChain& out, ScreenRect r, int32_t encoding);

}  // namespace pvb
