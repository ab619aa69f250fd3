// FakeScreen: what the fake VM shows, shared by all of its connections. The test pattern
// (colour bars, the guest's name) with an activity strip along the bottom that is redrawn every
// tick (a second by default), so viewers see updates flowing and every encoder's methods run:
//   a counter (the tick, drawn with font5x7) on black: few colours;
//   a solid box whose colour changes each tick: fills and solid tiles;
//   a four-colour checkerboard that moves: palettes;
//   a smooth ramp: Tight's gradient filter;
//   noise: raw tiles, Tight copy and JPEG.
// The picture is a pure function of size, name and tick (render()), so a test can know what the
// VM shows. The tick follows a monotonic clock given to refresh(), or is frozen (freeze(); then
// step() advances it by one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/core/error.h"
#include "tests/fake_vm/framebuffer.h"
#include "tests/fake_vm/rect_encoder.h"

namespace pvb {

class FakeScreen {
 public:
  FakeScreen(uint16_t width, uint16_t height, std::string name, uint32_t tick_ms = 1000);

  // The picture for `tick`.
  static Framebuffer render(uint16_t width, uint16_t height, std::string_view name, uint64_t tick);
  // The rows the activity strip covers (empty on screens too small for one).
  static ScreenRect activity_area(uint16_t width, uint16_t height);

  // Brings the picture to the tick `now_ms` falls in; the first call starts tick 0. Returns true
  // when the picture changed. Frozen screens stay as they are.
  bool refresh(uint64_t now_ms);
  void freeze(uint64_t tick);
  bool frozen() const { return frozen_; }
  // Frozen: the next tick (the picture changes at once). Running: nothing.
  void step();
  uint64_t tick() const { return tick_; }

  // A new size (1..8192 each): the picture is redrawn and size_generation() increases.
  void resize(uint16_t width, uint16_t height);
  uint64_t size_generation() const { return size_generation_; }

  const Framebuffer& framebuffer() const { return framebuffer_; }
  uint16_t width() const { return framebuffer_.width(); }
  uint16_t height() const { return framebuffer_.height(); }
  const std::string& name() const { return name_; }

  // Writes the picture as a binary PPM (P6, 8 bits per channel), atomically: a temporary file in
  // the same directory renamed over `path`, so a reader never sees half a picture.
  Error write_ppm(const std::string& path) const;

 private:
  void set_tick(uint64_t tick);

  std::string name_;
  uint32_t tick_ms_;
  std::optional<uint64_t> start_ms_;
  bool frozen_ = false;
  uint64_t tick_ = 0;
  uint64_t size_generation_ = 0;
  Framebuffer framebuffer_;
};

}  // namespace pvb
