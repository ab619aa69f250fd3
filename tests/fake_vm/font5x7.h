// A 5x7 bitmap font for printable ASCII (0x20-0x7E), used to draw the guest's name on the fake
// VM's screen so a human looking at a snapshot sees which guest answered.
#pragma once

namespace pvb {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;

// True when the glyph for `c` has its pixel at column x (0..4), row y (0..6) set. Characters
// outside 0x20-0x7E are drawn as '?'.
bool glyph_pixel(char c, int x, int y);

}  // namespace pvb
