#include "tests/fake_vm/rect_encoder.h"

#include <algorithm>
#include <cstring>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/rfb_wire.h"
#include "tests/fake_vm/encoder_internal.h"
#include "tests/fake_vm/pixel_packer.h"

namespace pvb {

using namespace encoder_detail;

// --- shared pieces ------------------------------------------------------------------------------

RectEncoder::Zlib::Zlib(int level) {
  deflateInit(&z, level);
}

RectEncoder::Zlib::~Zlib() {
  deflateEnd(&z);
}

void RectEncoder::Zlib::reset() {
  deflateReset(&z);
}

void RectEncoder::Zlib::compress(const uint8_t* in, size_t n, std::vector<uint8_t>& out) {
  out.resize(deflateBound(&z, static_cast<uLong>(n)) + 64);
  size_t used = 0;
  z.next_in = const_cast<Bytef*>(in);
  z.avail_in = static_cast<uInt>(n);
  for (;;) {
    z.next_out = out.data() + used;
    z.avail_out = static_cast<uInt>(out.size() - used);
    deflate(&z, Z_SYNC_FLUSH);
    used = out.size() - z.avail_out;
    // A full output buffer may hide more pending output: give it room and flush again.
    if (z.avail_out != 0) break;
    out.resize(out.size() * 2);
  }
  out.resize(used);
}

int TilePalette::index_of(uint32_t rgb) const {
  for (size_t i = 0; i < colours.size(); ++i) {
    if (colours[i] == rgb) return static_cast<int>(i);
  }
  return -1;
}

bool encoder_detail::tile_palette(const Framebuffer& fb, ScreenRect t, size_t limit,
                                  TilePalette& palette) {
  palette.colours.clear();
  palette.counts.clear();
  int last = -1;
  uint32_t last_rgb = 0;
  for (int y = t.y; y < t.y + t.h; ++y) {
    for (int x = t.x; x < t.x + t.w; ++x) {
      const uint32_t rgb = fb.at(x, y);
      if (last < 0 || rgb != last_rgb) {
        last = palette.index_of(rgb);
        if (last < 0) {
          if (palette.colours.size() == limit) return false;
          palette.colours.push_back(rgb);
          palette.counts.push_back(0);
          last = static_cast<int>(palette.colours.size() - 1);
        }
        last_rgb = rgb;
      }
      ++palette.counts[static_cast<size_t>(last)];
    }
  }
  return true;
}

void append_generated(ByteChain& out, const uint8_t* data, size_t n) {
  while (n > 0) {
    std::span<uint8_t> room = out.reserve(1);
    const size_t k = std::min(room.size(), n);
    std::memcpy(room.data(), data, k);
    out.commit(k);
    data += k;
    n -= k;
  }
}

void append_rect_header(ByteChain& out, ScreenRect r, int32_t encoding) {
  uint8_t h[12];
  put_u16(h, r.x);
  put_u16(h + 2, r.y);
  put_u16(h + 4, r.w);
  put_u16(h + 6, r.h);
  put_s32(h + 8, encoding);
  out.append_header(h, sizeof h);
}

// --- RectEncoder --------------------------------------------------------------------------------

RectEncoder::RectEncoder() = default;
RectEncoder::~RectEncoder() = default;

bool RectEncoder::implemented(int32_t e) {
  return e == rfb::kEncodingRaw || e == rfb::kEncodingHextile || e == rfb::kEncodingZlib ||
         e == rfb::kEncodingTight || e == rfb::kEncodingZrle;
}

void RectEncoder::set_pixel_format(const PixelFormat& format) {
  format_ = format;
}

void RectEncoder::set_client_encodings(std::span<const int32_t> encodings) {
  encoding_ = rfb::kEncodingRaw;
  bool chosen = false;
  quality_level_.reset();
  for (int32_t e : encodings) {
    if (!chosen && implemented(e)) {
      encoding_ = e;
      chosen = true;
    } else if (e >= rfb::kPseudoQualityLevel0 && e <= rfb::kPseudoQualityLevel9) {
      quality_level_ = e - rfb::kPseudoQualityLevel0;
    } else if (e >= rfb::kPseudoCompressLevel0 && e <= rfb::kPseudoCompressLevel9) {
      zlib_level_ = e - rfb::kPseudoCompressLevel0;
    }
  }
}

void RectEncoder::reset_tight_streams() {
  tight_pending_resets_ = 0x0F;
}

size_t RectEncoder::encode(const Framebuffer& fb, ScreenRect r, ByteChain& out) {
  if (r.empty()) return 0;
  size_t n = 0;
  if (encoding_ == rfb::kEncodingRaw || encoding_ == rfb::kEncodingTight) {
    n = encoding_ == rfb::kEncodingRaw ? encode_raw(fb, r, out) : encode_tight(fb, r, out);
  } else {
    // Bands of at most 64 rows (ZRLE's tile height): rectangles stay a bounded size.
    for (int y = r.y; y < r.y + r.h; y += 64) {
      ScreenRect band{r.x, static_cast<uint16_t>(y), r.w,
                      static_cast<uint16_t>(std::min(64, r.y + r.h - y))};
      if (encoding_ == rfb::kEncodingHextile) {
        n += encode_hextile(fb, band, out);
      } else if (encoding_ == rfb::kEncodingZlib) {
        n += encode_zlib(fb, band, out);
      } else {
        n += encode_zrle(fb, band, out);
      }
    }
  }
  stats_.rects += n;
  return n;
}

size_t RectEncoder::encode_raw(const Framebuffer& fb, ScreenRect r, ByteChain& out) {
  append_rect_header(out, r, rfb::kEncodingRaw);
  fb.encode_rect(format_, r.x, r.y, r.w, r.h, out);
  ++stats_.raw;
  return 1;
}

size_t RectEncoder::encode_zlib(const Framebuffer& fb, ScreenRect r, ByteChain& out) {
  const PixelPacker packer(format_);
  const size_t bpp = packer.pixel_size();
  std::vector<uint8_t> raw(size_t{r.w} * r.h * bpp);
  uint8_t* p = raw.data();
  for (int y = r.y; y < r.y + r.h; ++y) {
    for (int x = r.x; x < r.x + r.w; ++x, p += bpp) packer.put(fb.at(x, y), p);
  }
  if (!zlib_stream_) zlib_stream_ = std::make_unique<Zlib>(zlib_level_);
  std::vector<uint8_t> z;
  zlib_stream_->compress(raw.data(), raw.size(), z);
  append_rect_header(out, r, rfb::kEncodingZlib);
  uint8_t len[4];
  put_u32(len, static_cast<uint32_t>(z.size()));
  out.append_header(len, sizeof len);
  append_generated(out, z.data(), z.size());
  ++stats_.zlib;
  return 1;
}

// --- Hextile ------------------------------------------------------------------------------------

namespace {

constexpr uint8_t kHextileRaw = 1, kHextileBackground = 2, kHextileForeground = 4,
                  kHextileAnySubrects = 8, kHextileSubrectsColoured = 16;

struct Subrect {
  int x, y, w, h;
  uint32_t rgb;
};

// The tile's non-background pixels as rectangles: runs of one colour along each row, merged
// with an identical run directly above.
std::vector<Subrect> hextile_subrects(const Framebuffer& fb, ScreenRect t, uint32_t bg) {
  std::vector<Subrect> done, open;
  for (int y = 0; y < t.h; ++y) {
    std::vector<Subrect> next;
    for (int x = 0; x < t.w;) {
      const uint32_t c = fb.at(t.x + x, t.y + y);
      int end = x + 1;
      while (end < t.w && fb.at(t.x + end, t.y + y) == c) ++end;
      if (c != bg) {
        auto above = std::find_if(open.begin(), open.end(), [&](const Subrect& s) {
          return s.x == x && s.w == end - x && s.rgb == c;
        });
        if (above != open.end()) {
          Subrect s = *above;
          ++s.h;
          open.erase(above);
          next.push_back(s);
        } else {
          next.push_back({x, y, end - x, 1, c});
        }
      }
      x = end;
    }
    done.insert(done.end(), open.begin(), open.end());
    open = std::move(next);
  }
  done.insert(done.end(), open.begin(), open.end());
  return done;
}

}  // namespace

size_t RectEncoder::encode_hextile(const Framebuffer& fb, ScreenRect r, ByteChain& out) {
  const PixelPacker packer(format_);
  const size_t bpp = packer.pixel_size();
  std::vector<uint8_t> body;
  bool bg_valid = false;  // a Raw tile leaves the background undefined for the next one
  uint32_t last_bg = 0;
  TilePalette palette;
  uint8_t pix[4];
  auto put_pixel = [&](uint32_t rgb) {
    packer.put(rgb, pix);
    body.insert(body.end(), pix, pix + bpp);
  };
  for (int ty = r.y; ty < r.y + r.h; ty += 16) {
    for (int tx = r.x; tx < r.x + r.w; tx += 16) {
      ScreenRect t{static_cast<uint16_t>(tx), static_cast<uint16_t>(ty),
                   static_cast<uint16_t>(std::min(16, r.x + r.w - tx)),
                   static_cast<uint16_t>(std::min(16, r.y + r.h - ty))};
      const size_t raw_size = 1 + size_t{t.w} * t.h * bpp;
      bool raw = !tile_palette(fb, t, 16, palette);
      std::vector<Subrect> subs;
      uint32_t bg = 0;
      bool mono = false;
      size_t size = raw_size;
      if (!raw) {
        bg = palette.colours[static_cast<size_t>(
            std::max_element(palette.counts.begin(), palette.counts.end()) -
            palette.counts.begin())];
        subs = hextile_subrects(fb, t, bg);
        mono = palette.colours.size() == 2;
        const size_t bg_bytes = bg_valid && bg == last_bg ? 0 : bpp;
        size = 1 + bg_bytes;
        if (!subs.empty()) size += mono ? bpp + 1 + 2 * subs.size() : 1 + (bpp + 2) * subs.size();
        raw = subs.size() > 255 || size >= raw_size;
      }
      if (raw) {
        body.push_back(kHextileRaw);
        for (int y = t.y; y < t.y + t.h; ++y) {
          for (int x = t.x; x < t.x + t.w; ++x) put_pixel(fb.at(x, y));
        }
        bg_valid = false;
        ++stats_.hextile_raw;
        continue;
      }
      uint8_t flags = 0;
      const bool send_bg = !(bg_valid && bg == last_bg);
      if (send_bg) flags |= kHextileBackground;
      if (!subs.empty())
        flags |= kHextileAnySubrects | (mono ? kHextileForeground : kHextileSubrectsColoured);
      body.push_back(flags);
      if (send_bg) put_pixel(bg);
      bg_valid = true;
      last_bg = bg;
      if (subs.empty()) {
        ++(send_bg ? stats_.hextile_background : stats_.hextile_same_background);
        continue;
      }
      if (mono) put_pixel(subs[0].rgb);
      body.push_back(static_cast<uint8_t>(subs.size()));
      for (const Subrect& s : subs) {
        if (!mono) put_pixel(s.rgb);
        body.push_back(static_cast<uint8_t>(s.x << 4 | s.y));
        body.push_back(static_cast<uint8_t>((s.w - 1) << 4 | (s.h - 1)));
      }
      ++(mono ? stats_.hextile_mono : stats_.hextile_coloured);
    }
  }
  append_rect_header(out, r, rfb::kEncodingHextile);
  append_generated(out, body.data(), body.size());
  return 1;
}

}  // namespace pvb
