#include "tests/mock_pveproxy/server/api_restart.h"

namespace pvb::mock {

ApiRestart::ApiRestart(Loop& loop, RestartSpec spec, Hooks hooks)
    : spec_(spec), hooks_(std::move(hooks)), timer_(loop) {}

void ApiRestart::console_opened() {
  if (armed_ || restarts_ >= spec_.times) return;
  armed_ = true;
  hooks_.log("restart_api: the API restarts in " + std::to_string(spec_.after_ms) + " ms");
  timer_.start(spec_.after_ms, [this] { go_down(); });
}

void ApiRestart::go_down() {
  ++restarts_;
  hooks_.log("restart_api: the API goes down for " + std::to_string(spec_.down_ms) +
             " ms (restart " + std::to_string(restarts_) + " of " + std::to_string(spec_.times) +
             ")");
  hooks_.go_down();
  timer_.start(spec_.down_ms, [this] { come_up(); });
}

void ApiRestart::come_up() {
  if (Error e = hooks_.come_up(); e.failed()) {
    // The port was taken meanwhile: stay down (a test then sees refused connections).
    hooks_.log("restart_api: cannot listen again: " + e.message());
    return;
  }
  hooks_.log("restart_api: the API is back");
  armed_ = false;
}

}  // namespace pvb::mock
