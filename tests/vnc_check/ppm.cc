#include "tests/vnc_check/ppm.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pvb {

std::optional<RgbImage> read_ppm(const std::string& path, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string data = ss.str();
  // Header: "P6", width, height, maxval, separated by whitespace (comments are not written by
  // anything we compare with), then one whitespace byte.
  size_t pos = 0;
  auto token = [&]() -> std::string {
    while (pos < data.size() && isspace(static_cast<unsigned char>(data[pos]))) ++pos;
    size_t start = pos;
    while (pos < data.size() && !isspace(static_cast<unsigned char>(data[pos]))) ++pos;
    return data.substr(start, pos - start);
  };
  const std::string magic = token(), w = token(), h = token(), max = token();
  RgbImage image;
  image.width = std::atoi(w.c_str());
  image.height = std::atoi(h.c_str());
  if (magic != "P6" || max != "255" || image.width <= 0 || image.height <= 0 ||
      image.width > 16384 || image.height > 16384 || pos >= data.size()) {
    *error = path + " is not a binary PPM with 8-bit channels";
    return std::nullopt;
  }
  ++pos;
  const size_t n = static_cast<size_t>(image.width) * image.height * 3;
  if (data.size() - pos != n) {
    *error = path + " has " + std::to_string(data.size() - pos) + " bytes of pixels, expected " +
             std::to_string(n);
    return std::nullopt;
  }
  image.rgb.assign(data.begin() + static_cast<std::ptrdiff_t>(pos), data.end());
  return image;
}

bool write_ppm(const std::string& path, const RgbImage& image, std::string* error) {
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    *error = "cannot create " + tmp;
    return false;
  }
  std::fprintf(f, "P6\n%d %d\n255\n", image.width, image.height);
  const bool ok = std::fwrite(image.rgb.data(), 1, image.rgb.size(), f) == image.rgb.size();
  if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    *error = "cannot write " + path;
    return false;
  }
  return true;
}

ImageDifference compare_images(const RgbImage& a, const RgbImage& b) {
  ImageDifference d;
  d.same_size = a.width == b.width && a.height == b.height && a.rgb.size() == b.rgb.size();
  if (!d.same_size) return d;
  uint64_t total = 0;
  for (size_t i = 0; i < a.rgb.size(); i += 3) {
    bool differs = false;
    for (size_t c = 0; c < 3; ++c) {
      const int diff = std::abs(int{a.rgb[i + c]} - int{b.rgb[i + c]});
      total += static_cast<uint64_t>(diff);
      if (diff > d.max_channel_difference) d.max_channel_difference = diff;
      differs |= diff != 0;
    }
    d.differing_pixels += differs;
  }
  d.mean_channel_difference = a.rgb.empty() ? 0 : static_cast<double>(total) / a.rgb.size();
  return d;
}

}  // namespace pvb
