#include "engine/rfb/tight.h"

#include <string>

#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {
namespace {

// A compact length at body offset `at`: its value and how many bytes it took; bytes == 0 means
// the body must first hold `need` bytes (exactly the next byte, never more: a caller waits for
// `need` bytes, and asking for more than the rectangle has could stall an idle stream).
struct Compact {
  uint32_t value = 0;
  size_t bytes = 0;
  size_t need = 0;
};

Compact read_compact(const ChainView& body, size_t at) {
  Compact c;
  for (size_t i = 0; i < 3; ++i) {
    if (!body.has(at + i + 1)) return Compact{0, 0, at + i + 1};
    uint8_t b = body.u8(at + i);
    if (i < 2) {
      c.value |= uint32_t{b & 0x7Fu} << (7 * i);
      if ((b & 0x80) == 0) {
        c.bytes = i + 1;
        return c;
      }
    } else {
      c.value |= uint32_t{b} << 14;  // the third byte carries 8 bits
      c.bytes = 3;
    }
  }
  return c;
}

Error tight_error(std::string detail) {
  return Error(Errc::protocol, "Tight rectangle: " + detail);
}

}  // namespace

std::optional<size_t> tight_pixel_size(const PixelFormat& pf) {
  const bool maxes_255 = pf.red_max == 255 && pf.green_max == 255 && pf.blue_max == 255;
  const size_t bpp = pf.bits_per_pixel / 8;
  const size_t spec =
      pf.true_colour && pf.bits_per_pixel == 32 && pf.depth == 24 && maxes_255 ? 3 : bpp;
  const size_t qemu = pf.bits_per_pixel == 32 && maxes_255 ? 3 : bpp;
  const size_t gtk_vnc = pf.depth == 24 ? 3 : bpp;
  const size_t libvncclient = pf.bits_per_pixel == 32 && pf.depth == 24 && maxes_255 ? 3 : bpp;
  if (spec != qemu || spec != gtk_vnc || spec != libvncclient) return std::nullopt;
  return spec;
}

Result<BodyLength> tight_body_length(uint16_t w, uint16_t h, const PixelFormat& pf,
                                     const ChainView& body, TightRectInfo* info) {
  auto tpixel_or = tight_pixel_size(pf);
  if (!tpixel_or) {
    return tight_error("the pixel format (" + std::to_string(pf.bits_per_pixel) + " bpp, depth " +
                       std::to_string(pf.depth) +
                       ") makes the Tight pixel size ambiguous between QEMU and viewers");
  }
  const uint64_t tpixel = *tpixel_or;
  if (!body.has(1)) return BodyLength::need(1);
  const uint8_t control = body.u8(0);
  const uint8_t method = control >> 4;
  if (info) {
    info->control = control;
    info->zlib_stream = -1;
  }
  if (method == kTightFill) return BodyLength::exactly(1 + tpixel);
  if (method == kTightJpeg) {
    Compact c = read_compact(body, 1);
    if (c.bytes == 0) return BodyLength::need(c.need);
    return BodyLength::exactly(1 + c.bytes + uint64_t{c.value});
  }
  if (method == kTightPng) return tight_error("TightPNG compression, which was not announced");
  if (method > kTightPng) {
    return tight_error("unknown compression method " + std::to_string(method) + " (control byte " +
                       std::to_string(control) + ")");
  }
  // Basic compression.
  if (info) info->zlib_stream = static_cast<int8_t>(method & 0x03);
  size_t pos = 1;
  uint8_t filter = kTightFilterCopy;
  if (method & kTightExplicitFilter) {
    if (!body.has(2)) return BodyLength::need(2);
    filter = body.u8(1);
    pos = 2;
  }
  uint64_t row_bytes = 0;
  switch (filter) {
    case kTightFilterCopy:
    case kTightFilterGradient:
      row_bytes = uint64_t{w} * tpixel;
      break;
    case kTightFilterPalette: {
      if (!body.has(pos + 1)) return BodyLength::need(pos + 1);
      const uint64_t colours = uint64_t{body.u8(pos)} + 1;
      pos += 1 + colours * tpixel;
      // Two colours: one bit per pixel, rows padded to a byte. Any other count: a byte each
      // (QEMU, gtk-vnc and libvncclient all test for exactly 2).
      row_bytes = colours == 2 ? (uint64_t{w} + 7) / 8 : uint64_t{w};
      break;
    }
    default:
      return tight_error("unknown filter " + std::to_string(filter));
  }
  const uint64_t data = row_bytes * h;
  if (data < kTightMinToCompress) return BodyLength::exactly(pos + data);
  Compact c = read_compact(body, pos);
  if (c.bytes == 0) return BodyLength::need(c.need);
  return BodyLength::exactly(pos + c.bytes + uint64_t{c.value});
}

void set_tight_stream_resets(ByteChain& chain, size_t control_offset, uint8_t streams) {
  for (const Slice& s : chain.slices()) {
    if (control_offset < s.size()) {
      s.block->data()[s.begin + control_offset] |= static_cast<uint8_t>(streams & 0x0F);
      return;
    }
    control_offset -= s.size();
  }
}

}  // namespace pvb::rfb
