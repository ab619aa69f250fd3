#include "engine/core/clock.h"

#include <ctime>

namespace pvb {

namespace {
class SystemClock : public Clock {
 public:
  int64_t unix_seconds() const override { return static_cast<int64_t>(std::time(nullptr)); }
};
}  // namespace

Clock& system_clock() {
  static SystemClock c;
  return c;
}

}  // namespace pvb
