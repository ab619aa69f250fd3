#include "engine/core/loop.h"

#include <cstdlib>

namespace pvb {

Loop::Loop() {
  if (uv_loop_init(&loop_) != 0) std::abort();
  idle_ = new uv_idle_t;
  uv_idle_init(&loop_, idle_);
  idle_->data = this;
}

Loop::~Loop() {
  // Run what is still posted (deferred deletes), then close every handle and let them finish.
  drain_posted();
  uv_idle_stop(idle_);
  uv_close(reinterpret_cast<uv_handle_t*>(idle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  while (uv_run(&loop_, UV_RUN_DEFAULT) != 0) {
  }
  drain_posted();
  uv_loop_close(&loop_);
}

void Loop::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

bool Loop::run_until(const std::function<bool()>& pred) {
  while (!pred()) {
    if (uv_run(&loop_, UV_RUN_ONCE) == 0 && !pred()) {
      // Nothing left that could make pred() true, unless a posted callback does it.
      if (posted_.empty()) return pred();
    }
  }
  return true;
}

void Loop::post(std::function<void()> fn) {
  posted_.push_back(std::move(fn));
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(idle_))) uv_idle_start(idle_, &Loop::on_idle);
}

void Loop::on_idle(uv_idle_t* h) {
  static_cast<Loop*>(h->data)->drain_posted();
}

void Loop::drain_posted() {
  // Callbacks posted while running go to the next iteration.
  running_.swap(posted_);
  for (auto& fn : running_) fn();
  running_.clear();
  if (posted_.empty() && uv_is_active(reinterpret_cast<uv_handle_t*>(idle_))) uv_idle_stop(idle_);
}

struct Timer::Handle {
  uv_timer_t timer;
  std::function<void()> cb;
};

Timer::Timer(Loop& loop) : h_(new Handle) {
  uv_timer_init(loop.raw(), &h_->timer);
  h_->timer.data = h_;
}

Timer::~Timer() {
  uv_timer_stop(&h_->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&h_->timer),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void Timer::start_repeat(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> cb) {
  h_->cb = std::move(cb);
  uv_timer_start(
      &h_->timer,
      [](uv_timer_t* t) {
        auto* h = static_cast<Handle*>(t->data);
        // Copy: the callback may restart or destroy the timer.
        auto cb = h->cb;
        cb();
      },
      timeout_ms, repeat_ms);
}

void Timer::stop() {
  uv_timer_stop(&h_->timer);
}
bool Timer::active() const {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(&h_->timer));
}
void Timer::unref() {
  uv_unref(reinterpret_cast<uv_handle_t*>(&h_->timer));
}

struct SignalWatcher::Handle {
  uv_signal_t sig;
  std::function<void(int)> cb;
};

SignalWatcher::SignalWatcher(Loop& loop, int signum, std::function<void(int)> cb) : h_(new Handle) {
  h_->cb = std::move(cb);
  uv_signal_init(loop.raw(), &h_->sig);
  h_->sig.data = h_;
  uv_signal_start(
      &h_->sig,
      [](uv_signal_t* s, int signum) {
        auto* h = static_cast<Handle*>(s->data);
        auto cb = h->cb;
        cb(signum);
      },
      signum);
}

SignalWatcher::~SignalWatcher() {
  uv_signal_stop(&h_->sig);
  uv_close(reinterpret_cast<uv_handle_t*>(&h_->sig),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void SignalWatcher::unref() {
  uv_unref(reinterpret_cast<uv_handle_t*>(&h_->sig));
}

}  // namespace pvb
