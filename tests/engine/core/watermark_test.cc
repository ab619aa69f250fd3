#include "engine/core/watermark.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

TEST(Watermark, FiresOncePerCrossing) {
  Watermark w(100, 10);
  EXPECT_EQ(w.update(50), Watermark::Crossing::none);
  EXPECT_EQ(w.update(101), Watermark::Crossing::went_high);
  EXPECT_EQ(w.update(500), Watermark::Crossing::none);
  EXPECT_EQ(w.update(50), Watermark::Crossing::none);  // between marks: still above
  EXPECT_TRUE(w.above());
  EXPECT_EQ(w.update(10), Watermark::Crossing::went_low);
  EXPECT_EQ(w.update(0), Watermark::Crossing::none);
  EXPECT_FALSE(w.above());
}

TEST(Watermark, ExactlyHighIsNotAbove) {
  Watermark w(100, 10);
  EXPECT_EQ(w.update(100), Watermark::Crossing::none);
}

}  // namespace
}  // namespace pvb
