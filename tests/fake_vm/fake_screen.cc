#include "tests/fake_vm/fake_screen.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tests/fake_vm/font5x7.h"

namespace pvb {

namespace {

constexpr uint32_t kStripBackground = 0x000000;
constexpr uint32_t kCounterColour = 0xFFFFFF;
constexpr uint32_t kSolidColours[] = {0xC03030, 0x30C030, 0x3030C0, 0xC0C030, 0x30C0C0, 0xC030C0};
constexpr uint32_t kCheckerColours[] = {0xE0E0E0, 0x202020, 0xE08000, 0x0080E0};

uint32_t noise(int x, int y, uint64_t tick) {
  // A small integer hash: looks random, is the same everywhere.
  uint64_t h = static_cast<uint64_t>(x) * 0x9E3779B1u ^ static_cast<uint64_t>(y) * 0x85EBCA77u ^
               tick * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return static_cast<uint32_t>(h) & 0xFFFFFF;
}

}  // namespace

ScreenRect FakeScreen::activity_area(uint16_t width, uint16_t height) {
  if (width < 64 || height < 60) return {};
  const auto h = static_cast<uint16_t>(height / 10);
  return {0, static_cast<uint16_t>(height - h), width, h};
}

Framebuffer FakeScreen::render(uint16_t width, uint16_t height, std::string_view name,
                               uint64_t tick) {
  const ScreenRect strip = activity_area(width, height);
  Framebuffer fb = Framebuffer::test_pattern(width, height, name, strip.h);
  if (strip.empty()) return fb;
  const int y0 = strip.y, sh = strip.h;
  fb.fill_rect(0, y0, width, sh, kStripBackground);

  char counter[24];
  std::snprintf(counter, sizeof counter, "%06llu", static_cast<unsigned long long>(tick % 1000000));
  const int scale = std::max(1, (sh - 2) / (kGlyphHeight + 1));
  fb.draw_text(2, y0 + (sh - kGlyphHeight * scale) / 2, counter, scale, kCounterColour);
  const int x0 = 2 + Framebuffer::text_width(counter, scale) + 4;
  const int bw = (width - x0) / 4;
  if (bw <= 0) return fb;

  // Solid.
  fb.fill_rect(x0, y0, bw, sh, kSolidColours[tick % 6]);
  // Checkerboard of 4x4 cells in four colours, moving one cell a tick.
  for (int y = 0; y < sh; ++y) {
    for (int x = 0; x < bw; ++x) {
      const size_t i = (static_cast<size_t>(x / 4 + y / 4) + tick) % 4;
      fb.fill_rect(x0 + bw + x, y0 + y, 1, 1, kCheckerColours[i]);
    }
  }
  // A ramp: red across, green down, blue with the tick. Each channel depends on one coordinate,
  // so Tight's gradient predictor is exact inside it.
  for (int y = 0; y < sh; ++y) {
    for (int x = 0; x < bw; ++x) {
      const uint32_t r = static_cast<uint32_t>(x * 255 / std::max(1, bw - 1));
      const uint32_t g = static_cast<uint32_t>(y * 255 / std::max(1, sh - 1));
      const uint32_t b = static_cast<uint32_t>((tick * 37) & 0xFF);
      fb.fill_rect(x0 + 2 * bw + x, y0 + y, 1, 1, r << 16 | g << 8 | b);
    }
  }
  // Noise.
  for (int y = 0; y < sh; ++y) {
    for (int x = 0; x < bw; ++x) fb.fill_rect(x0 + 3 * bw + x, y0 + y, 1, 1, noise(x, y, tick));
  }
  return fb;
}

FakeScreen::FakeScreen(uint16_t width, uint16_t height, std::string name, uint32_t tick_ms)
    : name_(std::move(name)),
      tick_ms_(std::max<uint32_t>(tick_ms, 1)),
      framebuffer_(render(std::max<uint16_t>(width, 1), std::max<uint16_t>(height, 1), name_, 0)) {}

void FakeScreen::set_tick(uint64_t tick) {
  if (tick == tick_) return;
  tick_ = tick;
  framebuffer_ = render(framebuffer_.width(), framebuffer_.height(), name_, tick_);
}

bool FakeScreen::refresh(uint64_t now_ms) {
  if (frozen_) return false;
  if (!start_ms_) start_ms_ = now_ms;
  const uint64_t before = tick_;
  set_tick(now_ms >= *start_ms_ ? (now_ms - *start_ms_) / tick_ms_ : tick_);
  return tick_ != before;
}

void FakeScreen::freeze(uint64_t tick) {
  frozen_ = true;
  set_tick(tick);
}

void FakeScreen::step() {
  if (frozen_) set_tick(tick_ + 1);
}

void FakeScreen::resize(uint16_t width, uint16_t height) {
  width = std::clamp<uint16_t>(width, 1, 8192);
  height = std::clamp<uint16_t>(height, 1, 8192);
  framebuffer_ = render(width, height, name_, tick_);
  ++size_generation_;
}

Error FakeScreen::write_ppm(const std::string& path) const {
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error(Errc::io, "cannot create " + tmp + ": " + std::strerror(errno));
  std::string data = "P6\n" + std::to_string(width()) + " " + std::to_string(height()) + "\n255\n";
  const size_t head = data.size();
  data.resize(head + size_t{width()} * height() * 3);
  char* p = data.data() + head;
  for (uint32_t px : framebuffer_.pixels()) {
    *p++ = static_cast<char>(px >> 16);
    *p++ = static_cast<char>(px >> 8);
    *p++ = static_cast<char>(px);
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Error(Errc::io, "cannot write " + tmp + ": " + std::strerror(e));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Error(Errc::io, "cannot write " + path + ": " + std::strerror(e));
  }
  return Error();
}

}  // namespace pvb
