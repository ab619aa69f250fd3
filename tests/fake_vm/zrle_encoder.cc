// ZRLE (RFC 6143 7.7.6): 64x64 tiles in one deflate stream per connection. Each tile takes the
// smallest of its methods: solid, packed palette (2-16 colours), plain RLE, palette RLE (2-127
// colours) or raw; pixels are CPIXELs.
#include <algorithm>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/rfb_wire.h"
#include "tests/fake_vm/encoder_internal.h"
#include "tests/fake_vm/pixel_packer.h"

namespace pvb {

using namespace encoder_detail;

namespace {

struct Run {
  uint32_t rgb;
  size_t length;
};

// Runs through the tile in row order (ZRLE runs continue across rows).
std::vector<Run> tile_runs(const Framebuffer& fb, ScreenRect t) {
  std::vector<Run> runs;
  for (int y = t.y; y < t.y + t.h; ++y) {
    for (int x = t.x; x < t.x + t.w; ++x) {
      const uint32_t c = fb.at(x, y);
      if (!runs.empty() && runs.back().rgb == c) {
        ++runs.back().length;
      } else {
        runs.push_back({c, 1});
      }
    }
  }
  return runs;
}

size_t run_length_bytes(size_t length) {
  return (length - 1) / 255 + 1;
}

void put_run_length(std::vector<uint8_t>& out, size_t length) {
  size_t v = length - 1;
  while (v >= 255) {
    out.push_back(255);
    v -= 255;
  }
  out.push_back(static_cast<uint8_t>(v));
}

int packed_bits(size_t colours) {
  return colours <= 2 ? 1 : colours <= 4 ? 2 : 4;
}

}  // namespace

size_t RectEncoder::encode_zrle(const Framebuffer& fb, ScreenRect r, ByteChain& out) {
  const PixelPacker packer(format_);
  const size_t cp = packer.cpixel_size();
  std::vector<uint8_t> data;
  TilePalette palette;
  uint8_t pix[4];
  auto put_cpixel = [&](uint32_t rgb) {
    packer.put_cpixel(rgb, pix);
    data.insert(data.end(), pix, pix + cp);
  };
  for (int ty = r.y; ty < r.y + r.h; ty += 64) {
    for (int tx = r.x; tx < r.x + r.w; tx += 64) {
      ScreenRect t{static_cast<uint16_t>(tx), static_cast<uint16_t>(ty),
                   static_cast<uint16_t>(std::min(64, r.x + r.w - tx)),
                   static_cast<uint16_t>(std::min(64, r.y + r.h - ty))};
      const size_t pixels = size_t{t.w} * t.h;
      const bool have_palette = tile_palette(fb, t, 127, palette);
      const size_t p = have_palette ? palette.colours.size() : 0;
      const std::vector<Run> runs = tile_runs(fb, t);

      enum Method { raw, solid, packed, plain_rle, palette_rle } best = raw;
      size_t best_size = cp * pixels;
      auto consider = [&](Method m, size_t size) {
        if (size < best_size) {
          best = m;
          best_size = size;
        }
      };
      if (p == 1) consider(solid, cp);
      if (p >= 2 && p <= 16) {
        consider(packed, p * cp + (size_t{t.w} * packed_bits(p) + 7) / 8 * t.h);
      }
      size_t plain = 0, indexed = p * cp;
      for (const Run& run : runs) {
        plain += cp + run_length_bytes(run.length);
        indexed += run.length == 1 ? 1 : 1 + run_length_bytes(run.length);
      }
      consider(plain_rle, plain);
      if (p >= 2) consider(palette_rle, indexed);

      switch (best) {
        case raw:
          data.push_back(0);
          for (int y = t.y; y < t.y + t.h; ++y) {
            for (int x = t.x; x < t.x + t.w; ++x) put_cpixel(fb.at(x, y));
          }
          ++stats_.zrle_raw;
          break;
        case solid:
          data.push_back(1);
          put_cpixel(palette.colours[0]);
          ++stats_.zrle_solid;
          break;
        case packed: {
          data.push_back(static_cast<uint8_t>(p));
          for (uint32_t c : palette.colours) put_cpixel(c);
          const int bits = packed_bits(p);
          for (int y = t.y; y < t.y + t.h; ++y) {
            // Leftmost pixel in the most significant bits; each row starts on a byte.
            uint8_t byte = 0;
            int used = 0;
            for (int x = t.x; x < t.x + t.w; ++x) {
              byte = static_cast<uint8_t>(byte << bits | palette.index_of(fb.at(x, y)));
              used += bits;
              if (used == 8) {
                data.push_back(byte);
                byte = 0;
                used = 0;
              }
            }
            if (used > 0) data.push_back(static_cast<uint8_t>(byte << (8 - used)));
          }
          ++stats_.zrle_packed_palette;
          break;
        }
        case plain_rle:
          data.push_back(128);
          for (const Run& run : runs) {
            put_cpixel(run.rgb);
            put_run_length(data, run.length);
          }
          ++stats_.zrle_plain_rle;
          break;
        case palette_rle:
          data.push_back(static_cast<uint8_t>(128 + p));
          for (uint32_t c : palette.colours) put_cpixel(c);
          for (const Run& run : runs) {
            const auto index = static_cast<uint8_t>(palette.index_of(run.rgb));
            if (run.length == 1) {
              data.push_back(index);
            } else {
              data.push_back(index | 128);
              put_run_length(data, run.length);
            }
          }
          ++stats_.zrle_palette_rle;
          break;
      }
    }
  }
  if (!zrle_stream_) zrle_stream_ = std::make_unique<Zlib>(zlib_level_);
  std::vector<uint8_t> z;
  zrle_stream_->compress(data.data(), data.size(), z);
  append_rect_header(out, r, rfb::kEncodingZrle);
  uint8_t len[4];
  put_u32(len, static_cast<uint32_t>(z.size()));
  out.append_header(len, sizeof len);
  append_generated(out, z.data(), z.size());
  return 1;
}

}  // namespace pvb
