#include "tests/integration/qemu_jpeg.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

namespace pvb::testing {

namespace {

Error bad(const std::string& what) {
  return Error(Errc::protocol, "JPEG: " + what);
}

// A canonical Huffman table (JPEG Annex C): codes of each length are consecutive.
struct Huffman {
  bool defined = false;
  std::array<int, 17> min_code{};
  std::array<int, 17> max_code{};  // -1: no code of that length
  std::array<int, 17> first_symbol{};
  std::vector<uint8_t> symbols;
};

struct Component {
  int id = 0;
  int h = 1, v = 1;  // sampling factors
  int quant = 0;     // quantization table
  int dc_table = 0, ac_table = 0;
  int predictor = 0;
};

// Entropy-coded bits: 0xFF00 is a stuffed 0xFF; any other marker ends the data (zeros follow,
// as libjpeg does, and `at_marker` tells).
class BitReader {
 public:
  BitReader(std::string_view data, size_t pos) : data_(data), pos_(pos) {}

  std::optional<int> bit() {
    if (left_ == 0) {
      if (pos_ >= data_.size()) return std::nullopt;
      auto b = static_cast<uint8_t>(data_[pos_]);
      if (b == 0xFF) {
        if (pos_ + 1 >= data_.size()) return std::nullopt;
        if (static_cast<uint8_t>(data_[pos_ + 1]) == 0x00) {
          pos_ += 2;
        } else {
          at_marker_ = true;
          b = 0;
        }
      } else {
        ++pos_;
      }
      byte_ = b;
      left_ = 8;
    }
    --left_;
    return (byte_ >> left_) & 1;
  }

  std::optional<int> bits(int n) {
    int v = 0;
    for (int i = 0; i < n; ++i) {
      std::optional<int> b = bit();
      if (!b) return std::nullopt;
      v = v << 1 | *b;
    }
    return v;
  }

  std::optional<int> decode(const Huffman& table) {
    int code = 0;
    for (int length = 1; length <= 16; ++length) {
      std::optional<int> b = bit();
      if (!b) return std::nullopt;
      code = code << 1 | *b;
      if (table.max_code[length] >= 0 && code <= table.max_code[length] &&
          code >= table.min_code[length]) {
        size_t index =
            static_cast<size_t>(table.first_symbol[length] + code - table.min_code[length]);
        if (index >= table.symbols.size()) return std::nullopt;
        return table.symbols[index];
      }
    }
    return std::nullopt;
  }

  // After a restart interval: the rest of the byte is padding, then RSTn.
  bool restart() {
    left_ = 0;
    at_marker_ = false;
    if (pos_ + 1 >= data_.size() || static_cast<uint8_t>(data_[pos_]) != 0xFF) return false;
    const auto marker = static_cast<uint8_t>(data_[pos_ + 1]);
    if (marker < 0xD0 || marker > 0xD7) return false;
    pos_ += 2;
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_;
  uint8_t byte_ = 0;
  int left_ = 0;
  bool at_marker_ = false;
};

// Sign-extends a `size`-bit magnitude (JPEG's EXTEND procedure).
int extend(int value, int size) {
  return size > 0 && value < (1 << (size - 1)) ? value - (1 << size) + 1 : value;
}

int u16(std::string_view d, size_t at) {
  return static_cast<uint8_t>(d[at]) << 8 | static_cast<uint8_t>(d[at + 1]);
}

struct Decoder {
  std::string_view data;
  std::array<std::array<int, 64>, 4> quant{};
  std::array<Huffman, 4> dc{}, ac{};
  std::vector<Component> components;
  int width = 0, height = 0;
  int restart_interval = 0;
  bool jfif = false;
  int adobe_transform = -1;  // Adobe APP14: 0 = RGB (vncsnapshot's), 1 = YCbCr

  // libjpeg's rule for the colour space of a 3-component JPEG.
  bool is_rgb() const {
    if (components.size() != 3) return false;
    if (adobe_transform >= 0) return adobe_transform == 0;
    if (jfif) return false;
    return components[0].id == 'R' && components[1].id == 'G' && components[2].id == 'B';
  }

  Error read_dqt(std::string_view seg) {
    size_t i = 0;
    while (i < seg.size()) {
      const int precision = static_cast<uint8_t>(seg[i]) >> 4;
      const int id = seg[i] & 0x0F;
      ++i;
      const size_t entry = precision == 0 ? 1 : 2;
      if (id > 3 || i + 64 * entry > seg.size()) return bad("bad quantization table");
      for (int k = 0; k < 64; ++k) {
        quant[id][k] = entry == 1 ? static_cast<uint8_t>(seg[i + k]) : u16(seg, i + 2 * k);
      }
      i += 64 * entry;
    }
    return Error();
  }

