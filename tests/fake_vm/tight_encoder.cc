// Tight (rfbproto "Tight Encoding"): the region in tiles of at most 128x64, each a rectangle of
// its own, compressed by the method that suits its content (see rect_encoder.h). JPEG through
// libjpeg (Debian libjpeg62-turbo-dev).
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>

// After <cstddef> and <cstdio>: jpeglib.h uses size_t and FILE without including them.
#include <jpeglib.h>

#include "engine/rfb/rfb_wire.h"
#include "tests/fake_vm/encoder_internal.h"
#include "tests/fake_vm/pixel_packer.h"

namespace pvb {

using namespace encoder_detail;

namespace {

constexpr uint8_t kFill = 0x80, kJpeg = 0x90, kExplicitFilter = 0x40;
constexpr uint8_t kFilterPalette = 1, kFilterGradient = 2;
constexpr size_t kMinToCompress = 12;
constexpr int kTileWidth = 128, kTileHeight = 64;
// libjpeg quality for each of the client's quality levels 0-9 (the values QEMU uses).
constexpr int kJpegQuality[10] = {15, 29, 41, 42, 62, 77, 79, 86, 92, 100};

void put_compact_length(std::vector<uint8_t>& out, size_t n) {
  out.push_back(static_cast<uint8_t>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
  if (n > 0x7F) {
    out.push_back(static_cast<uint8_t>(((n >> 7) & 0x7F) | (n > 0x3FFF ? 0x80 : 0)));
    if (n > 0x3FFF) out.push_back(static_cast<uint8_t>(n >> 14));
  }
}

std::vector<uint8_t> jpeg_compress(const Framebuffer& fb, ScreenRect t, int quality) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr jerr{};
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = t.w;
  cinfo.image_height = t.h;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<uint8_t> row(size_t{t.w} * 3);
  for (int y = t.y; y < t.y + t.h; ++y) {
    for (int x = 0; x < t.w; ++x) {
      const uint32_t c = fb.at(t.x + x, y);
      row[3 * x] = static_cast<uint8_t>(c >> 16);
      row[3 * x + 1] = static_cast<uint8_t>(c >> 8);
      row[3 * x + 2] = static_cast<uint8_t>(c);
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<uint8_t> out(buffer, buffer + size);
  free(buffer);
  return out;
}

// The gradient filter's residuals (each channel minus its prediction from the left, upper and
// upper-left neighbours, clamped to the channel's range), as libvncclient's FilterGradient
// reverses them: 3 bytes a pixel for 24-bit TPIXELs, else whole pixels in the client's format.
std::vector<uint8_t> gradient_residuals(const Framebuffer& fb, ScreenRect t,
                                        const PixelPacker& packer, size_t* zero_bytes) {
  const bool rgb24 = packer.tight_rgb24();
  const size_t out_size = packer.tpixel_size();
  std::vector<uint8_t> out;
  out.reserve(size_t{t.w} * t.h * out_size);
  std::vector<int> above(size_t{t.w} * 3, 0), here(size_t{t.w} * 3, 0);
  int max[3];
  for (int c = 0; c < 3; ++c) max[c] = rgb24 ? 255 : static_cast<int>(packer.channel_max(c));
  *zero_bytes = 0;
  for (int y = 0; y < t.h; ++y) {
    for (int x = 0; x < t.w; ++x) {
      const uint32_t rgb = fb.at(t.x + x, t.y + y);
      int residual[3];
      for (int c = 0; c < 3; ++c) {
        const int v = rgb24 ? static_cast<int>((rgb >> (16 - 8 * c)) & 0xFF)
                            : static_cast<int>(packer.channel(rgb, c));
        int est;
        if (x == 0) {
          est = above[c];
        } else {
          est = above[3 * x + c] + here[3 * (x - 1) + c] - above[3 * (x - 1) + c];
          est = std::clamp(est, 0, max[c]);
        }
        residual[c] = (v - est) & max[c];
        here[3 * x + c] = v;
      }
      if (rgb24) {
        for (int c = 0; c < 3; ++c) {
          out.push_back(static_cast<uint8_t>(residual[c]));
          *zero_bytes += residual[c] == 0;
        }
      } else {
        const uint32_t value = static_cast<uint32_t>(residual[0]) << packer.channel_shift(0) |
                               static_cast<uint32_t>(residual[1]) << packer.channel_shift(1) |
                               static_cast<uint32_t>(residual[2]) << packer.channel_shift(2);
        uint8_t pix[4];
        packer.put_value(value, pix);
        for (size_t i = 0; i < out_size; ++i) *zero_bytes += pix[i] == 0;
        out.insert(out.end(), pix, pix + out_size);
      }
    }
    std::swap(above, here);
  }
  return out;
}

}  // namespace

size_t RectEncoder::encode_tight(const Framebuffer& fb, ScreenRect r, ByteChain& out) {
  const PixelPacker packer(format_);
  const size_t tp = packer.tpixel_size();
  const bool jpeg_allowed = quality_level_.has_value() && packer.pixel_size() > 1;
  const bool gradient_allowed = packer.pixel_size() > 1;
  TilePalette palette;
  size_t rects = 0;
  std::vector<uint8_t> body, data, z;
  uint8_t pix[4];
  auto put_tpixel = [&](uint32_t rgb) {
    packer.put_tpixel(rgb, pix);
    body.insert(body.end(), pix, pix + tp);
  };
  // Appends `data` after the header bytes in `body`: raw below 12 bytes, else compressed on
  // `stream` with a compact length.
  auto finish_basic = [&](int stream) {
    if (data.size() < kMinToCompress) {
      body.insert(body.end(), data.begin(), data.end());
      ++stats_.tight_raw_data;
      return;
    }
    if (!tight_streams_[stream]) tight_streams_[stream] = std::make_unique<Zlib>(zlib_level_);
    tight_streams_[stream]->compress(data.data(), data.size(), z);
    put_compact_length(body, z.size());
    body.insert(body.end(), z.begin(), z.end());
  };
  // The control byte for a basic-compression rectangle on `stream`, with its reset bit when a
  // reset is pending for that stream.
  auto control = [&](int stream, bool filter) {
    uint8_t c = static_cast<uint8_t>(stream << 4 | (filter ? kExplicitFilter : 0));
    if (tight_pending_resets_ & (1 << stream)) {
      tight_pending_resets_ = static_cast<uint8_t>(tight_pending_resets_ & ~(1 << stream));
      if (tight_streams_[stream]) tight_streams_[stream]->reset();
      c |= static_cast<uint8_t>(1 << stream);
      ++stats_.tight_resets;
    }
    return c;
  };

  for (int ty = r.y; ty < r.y + r.h; ty += kTileHeight) {
    for (int tx = r.x; tx < r.x + r.w; tx += kTileWidth) {
      ScreenRect t{static_cast<uint16_t>(tx), static_cast<uint16_t>(ty),
                   static_cast<uint16_t>(std::min(kTileWidth, r.x + r.w - tx)),
                   static_cast<uint16_t>(std::min(kTileHeight, r.y + r.h - ty))};
      body.clear();
      data.clear();
      const bool few = tile_palette(fb, t, 16, palette);
      const size_t p = few ? palette.colours.size() : 0;
      if (p == 1) {
        body.push_back(kFill);
        put_tpixel(palette.colours[0]);
        ++stats_.tight_fill;
      } else if (p >= 2) {
        const int stream = p == 2 ? 1 : 2;
        body.push_back(control(stream, true));
        body.push_back(kFilterPalette);
        body.push_back(static_cast<uint8_t>(p - 1));
        for (uint32_t c : palette.colours) put_tpixel(c);
        for (int y = t.y; y < t.y + t.h; ++y) {
          if (p == 2) {
            // One bit per pixel, the leftmost in the most significant bit; rows start on a byte.
            uint8_t byte = 0;
            int used = 0;
            for (int x = t.x; x < t.x + t.w; ++x) {
              byte = static_cast<uint8_t>(byte << 1 | (fb.at(x, y) == palette.colours[1]));
              if (++used == 8) {
                data.push_back(byte);
                byte = 0;
                used = 0;
              }
            }
            if (used > 0) data.push_back(static_cast<uint8_t>(byte << (8 - used)));
          } else {
            for (int x = t.x; x < t.x + t.w; ++x) {
              data.push_back(static_cast<uint8_t>(palette.index_of(fb.at(x, y))));
            }
          }
        }
        finish_basic(stream);
        ++(p == 2 ? stats_.tight_mono : stats_.tight_palette);
      } else if (jpeg_allowed) {
        body.push_back(kJpeg);
        std::vector<uint8_t> jpeg = jpeg_compress(fb, t, kJpegQuality[*quality_level_]);
        put_compact_length(body, jpeg.size());
        body.insert(body.end(), jpeg.begin(), jpeg.end());
        ++stats_.tight_jpeg;
      } else {
        size_t zeros = 0;
        if (gradient_allowed) data = gradient_residuals(fb, t, packer, &zeros);
        if (gradient_allowed && zeros * 2 > data.size()) {
          // Smooth content: most residuals are zero.
          body.push_back(control(3, true));
          body.push_back(kFilterGradient);
          finish_basic(3);
          ++stats_.tight_gradient;
        } else {
          data.clear();
          for (int y = t.y; y < t.y + t.h; ++y) {
            for (int x = t.x; x < t.x + t.w; ++x) {
              packer.put_tpixel(fb.at(x, y), pix);
              data.insert(data.end(), pix, pix + tp);
            }
          }
          body.push_back(control(0, false));  // no filter byte: copy
          finish_basic(0);
          ++stats_.tight_copy;
        }
      }
      append_rect_header(out, t, rfb::kEncodingTight);
      append_generated(out, body.data(), body.size());
      ++rects;
    }
  }
  return rects;
}

}  // namespace pvb
