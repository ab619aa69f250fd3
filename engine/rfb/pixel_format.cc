#include "engine/rfb/pixel_format.h"

#include "engine/rfb/big_endian.h"

namespace pvb {

PixelFormat PixelFormat::rgb565() {
  PixelFormat pf;
  pf.bits_per_pixel = 16;
  pf.depth = 16;
  pf.red_max = 31;
  pf.green_max = 63;
  pf.blue_max = 31;
  pf.red_shift = 11;
  pf.green_shift = 5;
  pf.blue_shift = 0;
  return pf;
}

void PixelFormat::write(uint8_t out[kWireLength]) const {
  out[0] = bits_per_pixel;
  out[1] = depth;
  out[2] = big_endian ? 1 : 0;
  out[3] = true_colour ? 1 : 0;
  put_u16(out + 4, red_max);
  put_u16(out + 6, green_max);
  put_u16(out + 8, blue_max);
  out[10] = red_shift;
  out[11] = green_shift;
  out[12] = blue_shift;
  out[13] = out[14] = out[15] = 0;  // padding
}

PixelFormat PixelFormat::read(const uint8_t in[kWireLength]) {
  PixelFormat pf;
  pf.bits_per_pixel = in[0];
  pf.depth = in[1];
  pf.big_endian = in[2] != 0;
  pf.true_colour = in[3] != 0;
  pf.red_max = get_u16(in + 4);
  pf.green_max = get_u16(in + 6);
  pf.blue_max = get_u16(in + 8);
  pf.red_shift = in[10];
  pf.green_shift = in[11];
  pf.blue_shift = in[12];
  return pf;
}

std::optional<std::string> PixelFormat::unsupported_reason() const {
  if (bits_per_pixel != 8 && bits_per_pixel != 16 && bits_per_pixel != 32) {
    return "bits-per-pixel " + std::to_string(bits_per_pixel) + " (RFB allows 8, 16, 32)";
  }
  if (!true_colour) return std::string("colour-map pixel formats are not supported");
  // Every channel must fit in the pixel where its shift puts it.
  struct Channel {
    uint16_t max;
    uint8_t shift;
  };
  for (Channel c : {Channel{red_max, red_shift}, Channel{green_max, green_shift},
                    Channel{blue_max, blue_shift}}) {
    if (c.max == 0 || c.shift >= bits_per_pixel ||
        (uint64_t{c.max} << c.shift) >= (uint64_t{1} << bits_per_pixel)) {
      return std::string("a colour channel does not fit in the pixel");
    }
  }
  return std::nullopt;
}

namespace {
uint32_t scale_channel(uint32_t value8, uint16_t max) {
  return (value8 * max + 127) / 255;
}
uint32_t unscale_channel(uint32_t value, uint16_t max) {
  return (value * 255 + max / 2) / max;
}
}  // namespace

void PixelFormat::encode(uint32_t rgb, uint8_t* out) const {
  uint32_t v = scale_channel((rgb >> 16) & 0xFF, red_max) << red_shift |
               scale_channel((rgb >> 8) & 0xFF, green_max) << green_shift |
               scale_channel(rgb & 0xFF, blue_max) << blue_shift;
  const size_t n = bytes_per_pixel();
  for (size_t i = 0; i < n; ++i) {
    size_t byte = big_endian ? n - 1 - i : i;
    out[byte] = static_cast<uint8_t>(v >> (8 * i));
  }
}

uint32_t PixelFormat::decode(const uint8_t* in) const {
  const size_t n = bytes_per_pixel();
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t byte = big_endian ? n - 1 - i : i;
    v |= uint32_t{in[byte]} << (8 * i);
  }
  uint32_t r = unscale_channel((v >> red_shift) & red_max, red_max);
  uint32_t g = unscale_channel((v >> green_shift) & green_max, green_max);
  uint32_t b = unscale_channel((v >> blue_shift) & blue_max, blue_max);
  return r << 16 | g << 8 | b;
}

}  // namespace pvb
