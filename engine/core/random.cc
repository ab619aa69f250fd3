#include "engine/core/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pvb {

namespace {

class SystemRandom : public Random {
 public:
  void fill(void* out, size_t n) override {
    auto* p = static_cast<unsigned char*>(out);
    while (n > 0) {
      if (avail_ == 0) {
        refill();
      }
      size_t k = n < avail_ ? n : avail_;
      std::memcpy(p, buf_ + sizeof buf_ - avail_, k);
      // Wipe what was handed out so secrets do not linger in the buffer.
      std::memset(buf_ + sizeof buf_ - avail_, 0, k);
      avail_ -= k;
      p += k;
      n -= k;
    }
  }

 private:
  void refill() {
    size_t got = 0;
    while (got < sizeof buf_) {
      ssize_t r = getrandom(buf_ + got, sizeof buf_ - got, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        std::abort();  // no entropy: nothing safe to do
      }
      got += static_cast<size_t>(r);
    }
    avail_ = sizeof buf_;
  }
  unsigned char buf_[256];
  size_t avail_ = 0;
};

}  // namespace

Random& system_random() {
  static thread_local SystemRandom r;
  return r;
}

void SeededRandom::fill(void* out, size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    size_t k = n < 8 ? n : 8;
    std::memcpy(p, &z, k);
    p += k;
    n -= k;
  }
}

}  // namespace pvb
