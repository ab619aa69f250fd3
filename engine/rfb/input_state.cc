#include "engine/rfb/input_state.h"

#include <algorithm>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/chain_view.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {

void InputStateTracker::sent(const ClientMessage& m, const ByteChain& in, size_t offset) {
  if (m.type != kKeyEvent && m.type != kPointerEvent && m.type != kClientQemu) return;
  // At most 12 header bytes: a key or pointer event whole.
  uint8_t b[12];
  const size_t n = std::min<size_t>(m.length, sizeof b);
  ChainView(in, offset).copy(0, b, n);
  sent(std::string_view(reinterpret_cast<const char*>(b), n));
}

void InputStateTracker::sent(std::string_view message) {
  const auto* p = reinterpret_cast<const uint8_t*>(message.data());
  if (message.empty()) return;
  switch (p[0]) {
    case kKeyEvent:
      if (message.size() >= 8) key(false, p[1] != 0, get_u32(p + 4), 0);
      break;
    case kClientQemu:
      if (message.size() >= 12 && p[1] == kQemuExtendedKeyEvent) {
        key(true, get_u16(p + 2) != 0, get_u32(p + 4), get_u32(p + 8));
      }
      break;
    case kPointerEvent:
      if (message.size() >= 6) {
        mask_ = p[1];
        x_ = get_u16(p + 2);
        y_ = get_u16(p + 4);
      }
      break;
    default:
      break;
  }
}

void InputStateTracker::key(bool extended, bool down, uint32_t keysym, uint32_t keycode) {
  // The key's identity: QEMU's extended events name the physical key by keycode (the keysym
  // of a release may differ with the modifiers); plain events have only the keysym.
  auto same = [&](const Key& k) {
    if (k.extended != extended) return false;
    return extended && keycode != 0 ? k.keycode == keycode : k.keysym == keysym;
  };
  auto it = std::find_if(keys_.begin(), keys_.end(), same);
  if (it == keys_.end()) {
    if (keys_.size() >= kMaxKeys) {
      // Forget the least recently used key, preferring one that is up.
      auto victim = keys_.begin();
      for (auto k = keys_.begin(); k != keys_.end(); ++k) {
        if (std::make_pair(k->down, k->used) < std::make_pair(victim->down, victim->used)) {
          victim = k;
        }
      }
      keys_.erase(victim);
    }
    keys_.push_back(Key{extended, keysym, keycode, down, 0});
    it = keys_.end() - 1;
  }
  it->down = down;
  it->used = ++clock_;
  if (down) {
    it->keysym = keysym;  // the release repeats what the press said
    it->keycode = keycode;
  }
}

size_t InputStateTracker::keys_down() const {
  return static_cast<size_t>(
      std::count_if(keys_.begin(), keys_.end(), [](const Key& k) { return k.down; }));
}

void InputStateTracker::write_releases(ByteChain& out) {
  // Keys down first (what surely needs it), then the recently used ones (a lost release).
  for (bool down : {true, false}) {
    for (const Key& k : keys_) {
      if (k.down != down) continue;
      if (k.extended) {
        write_qemu_key_event(false, k.keysym, k.keycode, out);
      } else {
        write_key_event(false, k.keysym, out);
      }
    }
  }
  const uint8_t held = mask_ & static_cast<uint8_t>(~kWheelButtons);
  if (held != 0) {
    write_pointer_event(held, x_, y_, out);
    write_pointer_event(0, x_, y_, out);
  }
  // The releases are in flight on the new link as much as anything else: if it breaks before
  // they arrive, the next reconnect must send them again. So the keys stay remembered, as up.
  for (Key& k : keys_) k.down = false;
  mask_ = 0;
}

void write_key_event(bool down, uint32_t keysym, ByteChain& out) {
  uint8_t b[8] = {kKeyEvent, static_cast<uint8_t>(down ? 1 : 0), 0, 0};
  put_u32(b + 4, keysym);
  out.append_header(b, sizeof b);
}

void write_qemu_key_event(bool down, uint32_t keysym, uint32_t keycode, ByteChain& out) {
  uint8_t b[12] = {kClientQemu, kQemuExtendedKeyEvent};
  put_u16(b + 2, down ? 1 : 0);
  put_u32(b + 4, keysym);
  put_u32(b + 8, keycode);
  out.append_header(b, sizeof b);
}

void write_pointer_event(uint8_t mask, uint16_t x, uint16_t y, ByteChain& out) {
  uint8_t b[6] = {kPointerEvent, mask};
  put_u16(b + 2, x);
  put_u16(b + 4, y);
  out.append_header(b, sizeof b);
}

}  // namespace pvb::rfb
