// How the fake VM's 0xRRGGBB colours become wire pixels in the client's pixel format, and the
// two compact pixel forms of the compressing encodings: Tight's TPIXEL and ZRLE's CPIXEL.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/rfb/pixel_format.h"

namespace pvb {

class PixelPacker {
 public:
  explicit PixelPacker(const PixelFormat& format);

  const PixelFormat& format() const { return format_; }
  size_t pixel_size() const { return pixel_size_; }
  // The pixel's value before byte ordering: each channel scaled to its max and shifted.
  uint32_t value(uint32_t rgb) const;
  // One channel (0 red, 1 green, 2 blue) of a colour, scaled to that channel's max.
  uint32_t channel(uint32_t rgb, int c) const;
  uint32_t channel_max(int c) const;
  uint8_t channel_shift(int c) const;
  // Writes a value() as pixel_size() bytes in the format's byte order.
  void put_value(uint32_t value, uint8_t* out) const;
  void put(uint32_t rgb, uint8_t* out) const { put_value(value(rgb), out); }

  // Tight: 3 bytes R, G, B when the format is true colour, 32 bpp, depth 24 with 8-bit channels
  // (the spec's rule, which QEMU, gtk-vnc and libvncclient agree on for such formats); else a
  // whole pixel.
  bool tight_rgb24() const { return tight_rgb24_; }
  size_t tpixel_size() const { return tight_rgb24_ ? 3 : pixel_size_; }
  void put_tpixel(uint32_t rgb, uint8_t* out) const;

  // ZRLE: 3 bytes when 32 bpp, depth <= 24 and every colour bit lies in the low three or the
  // high three bytes of the pixel (RFC 6143 7.7.6); else a whole pixel.
  size_t cpixel_size() const { return cpixel_size_; }
  void put_cpixel(uint32_t rgb, uint8_t* out) const;

 private:
  PixelFormat format_;
  size_t pixel_size_;
  bool tight_rgb24_;
  size_t cpixel_size_;
  size_t cpixel_offset_ = 0;  // where the CPIXEL's bytes start inside the wire pixel
};

}  // namespace pvb
