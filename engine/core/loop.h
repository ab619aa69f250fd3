// RAII over libuv: a Loop that owns uv_loop_t, timers and signal watchers whose handles are closed
// asynchronously (libuv frees nothing until the close callback), callbacks posted to the next loop
// iteration (so no callback is ever made re-entrantly from inside a caller's call), and deferred
// deletion (so an object may be destroyed from inside its own callback).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace pvb {

class Loop {
 public:
  Loop();
  ~Loop();  // closes its own handles and runs the loop until every handle is closed
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* raw() { return &loop_; }
  // Runs until stop() or until nothing is left to do.
  void run();
  // Runs until pred() is true (checked after every iteration) or nothing is left; returns pred().
  bool run_until(const std::function<bool()>& pred);
  void stop() { uv_stop(&loop_); }
  uint64_t now_ms() { return uv_now(&loop_); }

  // Runs fn on a later loop iteration, in posting order.
  void post(std::function<void()> fn);
  template <class T>
  void defer_delete(std::unique_ptr<T> p) {
    if (!p) return;
    T* raw = p.release();
    post([raw] { delete raw; });
  }

 private:
  static void on_idle(uv_idle_t* h);
  void drain_posted();
  uv_loop_t loop_;
  uv_idle_t* idle_;  // heap-allocated: freed in its close callback
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> running_;
};

// A liveness token: objects hand out weak references to it in posted callbacks and check it
// before touching `this`.
class AliveToken {
 public:
  AliveToken() : p_(std::make_shared<char>(0)) {}
  std::weak_ptr<char> weak() const { return p_; }

 private:
  std::shared_ptr<char> p_;
};

// A libuv timer. Destroying it stops it; the handle memory is released in libuv's close callback.
class Timer {
 public:
  explicit Timer(Loop& loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start(uint64_t timeout_ms, std::function<void()> cb) {
    start_repeat(timeout_ms, 0, std::move(cb));
  }
  void start_repeat(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> cb);
  void stop();
  bool active() const;
  // Don't keep the loop alive for this timer alone.
  void unref();

 private:
  struct Handle;
  Handle* h_;
};

// Watches one signal. The callback runs on the loop, not in signal context.
class SignalWatcher {
 public:
  SignalWatcher(Loop& loop, int signum, std::function<void(int)> cb);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  void unref();

 private:
  struct Handle;
  Handle* h_;
};

}  // namespace pvb
