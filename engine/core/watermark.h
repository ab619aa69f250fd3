// High/low watermarks that fire once per crossing: above the high mark once, then below the low
// mark once. Used for transports' pending write bytes and by the pump.
#pragma once

#include <cstddef>
#include <functional>

namespace pvb {

class Watermark {
 public:
  Watermark(size_t high, size_t low) : high_(high), low_(low) {}

  void set_marks(size_t high, size_t low) {
    high_ = high;
    low_ = low;
  }
  size_t high() const { return high_; }
  size_t low() const { return low_; }
  bool above() const { return above_; }

  enum class Crossing { none, went_high, went_low };
  // Feed the current level; reports a crossing only when the state flips.
  Crossing update(size_t level) {
    if (!above_ && level > high_) {
      above_ = true;
      return Crossing::went_high;
    }
    if (above_ && level <= low_) {
      above_ = false;
      return Crossing::went_low;
    }
    return Crossing::none;
  }

 private:
  size_t high_;
  size_t low_;
  bool above_ = false;
};

}  // namespace pvb
