// What the viewer sends while the upstream is away (issue 14): kept in order, bounded, and
// delivered to the new server session after a reconnect.
//
// Input is whole client messages as RfbClientStream delimits them. The rules:
// - SetPixelFormat and SetEncodings are not queued ("absorbed"): the resume replays the viewer's
//   latest of each (RfbClientStream records them) before anything queued, which is what the
//   viewer decodes with already (it switched when it sent them). Re-sending older ones in between
//   would switch the server back for a while.
// - A PointerEvent that only moves (same button mask as the pointer event before it) replaces a
//   move at the back of the queue with the same mask: the last position wins. A press or release
//   (a mask change) is never merged, so it stays where it happened.
// - Beyond the cap (64 KiB of message bytes) the oldest droppable messages go, in this order:
//   1. pointer moves (the pointer ends where the next event puts it);
//   2. FramebufferUpdateRequests (the resume asks for a full non-incremental update anyway);
//   3. superseded state: an EnableContinuousUpdates or SetDesktopSize followed by a newer one of
//      its kind, and plain-text ClientCutText (the clipboard a later copy replaces; a lost one
//      costs a paste of older text, never a wrong key).
//   Never dropped: key events (plain and QEMU extended), button changes, fences, XVP, QEMU audio,
//   the extended clipboard, the latest EnableContinuousUpdates / SetDesktopSize.
// - When only undroppable messages would remain beyond the cap, push() refuses the message
//   (overflow): the caller ends the session rather than lose a key. At human typing speed 64 KiB
//   is over 8000 key events; only a runaway client gets there.
// The queue never holds more than its cap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "engine/core/byte_chain.h"
#include "engine/rfb/client_stream.h"

namespace pvb::rfb {

class InputStateTracker;

enum class QueuePush : uint8_t {
  queued,     // at the back (older droppable messages may have gone to make room)
  coalesced,  // a pointer move merged into the move at the back
  absorbed,   // SetPixelFormat / SetEncodings: the resume replays the latest
  dropped,    // droppable and too big to fit even alone (a huge ClientCutText)
  overflow,   // undroppable and no room: not queued; end the session
};

struct QueueDrops {
  uint64_t pointer_moves = 0;
  uint64_t update_requests = 0;
  uint64_t superseded = 0;  // continuous-updates / desktop-size messages a later one replaced
  uint64_t cut_texts = 0;
  uint64_t coalesced = 0;  // pointer moves merged (not lost: their successor carries on)
};

class ViewerQueue {
 public:
  static constexpr size_t kDefaultCap = 64 * 1024;
  explicit ViewerQueue(size_t cap = kDefaultCap) : cap_(cap) {}

  // The button mask the server last saw before this queue's first PointerEvent (what
  // InputStateTracker says), so the first queued pointer event is classified right.
  void set_button_mask_before(uint8_t mask) { last_mask_ = mask; }

  // `bytes` is one whole message as RfbClientStream found it (m.length bytes).
  QueuePush push(const ClientMessage& m, std::string_view bytes);
  // The same, with the message at `offset` in `in` (copied: the queue outlives the chain).
  QueuePush push(const ClientMessage& m, const ByteChain& in, size_t offset);

  // Appends every queued message to out, in order, and empties the queue; each also goes to
  // `input` (when given) as sent to the new session.
  void drain_to(ByteChain& out, InputStateTracker* input = nullptr);

  size_t bytes() const { return bytes_; }
  size_t messages() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  size_t cap() const { return cap_; }
  const QueueDrops& drops() const { return drops_; }

 private:
  enum class Tier : uint8_t { keep, pointer_move, update_request, superseded, cut_text };
  struct Entry {
    uint8_t type = 0;
    Tier tier = Tier::keep;
    std::string bytes;
  };
  // Drops the oldest entry of `tier`; false when there is none.
  bool drop_oldest(Tier tier);
  void count_drop(Tier tier);

  size_t cap_;
  size_t bytes_ = 0;
  uint8_t last_mask_ = 0;  // the mask of the latest pointer event pushed (or the one before)
  std::deque<Entry> entries_;
  QueueDrops drops_;
};

}  // namespace pvb::rfb
