// Injectable randomness: WebSocket keys and masks, nonces, tickets. Tests and fuzzers use a
// seeded generator so runs are repeatable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvb {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(void* out, size_t n) = 0;
  uint32_t next_u32() {
    uint32_t v;
    fill(&v, sizeof v);
    return v;
  }
};

// The operating system's generator (getrandom). Cheap to call; buffered internally.
Random& system_random();

// Deterministic (splitmix64); never for secrets.
class SeededRandom : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  void fill(void* out, size_t n) override;

 private:
  uint64_t state_;
};

}  // namespace pvb
