#include "engine/core/loop.h"

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

namespace pvb {
namespace {

TEST(Loop, PostRunsLaterInOrder) {
  Loop loop;
  std::vector<int> order;
  loop.post([&] { order.push_back(1); });
  loop.post([&] {
    order.push_back(2);
    loop.post([&] { order.push_back(4); });
  });
  loop.post([&] { order.push_back(3); });
  EXPECT_TRUE(order.empty());
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(Loop, TimerFiresAndRepeats) {
  Loop loop;
  Timer t(loop);
  int fired = 0;
  t.start_repeat(1, 1, [&] {
    if (++fired == 3) t.stop();
  });
  loop.run();
  EXPECT_EQ(fired, 3);
}

TEST(Loop, TimerDestroyedFromItsCallback) {
  Loop loop;
  auto t = std::make_unique<Timer>(loop);
  bool fired = false;
  t->start(0, [&] {
    fired = true;
    t.reset();
  });
  loop.run();
  EXPECT_TRUE(fired);
  EXPECT_EQ(t, nullptr);
}

struct Tracked {
  explicit Tracked(bool* flag) : flag(flag) {}
  ~Tracked() { *flag = true; }
  bool* flag;
};

TEST(Loop, DeferDeleteHappensOnLaterIteration) {
  Loop loop;
  bool deleted = false;
  loop.defer_delete(std::make_unique<Tracked>(&deleted));
  EXPECT_FALSE(deleted);
  loop.run();
  EXPECT_TRUE(deleted);
}

TEST(Loop, RunUntilStopsWhenPredicateHolds) {
  Loop loop;
  Timer t(loop);
  int n = 0;
  t.start_repeat(1, 1, [&] { ++n; });
  EXPECT_TRUE(loop.run_until([&] { return n >= 2; }));
  t.stop();
  EXPECT_GE(n, 2);
}

TEST(Loop, SignalWatcherSeesRaisedSignal) {
  Loop loop;
  int got = 0;
  SignalWatcher w(loop, SIGUSR1, [&](int s) {
    got = s;
    loop.stop();
  });
  loop.post([] { raise(SIGUSR1); });
  loop.run();
  EXPECT_EQ(got, SIGUSR1);
}

TEST(Loop, DestructorRunsPendingDeferredDeletes) {
  bool deleted = false;
  {
    Loop loop;
    loop.defer_delete(std::make_unique<Tracked>(&deleted));
  }
  EXPECT_TRUE(deleted);
}

}  // namespace
}  // namespace pvb
