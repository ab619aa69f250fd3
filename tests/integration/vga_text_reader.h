// Reads the characters off a QEMU VGA text screen (720x400 RGB: 80 columns by 25 rows of 9x16
// cells) running the mock's echo guest (mock-pveproxy --qemu-echo-guest), without a font: the
// guest's own banner line is the dictionary. Every character of the banner is drawn by the same
// BIOS font, so a cell elsewhere that is pixel for pixel one of the banner's cells is that letter.
// Tests use it to check what keys a real QEMU received, in order.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace pvb::testing {

// The line the echo guest prints (tests/mock_pveproxy/server/qemu_echo_guest.cc).
inline constexpr char kEchoGuestBanner[] = "pvebridge echo guest: each key typed shows here";

class VgaTextReader {
 public:
  static constexpr int kCellWidth = 9, kCellHeight = 16;

  // `rgb`: width * height pixels of 3 bytes (a PPM's body). Finds the banner's row: the one
  // whose cells repeat exactly where the banner's letters repeat, differ where they differ, and
  // are blank at its spaces. nullopt: no such row (not booted yet, or not a text screen).
  static std::optional<VgaTextReader> from_banner(int width, int height, const std::string& rgb,
                                                  const std::string& banner = kEchoGuestBanner);

  int banner_row() const { return banner_row_; }
  // Row `row` of `rgb` (same geometry) as text: ' ' for a blank cell, the banner's letter for a
  // cell equal to one of its cells, '?' for any other, trailing blanks cut.
  std::string row_text(const std::string& rgb, int row) const;

 private:
  VgaTextReader(int width, int height) : width_(width), height_(height) {}
  std::string cell(const std::string& rgb, int row, int column) const;

  int width_ = 0;
  int height_ = 0;
  int banner_row_ = -1;
  std::map<std::string, char> glyphs_;  // a cell's pixels -> its letter
};

}  // namespace pvb::testing
