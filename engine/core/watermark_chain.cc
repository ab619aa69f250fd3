#include "engine/core/watermark_chain.h"

#include <cassert>

namespace pvb {

void WatermarkChain::set_marks(size_t high, size_t low) {
  mark_.set_marks(high, low);
  check();
}

void WatermarkChain::move_from(ByteChain& src) {
  chain_.move_from(src);
  check();
}

size_t WatermarkChain::move_to(ByteChain& dst, size_t n) {
  const size_t moved = dst.move_from(chain_, n);
  check();
  return moved;
}

void WatermarkChain::drain(size_t n) {
  chain_.drain(n);
  check();
}

void WatermarkChain::clear() {
  chain_.clear();
  check();
}

void WatermarkChain::check() {
  if (batch_depth_ > 0) return;
  switch (mark_.update(level())) {
    case Watermark::Crossing::went_high:
      assert(!went_high_last_ && "watermark: two highs without a low between them");
      went_high_last_ = true;
      if (on_high_) on_high_();
      break;
    case Watermark::Crossing::went_low:
      assert(went_high_last_ && "watermark: a low without a high before it");
      went_high_last_ = false;
      if (on_low_) on_low_();
      break;
    case Watermark::Crossing::none:
      break;
  }
}

}  // namespace pvb
