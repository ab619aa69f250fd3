// FakeVmScreens: one FakeScreen per guest, shared by every console connection to that guest, for
// programs that serve many guests (mock-pveproxy): a viewer that reconnects sees the same screen,
// still ticking, and a test can freeze, step, resize or dump a guest's screen while viewers are
// connected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/error.h"
#include "tests/fake_vm/fake_screen.h"

namespace pvb {

class FakeVmScreens {
 public:
  // The guest's screen, made on first use with this name and size (later calls get the same one,
  // whatever they pass). New screens are frozen at freeze_at() when that is set.
  std::shared_ptr<FakeScreen> screen(uint32_t guest, const std::string& name, uint16_t width,
                                     uint16_t height);
  // nullptr when the guest has no screen yet.
  std::shared_ptr<FakeScreen> find(uint32_t guest) const;

  void set_freeze_at(std::optional<uint64_t> tick) { freeze_at_ = tick; }
  std::optional<uint64_t> freeze_at() const { return freeze_at_; }
  // How often new (running) screens tick.
  void set_tick_ms(uint32_t ms) { tick_ms_ = ms; }
  // Every frozen screen moves to its next tick.
  void step_all();
  // Writes every screen (brought to `now_ms` first) as DIR/<guest>.ppm, atomically each.
  Error dump_all(const std::string& dir, uint64_t now_ms);

 private:
  std::optional<uint64_t> freeze_at_;
  uint32_t tick_ms_ = 1000;
  std::map<uint32_t, std::shared_ptr<FakeScreen>> screens_;
};

// The process's screens (mock-pveproxy's fake VMs).
FakeVmScreens& fake_vm_screens();

}  // namespace pvb