  Error read_dht(std::string_view seg) {
    size_t i = 0;
    while (i < seg.size()) {
      if (i + 17 > seg.size()) return bad("bad Huffman table");
      const int cls = static_cast<uint8_t>(seg[i]) >> 4;
      const int id = seg[i] & 0x0F;
      if (cls > 1 || id > 3) return bad("bad Huffman table id");
      Huffman& t = cls == 0 ? dc[id] : ac[id];
      t = Huffman{};
      t.defined = true;
      size_t total = 0;
      int code = 0;
      for (int length = 1; length <= 16; ++length) {
        const int count = static_cast<uint8_t>(seg[i + length]);
        t.first_symbol[length] = static_cast<int>(total);
        t.min_code[length] = code;
        t.max_code[length] = count > 0 ? code + count - 1 : -1;
        code = (code + count) << 1;
        total += static_cast<size_t>(count);
      }
      i += 17;
      if (i + total > seg.size()) return bad("bad Huffman table symbols");
      t.symbols.assign(seg.begin() + static_cast<ptrdiff_t>(i),
                       seg.begin() + static_cast<ptrdiff_t>(i + total));
      i += total;
    }
    return Error();
  }

  Error read_sof(std::string_view seg) {
    if (seg.size() < 6) return bad("short frame header");
    if (seg[0] != 8) return bad("only 8-bit samples");
    height = u16(seg, 1);
    width = u16(seg, 3);
    const int n = static_cast<uint8_t>(seg[5]);
    if (width == 0 || height == 0 || n < 1 || n > 4 || seg.size() < 6 + 3 * static_cast<size_t>(n))
      return bad("bad frame header");
    components.clear();
    for (int c = 0; c < n; ++c) {
      Component comp;
      comp.id = static_cast<uint8_t>(seg[6 + 3 * c]);
      comp.h = static_cast<uint8_t>(seg[7 + 3 * c]) >> 4;
      comp.v = seg[7 + 3 * c] & 0x0F;
      comp.quant = seg[8 + 3 * c] & 0x03;
      if (comp.h < 1 || comp.h > 4 || comp.v < 1 || comp.v > 4) return bad("bad sampling factor");
      components.push_back(comp);
    }
    return Error();
  }

  // Decodes one block: returns its DC coefficient (predicted), skips the ACs.
  std::optional<int> block(BitReader& in, Component& c) {
    std::optional<int> size = in.decode(dc[c.dc_table]);
    if (!size || *size > 11) return std::nullopt;
    std::optional<int> bits = in.bits(*size);
    if (!bits) return std::nullopt;
    c.predictor += extend(*bits, *size);
    for (int k = 1; k < 64;) {
      std::optional<int> rs = in.decode(ac[c.ac_table]);
      if (!rs) return std::nullopt;
      const int run = *rs >> 4, s = *rs & 0x0F;
      if (s == 0) {
        if (run != 15) break;  // end of block
        k += 16;
        continue;
      }
      k += run;
      if (!in.bits(s)) return std::nullopt;
      ++k;
    }
    return c.predictor;
  }

