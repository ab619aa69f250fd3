// Tight encoding (7): how long a rectangle's body is, and the zlib-stream reset bits.
//
// Body: a compression-control byte (bits 0-3: reset zlib streams 0-3 before decoding; bits 4-7:
// the method), then
//   fill (8):   one TPIXEL;
//   JPEG (9):   a compact length and that many bytes;
//   basic (0-7, bits 4-5 the zlib stream, bit 6 an explicit filter byte follows):
//               filter copy (0) or gradient (2): rows of w TPIXELs; palette (1): a count-1 byte
//               and that many TPIXELs, then rows of 1 bit per pixel for 2 colours, else 1 byte;
//               data under 12 bytes comes raw, anything longer as a compact length + zlib data.
// A compact length is 1-3 bytes, 7 bits each, the high bit saying another byte follows (the
// third byte counts all 8 bits).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/chain_view.h"
#include "engine/rfb/pixel_format.h"

namespace pvb::rfb {

// The bytes of a TPIXEL in this pixel format, or nullopt when the peers disagree. The RFB spec
// says 3 when true colour, 32 bpp, depth 24 and 8-bit channels; QEMU's encoder checks only
// "4 bytes per pixel and every max 255", gtk-vnc's decoder only "depth 24", libvncclient "32 bpp,
// depth 24, every max 255". Where they give different answers we cannot know what the server
// will send, so Tight is refused for that format rather than guessed.
std::optional<size_t> tight_pixel_size(const PixelFormat& pf);

inline constexpr uint8_t kTightFill = 8;
inline constexpr uint8_t kTightJpeg = 9;
inline constexpr uint8_t kTightPng = 10;
inline constexpr uint8_t kTightExplicitFilter = 0x04;  // in the method nibble
inline constexpr uint8_t kTightFilterCopy = 0;
inline constexpr uint8_t kTightFilterPalette = 1;
inline constexpr uint8_t kTightFilterGradient = 2;
inline constexpr size_t kTightMinToCompress = 12;

struct TightRectInfo {
  uint8_t control = 0;      // the compression-control byte as sent
  int8_t zlib_stream = -1;  // 0-3 for basic compression, -1 for fill and JPEG
};

// Known body length, or how many body bytes are needed to know it.
struct BodyLength {
  bool known = false;
  uint64_t length = 0;  // known: the body's length; else: body bytes needed
  static BodyLength need(uint64_t n) { return {false, n}; }
  static BodyLength exactly(uint64_t n) { return {true, n}; }
};

// The body length of a Tight rectangle of w x h whose body starts at body[0].
Result<BodyLength> tight_body_length(uint16_t w, uint16_t h, const PixelFormat& pf,
                                     const ChainView& body, TightRectInfo* info);

// Sets reset bits (bit i: reset zlib stream i) in the compression-control byte at chain offset
// `control_offset`, in place: after a reconnect, the first rectangle that uses a stream must
// tell the viewer to reset it. The byte is changed in the block the slices point to.
void set_tight_stream_resets(ByteChain& chain, size_t control_offset, uint8_t streams);

}  // namespace pvb::rfb
