// The length of a FramebufferUpdate rectangle's body, for every encoding and pseudo-encoding the
// bridge lets through (encodings.h keeps the viewer's list to exactly these).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/error.h"
#include "engine/rfb/chain_view.h"
#include "engine/rfb/pixel_format.h"
#include "engine/rfb/tight.h"

namespace pvb::rfb {

inline constexpr size_t kRectHeaderLength = 12;

struct RectHeader {
  uint16_t x = 0, y = 0, w = 0, h = 0;
  int32_t encoding = 0;
  bool operator==(const RectHeader&) const = default;
};
RectHeader read_rect_header(const ChainView& v);  // v.has(12)

// Where a walk through a body stopped (Hextile goes tile by tile); kept between calls so bytes
// arriving a block at a time are looked at once, not once per arrival.
struct BodyScan {
  uint64_t offset = 0;  // body bytes already accounted for
  uint32_t tile = 0;    // Hextile: tiles already accounted for
};

// What a rectangle told us beyond its length.
struct RectInfo {
  TightRectInfo tight;         // Tight (7)
  int32_t inner_encoding = 0;  // AlphaCursor (-314): the nested encoding
};

// Hextile's subencoding flags.
inline constexpr uint8_t kHextileRaw = 1;
inline constexpr uint8_t kHextileBackgroundSpecified = 2;
inline constexpr uint8_t kHextileForegroundSpecified = 4;
inline constexpr uint8_t kHextileAnySubrects = 8;
inline constexpr uint8_t kHextileSubrectsColoured = 16;

// The body length of rectangle `r` whose body starts at body[0], in pixel format `pf`. Errors:
// Errc::protocol for an encoding we cannot delimit (named in the detail) or malformed data,
// Errc::too_large beyond kMaxRectBodyLength.
Result<BodyLength> rect_body_length(const RectHeader& r, const PixelFormat& pf,
                                    const ChainView& body, BodyScan& scan, RectInfo* info);

}  // namespace pvb::rfb
