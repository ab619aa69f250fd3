#include "engine/rfb/rect_body.h"

#include <string>

#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {
namespace {

Error rect_error(const RectHeader& r, std::string detail) {
  return Error(Errc::protocol, encoding_name(r.encoding) + " rectangle " + std::to_string(r.w) +
                                   "x" + std::to_string(r.h) + ": " + detail);
}

// Hextile (5): 16x16 tiles, left to right, top to bottom; each a subencoding byte, then
//   Raw (1):           the tile's pixels, every other bit ignored;
//   BackgroundSpecified (2), ForegroundSpecified (4): one pixel each;
//   AnySubrects (8):   a count, then per subrect a pixel if SubrectsColoured (16), and 2 bytes
//                      of position and size.
// Background and foreground carry over from tile to tile, but only change the pixels, never the
// length: the length depends on this tile's flags alone.
BodyLength hextile_length(const RectHeader& r, uint64_t bpp, const ChainView& body,
                          BodyScan& scan) {
  const uint32_t tiles_x = (uint32_t{r.w} + 15) / 16;
  const uint32_t tiles_y = (uint32_t{r.h} + 15) / 16;
  const uint32_t tiles = tiles_x * tiles_y;
  while (scan.tile < tiles) {
    if (scan.offset > kMaxRectBodyLength) break;  // checked by the caller
    const uint32_t tx = scan.tile % tiles_x, ty = scan.tile / tiles_x;
    const uint64_t tw = tx + 1 < tiles_x ? 16 : r.w - 16 * tx;
    const uint64_t th = ty + 1 < tiles_y ? 16 : r.h - 16 * ty;
    const uint64_t at = scan.offset;
    if (!body.has(at + 1)) return BodyLength::need(at + 1);
    const uint8_t flags = body.u8(at);
    uint64_t len = 1;
    if (flags & kHextileRaw) {
      len += tw * th * bpp;
    } else {
      if (flags & kHextileBackgroundSpecified) len += bpp;
      if (flags & kHextileForegroundSpecified) len += bpp;
      if (flags & kHextileAnySubrects) {
        if (!body.has(at + len + 1)) return BodyLength::need(at + len + 1);
        const uint64_t count = body.u8(at + len);
        const uint64_t each = (flags & kHextileSubrectsColoured ? bpp : 0) + 2;
        len += 1 + count * each;
      }
    }
    scan.offset += len;
    ++scan.tile;
  }
  return BodyLength::exactly(scan.offset);
}

// The pixel format of AlphaCursor's nested image: 32-bit RGBA, 8 bits a channel.
PixelFormat alpha_cursor_format() {
  PixelFormat pf;
  pf.bits_per_pixel = 32;
  pf.depth = 32;
  pf.true_colour = true;
  return pf;
}

Result<BodyLength> body_length(const RectHeader& r, const PixelFormat& pf, const ChainView& body,
                               BodyScan& scan, RectInfo* info, bool nested) {
  const uint64_t bpp = pf.bits_per_pixel / 8;
  const uint64_t w = r.w, h = r.h;
  switch (r.encoding) {
    case kEncodingRaw:
      return BodyLength::exactly(w * h * bpp);
    case kEncodingCopyRect:
      return BodyLength::exactly(4);
    case kEncodingRre:
    case kEncodingCoRre: {
      // A count, a background pixel, then per subrect a pixel and its geometry (RRE: 4 U16s;
      // CoRRE: 4 U8s).
      if (!body.has(4)) return BodyLength::need(4);
      const uint64_t count = body.u32(0);
      const uint64_t geometry = r.encoding == kEncodingRre ? 8 : 4;
      return BodyLength::exactly(4 + bpp + count * (bpp + geometry));
    }
    case kEncodingHextile:
      return hextile_length(r, bpp, body, scan);
    case kEncodingZlib:
    case kEncodingZrle:
      if (!body.has(4)) return BodyLength::need(4);
      return BodyLength::exactly(4 + uint64_t{body.u32(0)});
    case kEncodingTight:
      return tight_body_length(r.w, r.h, pf, body, info ? &info->tight : nullptr);
    default:
      break;
  }
  if (nested) return rect_error(r, "not an encoding for a cursor image");
  switch (r.encoding) {
    // Pseudo-encodings whose rectangle is all header.
    case kPseudoDesktopSize:
    case kPseudoLastRect:
    case kPseudoCursorPos:
    case kPseudoQemuPointerTypeChange:
    case kPseudoQemuExtendedKeyEvent:
    case kPseudoQemuAudio:
    case kPseudoXvp:
    case kPseudoFence:
    case kPseudoContinuousUpdates:
      return BodyLength::exactly(0);
    case kPseudoLedState:
      return BodyLength::exactly(1);
    case kPseudoVmwareDisplayModeChange:
      // A new PIXEL_FORMAT (gtk-vnc reads it and switches; QEMU sends its own after a
      // SetPixelFormat). The caller applies it, so the whole body must be here first.
      if (!body.has(PixelFormat::kWireLength)) return BodyLength::need(PixelFormat::kWireLength);
      return BodyLength::exactly(PixelFormat::kWireLength);
    case kPseudoExtendedDesktopSize:
      // number-of-screens, 3 bytes of padding, then 16 bytes per screen.
      if (!body.has(1)) return BodyLength::need(1);
      return BodyLength::exactly(4 + 16 * uint64_t{body.u8(0)});
    case kPseudoDesktopName: {
      if (!body.has(4)) return BodyLength::need(4);
      const uint64_t n = body.u32(0);
      if (n > kMaxDesktopNameLength) {
        return Error(Errc::too_large, "DesktopName of " + std::to_string(n) + " bytes");
      }
      return BodyLength::exactly(4 + n);
    }
    case kPseudoRichCursor:
      // The cursor's pixels, then a 1-bit mask with rows padded to a byte.
      return BodyLength::exactly(w * h * bpp + (w + 7) / 8 * h);
    case kPseudoXCursor:
      // Two RGB colours, then bitmap and mask; nothing at all for an empty cursor.
      return BodyLength::exactly(w * h == 0 ? 0 : 6 + 2 * ((w + 7) / 8) * h);
    case kPseudoAlphaCursor: {
      // A nested encoding, then the cursor image in it as 32-bit RGBA (QEMU: always Raw).
      if (!body.has(4)) return BodyLength::need(4);
      RectHeader inner = r;
      inner.encoding = body.s32(0);
      if (info) info->inner_encoding = inner.encoding;
      if (inner.encoding == kEncodingCopyRect) {
        return rect_error(r, "CopyRect cannot carry a cursor image");
      }
      ChainView inner_body = body.sub(4);
      BodyScan inner_scan{scan.offset > 4 ? scan.offset - 4 : 0, scan.tile};
      auto n = body_length(inner, alpha_cursor_format(), inner_body, inner_scan, nullptr, true);
      if (!n.ok()) return n.error();
      scan = {inner_scan.offset + 4, inner_scan.tile};
      return BodyLength{n->known, n->length + 4};
    }
    default:
      return rect_error(r,
                        "an encoding the bridge cannot delimit (it must not have been "
                        "announced to the server)");
  }
}

}  // namespace

RectHeader read_rect_header(const ChainView& v) {
  RectHeader r;
  r.x = v.u16(0);
  r.y = v.u16(2);
  r.w = v.u16(4);
  r.h = v.u16(6);
  r.encoding = v.s32(8);
  return r;
}

Result<BodyLength> rect_body_length(const RectHeader& r, const PixelFormat& pf,
                                    const ChainView& body, BodyScan& scan, RectInfo* info) {
  auto n = body_length(r, pf, body, scan, info, false);
  if (n.ok() && n->length > kMaxRectBodyLength) {
    return Error(Errc::too_large, encoding_name(r.encoding) + " rectangle " + std::to_string(r.w) +
                                      "x" + std::to_string(r.h) + " with a body of " +
                                      std::to_string(n->length) + " bytes");
  }
  return n;
}

}  // namespace pvb::rfb
