// Binary PPM (P6, maxval 255) pictures and their comparison: what pvb-vnc-check writes and
// compares, and what the fake VM dumps (fake_screen.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pvb {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3, rows top to bottom
};

// nullopt (and *error set) when the file cannot be read or is not a P6 PPM with maxval 255.
std::optional<RgbImage> read_ppm(const std::string& path, std::string* error);
// Writes atomically (a temporary file renamed over path). false (and *error set) on failure.
bool write_ppm(const std::string& path, const RgbImage& image, std::string* error);

struct ImageDifference {
  bool same_size = false;
  uint64_t differing_pixels = 0;
  int max_channel_difference = 0;
  double mean_channel_difference = 0;  // over every channel of every pixel
};
ImageDifference compare_images(const RgbImage& a, const RgbImage& b);

}  // namespace pvb
