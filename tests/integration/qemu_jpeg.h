// The brightness of a JPEG, 8x8 block by 8x8 block, without a JPEG library: enough to tell that
// the picture vncsnapshot saved through the bridge is not blank, and even to recognise the fake
// VM's colour bars in it.
//
// Only DC coefficients are kept: a block's DC is its mean. Brightness is the Y component's mean
// in a YCbCr JPEG, and 0.299 R + 0.587 G + 0.114 B in an RGB one (vncsnapshot writes RGB JPEGs,
// marked by Adobe's APP14 segment; libjpeg's rules for telling the two apart are followed). The
// entropy-coded data is still walked in full (AC coefficients are decoded and skipped), so every
// block of a baseline sequential Huffman JPEG — what libjpeg writes by default, and so what
// vncsnapshot writes — lands where it belongs, with restart markers honoured. Progressive and
// arithmetic-coded JPEGs are refused (Errc::protocol).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb::testing {

struct JpegLuma {
  int width = 0;   // pixels
  int height = 0;  // pixels
  int blocks_x = 0;
  int blocks_y = 0;
  // Mean luma of each 8x8 block, 0..255 (clamped), row by row; blocks_x * blocks_y entries,
  // padding blocks past the picture's edge included.
  std::vector<int> block_mean;

  int at(int bx, int by) const { return block_mean[by * blocks_x + bx]; }
  // The block covering pixel (x, y).
  int at_pixel(int x, int y) const { return at(x / 8, y / 8); }
};

Result<JpegLuma> jpeg_block_luma(std::string_view jpeg);

// A picture is blank when all its blocks inside the picture have (nearly) the same brightness.
// The spread: brightest block minus darkest block, over the blocks fully inside the picture.
int luma_spread(const JpegLuma& luma);

}  // namespace pvb::testing
