// Injectable wall clock for tickets, TOTP and expiry checks. Timers use the loop's own monotonic
// time; this is only for "what time is it" questions.
#pragma once

#include <cstdint>

namespace pvb {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t unix_seconds() const = 0;
};

Clock& system_clock();

class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now) : now_(now) {}
  int64_t unix_seconds() const override { return now_; }
  void advance(int64_t seconds) { now_ += seconds; }
  void set(int64_t now) { now_ = now; }

 private:
  int64_t now_;
};

}  // namespace pvb
