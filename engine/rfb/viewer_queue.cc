#include "engine/rfb/viewer_queue.h"

#include <initializer_list>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/input_state.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {

QueuePush ViewerQueue::push(const ClientMessage& m, const ByteChain& in, size_t offset) {
  std::string bytes(m.length, '\0');
  in.copy_out(bytes.data(), bytes.size(), offset);
  return push(m, bytes);
}

QueuePush ViewerQueue::push(const ClientMessage& m, std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  Entry e;
  e.type = m.type;
  const uint8_t mask_before = last_mask_;
  switch (m.type) {
    case kSetPixelFormat:
    case kSetEncodings:
      return QueuePush::absorbed;
    case kPointerEvent: {
      if (bytes.size() < 6) break;
      const uint8_t mask = p[1];
      const bool move = mask == last_mask_;
      last_mask_ = mask;
      if (!move) break;
      // The back is a move with this mask: same buttons, so only the position changes.
      if (!entries_.empty() && entries_.back().tier == Tier::pointer_move &&
          static_cast<uint8_t>(entries_.back().bytes[1]) == mask) {
        entries_.back().bytes.assign(bytes);
        ++drops_.coalesced;
        return QueuePush::coalesced;
      }
      e.tier = Tier::pointer_move;
      break;
    }
    case kFramebufferUpdateRequest:
      e.tier = Tier::update_request;
      break;
    case kEnableContinuousUpdates:
    case kSetDesktopSize:
      // Only the latest of these matters to the server's state.
      for (Entry& older : entries_) {
        if (older.type == m.type) older.tier = Tier::superseded;
      }
      break;
    case kClientCutText:
      // Plain text (a non-negative length); the extended clipboard is a protocol of its own.
      if (bytes.size() >= 8 && get_s32(p + 4) >= 0) e.tier = Tier::cut_text;
      break;
    default:
      break;
  }
  e.bytes.assign(bytes);

  auto over = [&] { return bytes_ + e.bytes.size() > cap_; };
  for (Tier t : {Tier::pointer_move, Tier::update_request, Tier::superseded, Tier::cut_text}) {
    while (over() && drop_oldest(t)) {
    }
    if (!over()) break;
    // The new message is the newest of its tier: it goes after the older ones of that tier.
    if (e.tier == t) {
      count_drop(t);
      return QueuePush::dropped;
    }
  }
  if (over()) {
    last_mask_ = mask_before;  // not queued: the server will not see this event
    return QueuePush::overflow;
  }
  bytes_ += e.bytes.size();
  entries_.push_back(std::move(e));
  return QueuePush::queued;
}

bool ViewerQueue::drop_oldest(Tier tier) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->tier != tier) continue;
    bytes_ -= it->bytes.size();
    entries_.erase(it);
    count_drop(tier);
    return true;
  }
  return false;
}

void ViewerQueue::count_drop(Tier tier) {
  switch (tier) {
    case Tier::pointer_move:
      ++drops_.pointer_moves;
      break;
    case Tier::update_request:
      ++drops_.update_requests;
      break;
    case Tier::superseded:
      ++drops_.superseded;
      break;
    case Tier::cut_text:
      ++drops_.cut_texts;
      break;
    case Tier::keep:
      break;
  }
}

void ViewerQueue::drain_to(ByteChain& out, InputStateTracker* input) {
  for (const Entry& e : entries_) {
    out.append(e.bytes);
    if (input != nullptr) input->sent(e.bytes);
  }
  entries_.clear();
  bytes_ = 0;
}

}  // namespace pvb::rfb
