#include "engine/core/random.h"

#include <gtest/gtest.h>

#include <array>

namespace pvb {
namespace {

TEST(Random, SeededIsRepeatable) {
  SeededRandom a(42), b(42), c(43);
  std::array<uint8_t, 37> x{}, y{}, z{};
  a.fill(x.data(), x.size());
  b.fill(y.data(), y.size());
  c.fill(z.data(), z.size());
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

TEST(Random, SystemProducesDifferentValues) {
  std::array<uint8_t, 16> x{}, y{};
  system_random().fill(x.data(), x.size());
  system_random().fill(y.data(), y.size());
  EXPECT_NE(x, y);
}

}  // namespace
}  // namespace pvb
