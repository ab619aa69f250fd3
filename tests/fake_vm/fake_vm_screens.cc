#include "tests/fake_vm/fake_vm_screens.h"

namespace pvb {

std::shared_ptr<FakeScreen> FakeVmScreens::screen(uint32_t guest, const std::string& name,
                                                  uint16_t width, uint16_t height) {
  std::shared_ptr<FakeScreen>& s = screens_[guest];
  if (!s) {
    s = std::make_shared<FakeScreen>(width, height, name, tick_ms_);
    if (freeze_at_) s->freeze(*freeze_at_);
  }
  return s;
}

std::shared_ptr<FakeScreen> FakeVmScreens::find(uint32_t guest) const {
  auto it = screens_.find(guest);
  return it == screens_.end() ? nullptr : it->second;
}

void FakeVmScreens::step_all() {
  for (auto& [guest, s] : screens_) s->step();
}

Error FakeVmScreens::dump_all(const std::string& dir, uint64_t now_ms) {
  for (auto& [guest, s] : screens_) {
    s->refresh(now_ms);
    Error e = s->write_ppm(dir + "/" + std::to_string(guest) + ".ppm");
    if (e.failed()) return e;
  }
  return Error();
}

FakeVmScreens& fake_vm_screens() {
  static FakeVmScreens screens;
  return screens;
}

}  // namespace pvb
