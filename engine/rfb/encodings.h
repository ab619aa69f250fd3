// What the bridge lets the viewer announce to the server: only encodings whose rectangles the
// server-stream delimiter can measure, so it never has to guess a length. The bridge rewrites
// the viewer's SetEncodings with the filtered list before passing it on.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/rfb/pixel_format.h"

namespace pvb::rfb {

// True for encodings and pseudo-encodings RfbServerStream can delimit, and for those that
// produce no rectangle at all (compression and JPEG quality levels, the extended clipboard).
bool delimiter_supports(int32_t encoding);

// The supported subset of `requested`, in the viewer's order. With a pixel format, Tight is also
// dropped when that format makes Tight's pixel size ambiguous (see tight_pixel_size).
std::vector<int32_t> filter_encodings(std::span<const int32_t> requested,
                                      const PixelFormat* format = nullptr);

// Appends a SetEncodings message carrying `encodings` (at most 65535) to out.
void write_set_encodings(std::span<const int32_t> encodings, ByteChain& out);

}  // namespace pvb::rfb
