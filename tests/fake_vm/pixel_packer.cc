#include "tests/fake_vm/pixel_packer.h"

namespace pvb {

PixelPacker::PixelPacker(const PixelFormat& format)
    : format_(format), pixel_size_(format.bytes_per_pixel()) {
  const bool maxes_255 = format.red_max == 255 && format.green_max == 255 && format.blue_max == 255;
  tight_rgb24_ =
      format.true_colour && format.bits_per_pixel == 32 && format.depth == 24 && maxes_255;
  cpixel_size_ = pixel_size_;
  if (format.true_colour && format.bits_per_pixel == 32 && format.depth <= 24) {
    const uint32_t all = uint32_t{format.red_max} << format.red_shift |
                         uint32_t{format.green_max} << format.green_shift |
                         uint32_t{format.blue_max} << format.blue_shift;
    if ((all & 0xFF000000u) == 0) {
      // The low three bytes: first on the wire when little-endian, last when big-endian.
      cpixel_size_ = 3;
      cpixel_offset_ = format.big_endian ? 1 : 0;
    } else if ((all & 0xFFu) == 0) {
      cpixel_size_ = 3;
      cpixel_offset_ = format.big_endian ? 0 : 1;
    }
  }
}

uint32_t PixelPacker::channel_max(int c) const {
  return c == 0 ? format_.red_max : c == 1 ? format_.green_max : format_.blue_max;
}

uint8_t PixelPacker::channel_shift(int c) const {
  return c == 0 ? format_.red_shift : c == 1 ? format_.green_shift : format_.blue_shift;
}

uint32_t PixelPacker::channel(uint32_t rgb, int c) const {
  const uint32_t v8 = (rgb >> (16 - 8 * c)) & 0xFF;
  // The same rounding as PixelFormat::encode, so every path gives the same pixel.
  return (v8 * channel_max(c) + 127) / 255;
}

uint32_t PixelPacker::value(uint32_t rgb) const {
  return channel(rgb, 0) << format_.red_shift | channel(rgb, 1) << format_.green_shift |
         channel(rgb, 2) << format_.blue_shift;
}

void PixelPacker::put_value(uint32_t v, uint8_t* out) const {
  const size_t n = pixel_size_;
  for (size_t i = 0; i < n; ++i) {
    const size_t byte = format_.big_endian ? n - 1 - i : i;
    out[byte] = static_cast<uint8_t>(v >> (8 * i));
  }
}

void PixelPacker::put_tpixel(uint32_t rgb, uint8_t* out) const {
  if (tight_rgb24_) {
    out[0] = static_cast<uint8_t>(rgb >> 16);
    out[1] = static_cast<uint8_t>(rgb >> 8);
    out[2] = static_cast<uint8_t>(rgb);
    return;
  }
  put(rgb, out);
}

void PixelPacker::put_cpixel(uint32_t rgb, uint8_t* out) const {
  if (cpixel_size_ == pixel_size_) {
    put(rgb, out);
    return;
  }
  uint8_t whole[4];
  put(rgb, whole);
  for (size_t i = 0; i < 3; ++i) out[i] = whole[cpixel_offset_ + i];
}

}  // namespace pvb