  Result<JpegLuma> read_scan(std::string_view seg, size_t data_start) {
    if (components.empty()) return bad("scan before the frame header");
    const int n = seg.empty() ? 0 : static_cast<uint8_t>(seg[0]);
    if (n < 1 || seg.size() < 1 + 2 * static_cast<size_t>(n) + 3) return bad("bad scan header");
    std::vector<Component*> in_scan;
    for (int i = 0; i < n; ++i) {
      const int id = static_cast<uint8_t>(seg[1 + 2 * i]);
      auto it = std::find_if(components.begin(), components.end(),
                             [&](const Component& c) { return c.id == id; });
      if (it == components.end()) return bad("scan names an unknown component");
      it->dc_table = (static_cast<uint8_t>(seg[2 + 2 * i]) >> 4) & 3;
      it->ac_table = seg[2 + 2 * i] & 3;
      if (!dc[it->dc_table].defined || !ac[it->ac_table].defined)
        return bad("scan uses an undefined Huffman table");
      in_scan.push_back(&*it);
    }
    Component* luma = &components[0];
    if (std::find(in_scan.begin(), in_scan.end(), luma) == in_scan.end())
      return bad("the first scan has no luma");
    // RGB: brightness is mixed from the three channels, which must then share one block grid.
    const bool rgb = is_rgb();
    if (rgb) {
      if (in_scan.size() != 3) return bad("RGB components in separate scans");
      for (const Component& c : components) {
        if (c.h != luma->h || c.v != luma->v) return bad("subsampled RGB");
      }
    }

    int h_max = 1, v_max = 1;
    for (const Component& c : components) {
      h_max = std::max(h_max, c.h);
      v_max = std::max(v_max, c.v);
    }
    JpegLuma out;
    out.width = width;
    out.height = height;
    int mcus_x = 0, mcus_y = 0;
    if (in_scan.size() == 1) {
      // Not interleaved: one block per MCU, as many as the component's own size needs.
      const int cw = (width * luma->h + h_max - 1) / h_max;
      const int ch = (height * luma->v + v_max - 1) / v_max;
      mcus_x = (cw + 7) / 8;
      mcus_y = (ch + 7) / 8;
      out.blocks_x = mcus_x;
      out.blocks_y = mcus_y;
    } else {
      mcus_x = (width + 8 * h_max - 1) / (8 * h_max);
      mcus_y = (height + 8 * v_max - 1) / (8 * v_max);
      out.blocks_x = mcus_x * luma->h;
      out.blocks_y = mcus_y * luma->v;
    }
    const size_t blocks = static_cast<size_t>(out.blocks_x) * out.blocks_y;
    // Mean of each block of each component that shares the luma grid (0: luma, or R, G, B).
    std::vector<std::vector<int>> means(rgb ? 3 : 1, std::vector<int>(blocks, 0));

    BitReader in(data, data_start);
    const int total = mcus_x * mcus_y;
    for (int mcu = 0; mcu < total; ++mcu) {
      if (restart_interval > 0 && mcu > 0 && mcu % restart_interval == 0) {
        if (!in.restart()) return bad("missing restart marker");
        for (Component* c : in_scan) c->predictor = 0;
      }
      const int mx = mcu % mcus_x, my = mcu / mcus_x;
      for (Component* c : in_scan) {
        const size_t index = static_cast<size_t>(c - components.data());
        const bool kept = index < means.size();
        const int bh = in_scan.size() == 1 ? 1 : c->h;
        const int bv = in_scan.size() == 1 ? 1 : c->v;
        for (int by = 0; by < bv; ++by) {
          for (int bx = 0; bx < bh; ++bx) {
            std::optional<int> dc_value = block(in, *c);
            if (!dc_value) return bad("entropy-coded data ends early or is corrupt");
            if (!kept) continue;
            // The DCT's DC term is 8 times the block's mean, level-shifted by 128.
            const int mean = *dc_value * quant[c->quant][0] / 8 + 128;
            const int x = mx * bh + bx, y = my * bv + by;
            means[index][static_cast<size_t>(y) * out.blocks_x + x] = std::clamp(mean, 0, 255);
          }
        }
      }
    }
    out.block_mean = std::move(means[0]);
    if (rgb) {
      for (size_t b = 0; b < blocks; ++b) {
        // ITU-R BT.601 luma, as JPEG's own YCbCr uses.
        out.block_mean[b] =
            (299 * out.block_mean[b] + 587 * means[1][b] + 114 * means[2][b] + 500) / 1000;
      }
    }
    return out;
  }
};

}  // namespace

Result<JpegLuma> jpeg_block_luma(std::string_view jpeg) {
  if (jpeg.size() < 4 || static_cast<uint8_t>(jpeg[0]) != 0xFF ||
      static_cast<uint8_t>(jpeg[1]) != 0xD8) {
    return bad("no SOI marker");
  }
  Decoder d;
  d.data = jpeg;
  size_t pos = 2;
  bool have_frame = false;
  while (pos + 4 <= jpeg.size()) {
    if (static_cast<uint8_t>(jpeg[pos]) != 0xFF) return bad("expected a marker");
    while (pos < jpeg.size() && static_cast<uint8_t>(jpeg[pos]) == 0xFF) ++pos;  // fill bytes
    if (pos + 2 >= jpeg.size()) break;
    const auto marker = static_cast<uint8_t>(jpeg[pos++]);
    if (marker == 0xD9) break;
    const size_t length = static_cast<size_t>(u16(jpeg, pos));
    if (length < 2 || pos + length > jpeg.size()) return bad("segment runs past the end");
    std::string_view seg = jpeg.substr(pos + 2, length - 2);
    pos += length;
    Error e;
    switch (marker) {
      case 0xC0:
      case 0xC1:
        e = d.read_sof(seg);
        have_frame = e.ok();
        break;
      case 0xC2:
      case 0xC3:
      case 0xC5:
      case 0xC6:
      case 0xC7:
      case 0xC9:
      case 0xCA:
      case 0xCB:
      case 0xCD:
      case 0xCE:
      case 0xCF:
        return bad("only baseline Huffman JPEGs are read");
      case 0xC4:
        e = d.read_dht(seg);
        break;
      case 0xDB:
        e = d.read_dqt(seg);
        break;
      case 0xDD:
        if (seg.size() < 2) return bad("bad restart interval");
        d.restart_interval = u16(seg, 0);
        break;
      case 0xDA:
        if (!have_frame) return bad("scan before the frame header");
        return d.read_scan(seg, pos);
      case 0xE0:
        d.jfif = seg.substr(0, 5) == std::string_view("JFIF\0", 5);
        break;
      case 0xEE:
        if (seg.size() >= 12 && seg.substr(0, 5) == "Adobe") d.adobe_transform = seg[11];
        break;
      default:
        break;  // other APPn, COM, ...
    }
    if (e.failed()) return e;
  }
  return bad("no scan");
}

int luma_spread(const JpegLuma& luma) {
  int lo = 255, hi = 0;
  for (int by = 0; by < luma.height / 8 && by < luma.blocks_y; ++by) {
    for (int bx = 0; bx < luma.width / 8 && bx < luma.blocks_x; ++bx) {
      lo = std::min(lo, luma.at(bx, by));
      hi = std::max(hi, luma.at(bx, by));
    }
  }
  return hi >= lo ? hi - lo : 0;
}

}  // namespace pvb::testing
