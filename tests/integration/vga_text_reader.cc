#include "tests/integration/vga_text_reader.h"

#include <algorithm>

namespace pvb::testing {

namespace {

bool blank(const std::string& cell) {
  return std::all_of(cell.begin(), cell.end(), [](char c) { return c == 0; });
}

}  // namespace

std::string VgaTextReader::cell(const std::string& rgb, int row, int column) const {
  std::string out;
  out.reserve(kCellWidth * kCellHeight * 3);
  for (int y = 0; y < kCellHeight; ++y) {
    const size_t at =
        (static_cast<size_t>(row * kCellHeight + y) * width_ + column * kCellWidth) * 3;
    out.append(rgb, at, kCellWidth * 3);
  }
  return out;
}

std::optional<VgaTextReader> VgaTextReader::from_banner(int width, int height,
                                                        const std::string& rgb,
                                                        const std::string& banner) {
  VgaTextReader r(width, height);
  const int columns = width / kCellWidth, rows = height / kCellHeight;
  if (columns < static_cast<int>(banner.size()) || rgb.size() != size_t{3} * width * height) {
    return std::nullopt;
  }
  for (int row = 0; row < rows; ++row) {
    std::map<std::string, char> glyphs;
    bool consistent = true;
    for (size_t i = 0; i < banner.size() && consistent; ++i) {
      const std::string c = r.cell(rgb, row, static_cast<int>(i));
      if (banner[i] == ' ') {
        consistent = blank(c);
        continue;
      }
      auto [it, added] = glyphs.emplace(c, banner[i]);
      consistent = !blank(c) && it->second == banner[i];  // a cell means one letter only
    }
    // And a letter is one cell only: as many distinct cells as distinct letters.
    std::string letters = banner;
    letters.erase(std::remove(letters.begin(), letters.end(), ' '), letters.end());
    std::sort(letters.begin(), letters.end());
    letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
    if (consistent && glyphs.size() == letters.size()) {
      r.banner_row_ = row;
      r.glyphs_ = std::move(glyphs);
      return r;
    }
  }
  return std::nullopt;
}

std::string VgaTextReader::row_text(const std::string& rgb, int row) const {
  std::string text;
  if (row < 0 || row >= height_ / kCellHeight || rgb.size() != size_t{3} * width_ * height_) {
    return text;
  }
  for (int column = 0; column < width_ / kCellWidth; ++column) {
    const std::string c = cell(rgb, row, column);
    if (blank(c)) {
      text += ' ';
    } else {
      auto it = glyphs_.find(c);
      text += it == glyphs_.end() ? '?' : it->second;
    }
  }
  text.erase(text.find_last_not_of(' ') + 1);
  return text;
}

}  // namespace pvb::testing
