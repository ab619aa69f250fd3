// Which keys and mouse buttons the server may still hold down (issue 14): after a reconnect, the
// releases that keep anything from sticking.
//
// Feed it every viewer message handed to the current server session (sent()); after the link
// broke, write_releases() appends, for the new session, a release of every key and button the old
// one may still hold. The keys stay remembered (as up): the releases may be lost in turn if the
// new link breaks before they arrive, and the next reconnect then sends them again.
//
// "May still hold" is wider than "down as far as we sent": a release handed to the old link just
// before it broke may never have arrived (a stalled link loses seconds of input). So keys are
// released if they are down as sent *or* were used recently (the last kMaxKeys distinct keys). A
// release of a key that is not down is harmless: QEMU's keyboard state drops key-ups for keys not
// pressed (ui/kbd-state.c), and vncterm acts on key presses only. Keyboard state in QEMU belongs to
// the display, not the connection, so a key-up on the new connection releases the guest's key.
//
// Buttons differ: QEMU turns a PointerEvent into button transitions against the *connection's*
// last mask, which starts at 0, so a mask-0 event on a new connection releases nothing. A button
// down as sent is therefore released by a press and a release at the last position (the guest
// sees the end of the drag the user was in). A button whose release was sent and lost is not
// replayed: pressing it again would click where the pointer is, which is worse than a button the
// user's next click frees. Wheel buttons (4-7) are never held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/rfb/client_stream.h"

namespace pvb::rfb {

inline constexpr uint8_t kWheelButtons = 0x78;  // buttons 4-7: scroll steps, never held

class InputStateTracker {
 public:
  static constexpr size_t kMaxKeys = 128;

  // One whole viewer message as handed to the server (other than key and pointer events: ignored).
  void sent(std::string_view message);
  void sent(const ClientMessage& m, const ByteChain& in, size_t offset);

  // Appends the releases for a new server session (KeyEvent / QEMU extended key event up, and
  // PointerEvents); afterwards nothing is down as sent, and the keys are remembered as up.
  void write_releases(ByteChain& out);

  // As sent on the current session.
  uint8_t button_mask() const { return mask_; }
  size_t keys_down() const;
  size_t keys_remembered() const { return keys_.size(); }

 private:
  struct Key {
    bool extended = false;  // pressed with the QEMU extended key event
    uint32_t keysym = 0;
    uint32_t keycode = 0;  // extended only; identifies the key when non-zero
    bool down = false;
    uint64_t used = 0;  // when last pressed or released (a counter)
  };
  void key(bool extended, bool down, uint32_t keysym, uint32_t keycode);

  std::vector<Key> keys_;
  uint64_t clock_ = 0;
  uint8_t mask_ = 0;
  uint16_t x_ = 0, y_ = 0;
};

// Client message writers (the releases above, and tests).
void write_key_event(bool down, uint32_t keysym, ByteChain& out);
void write_qemu_key_event(bool down, uint32_t keysym, uint32_t keycode, ByteChain& out);
void write_pointer_event(uint8_t mask, uint16_t x, uint16_t y, ByteChain& out);

}  // namespace pvb::rfb
