// Pieces the fake VM's encoders share (not part of RectEncoder's interface).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <vector>

#include "tests/fake_vm/framebuffer.h"
#include "tests/fake_vm/rect_encoder.h"

namespace pvb {

// One deflate stream, flushed (Z_SYNC_FLUSH) at the end of every rectangle so the client can
// decode it whole, and kept for the connection.
struct RectEncoder::Zlib {
  explicit Zlib(int level);
  ~Zlib();
  Zlib(const Zlib&) = delete;
  Zlib& operator=(const Zlib&) = delete;
  // Replaces `out` with the compressed form of in[0..n).
  void compress(const uint8_t* in, size_t n, std::vector<uint8_t>& out);
  void reset();

  z_stream z{};
};

namespace encoder_detail {

// The distinct colours of a tile in first-seen order, with how often each occurs; false when
// there are more than `limit`.
struct TilePalette {
  std::vector<uint32_t> colours;
  std::vector<uint32_t> counts;
  int index_of(uint32_t rgb) const;
};
bool tile_palette(const Framebuffer& fb, ScreenRect t, size_t limit, TilePalette& palette);

inline void put_u16_be(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
inline void put_u32_be(std::vector<uint8_t>& v, uint32_t x) {
  put_u16_be(v, static_cast<uint16_t>(x >> 16));
  put_u16_be(v, static_cast<uint16_t>(x));
}

}  // namespace encoder_detail
}  // namespace pvb
