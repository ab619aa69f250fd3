#include "engine/core/watermark.h"
#include "engine/core/watermark_chain.h"

#include <gtest/gtest.h>

#include <string>

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

namespace pvb {
namespace {

struct Crossings {
  std::string seen;  // "H" and "L" in order
};

TEST(WatermarkChain, ChecksOnEveryAppendMoveAndDrain) {
  Crossings c;
  WatermarkChain q(100, 10);
  q.set_callbacks([&c] { c.seen += "H"; }, [&c] { c.seen += "L"; });
  ByteChain in(std::string(150, 'a'));
  q.move_from(in);  // 150 > 100
  EXPECT_EQ(c.seen, "H");
  q.drain(100);  // 50: between the marks, nothing
  EXPECT_EQ(c.seen, "H");
  ByteChain out;
  EXPECT_EQ(q.move_to(out, 45), 45u);  // 5 <= 10
  EXPECT_EQ(c.seen, "HL");
  EXPECT_EQ(out.size(), 45u);
  ByteChain more(std::string(200, 'b'));
  q.move_from(more);
  q.clear();
  EXPECT_EQ(c.seen, "HLHL");
  EXPECT_TRUE(q.empty());
}

TEST(WatermarkChain, CountsTheLevelBelowAndRecheckSeesItChange) {
  Crossings c;
  WatermarkChain q(100, 10);
  q.set_callbacks([&c] { c.seen += "H"; }, [&c] { c.seen += "L"; });
  size_t below = 0;
  q.set_below([&below] { return below; });
  ByteChain in(std::string(60, 'a'));
  q.move_from(in);
  EXPECT_EQ(q.level(), 60u);
  below = 60;
  EXPECT_EQ(c.seen, "");  // not noticed until someone says so
  q.recheck();
  EXPECT_EQ(c.seen, "H");
  EXPECT_EQ(q.level(), 120u);
  q.clear();  // 60 below still counts: above the low mark
  EXPECT_EQ(c.seen, "H");
  below = 0;
  q.recheck();
  EXPECT_EQ(c.seen, "HL");
}

TEST(WatermarkChain, ABatchShowsNoDipWhileBytesMoveDown) {
  Crossings c;
  WatermarkChain q(100, 10);
  q.set_callbacks([&c] { c.seen += "H"; }, [&c] { c.seen += "L"; });
  ByteChain lower;
  q.set_below([&lower] { return lower.size(); });
  ByteChain in(std::string(150, 'a'));
  q.move_from(in);
  EXPECT_EQ(c.seen, "H");
  {
    WatermarkChain::Batch batch(q);
    q.move_to(lower);  // without the batch: a fall to 0 ("L") before the lower holds them
    EXPECT_EQ(c.seen, "H");
  }
  EXPECT_EQ(c.seen, "H");
  EXPECT_EQ(q.level(), 150u);
}

TEST(WatermarkChain, NewMarksAreCheckedAtOnce) {
  Crossings c;
  WatermarkChain q(100, 10);
  q.set_callbacks([&c] { c.seen += "H"; }, [&c] { c.seen += "L"; });
  ByteChain in(std::string(50, 'a'));
  q.move_from(in);
  EXPECT_EQ(c.seen, "");
  q.set_marks(0, 0);
  EXPECT_EQ(c.seen, "H");
}

}  // namespace
}  // namespace pvb
