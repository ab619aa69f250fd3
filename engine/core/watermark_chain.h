// WatermarkChain: a pending-write queue that keeps its own watermark (the model: Envoy's
// WatermarkBuffer). Every change made through it (append, move in, move out, drain, clear)
// re-checks the level against the marks, so no caller can forget to. The level is the bytes in the
// chain plus what a `below` source reports: an overlay's pending bytes include its lower
// transport's queue, which changes without our knowing; recheck() is how the owner says it did.
//
// Crossings alternate strictly, starting with "high": on_high when the level rises above the high
// mark, on_low when it falls to the low mark after that (asserted in debug builds). A Batch defers
// the checks of several changes to one at its end, so handing bytes from the queue to a lower layer
// never shows a dip that is not there.
#pragma once

#include <cstddef>
#include <functional>

#include "engine/core/byte_chain.h"
#include "engine/core/watermark.h"

namespace pvb {

class WatermarkChain {
 public:
  WatermarkChain(size_t high, size_t low) : mark_(high, low) {}
  WatermarkChain(const WatermarkChain&) = delete;
  WatermarkChain& operator=(const WatermarkChain&) = delete;

  // Called on each crossing, from inside the change that caused it.
  void set_callbacks(std::function<void()> on_high, std::function<void()> on_low) {
    on_high_ = std::move(on_high);
    on_low_ = std::move(on_low);
  }
  // Bytes outside the chain that count as ours, read at every check (null: none).
  void set_below(std::function<size_t()> below) { below_ = std::move(below); }
  void set_marks(size_t high, size_t low);
  size_t high() const { return mark_.high(); }
  size_t low() const { return mark_.low(); }
  // Above the high mark as of the latest check.
  bool above() const { return mark_.above(); }
  size_t level() const { return chain_.size() + (below_ ? below_() : 0); }

  // Reading: the chain itself, read-only (changes go through the methods below).
  const ByteChain& chain() const { return chain_; }
  size_t size() const { return chain_.size(); }
  bool empty() const { return chain_.empty(); }
  const Slice& front() const { return chain_.front(); }
  size_t copy_out(void* dst, size_t n, size_t offset = 0) const {
    return chain_.copy_out(dst, n, offset);
  }

  // Changes; each re-checks the level.
  void move_from(ByteChain& src);
  // Moves the first n bytes (or all, if fewer) into dst. Returns the bytes moved.
  size_t move_to(ByteChain& dst, size_t n = SIZE_MAX);
  void drain(size_t n);
  void clear();
  // The level below changed.
  void recheck() { check(); }

  // Defers the checks of the changes made while it lives to one check at its end.
  class Batch {
   public:
    explicit Batch(WatermarkChain& q) : q_(q) { ++q_.batch_depth_; }
    ~Batch() {
      if (--q_.batch_depth_ == 0) q_.check();
    }
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

   private:
    WatermarkChain& q_;
  };

 private:
  void check();

  ByteChain chain_;
  Watermark mark_;
  std::function<void()> on_high_;
  std::function<void()> on_low_;
  std::function<size_t()> below_;
  int batch_depth_ = 0;
  bool went_high_last_ = false;  // debug: the last crossing reported (alternation)
};

}  // namespace pvb
