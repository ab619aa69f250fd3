// ApiRestart: the restart_api fault (mock_options.h, RestartSpec). A node's pveproxy restarting
// after an update: `after` ms after a console WebSocket opened, every connection of the --listen
// address drops and its listening socket closes (new connections are refused); `down` ms later it
// listens again on the same port. The --also-listen addresses (other nodes) are not touched.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/core/error.h"
#include "engine/core/loop.h"
#include "tests/mock_pveproxy/mock_options.h"

namespace pvb::mock {

class ApiRestart {
 public:
  struct Hooks {
    std::function<void()> go_down;   // drop the listener's connections, close it
    std::function<Error()> come_up;  // listen again on the same port
    std::function<void(const std::string&)> log;
  };
  ApiRestart(Loop& loop, RestartSpec spec, Hooks hooks);

  // A console WebSocket opened: arms the next restart, unless one is pending or all were done.
  void console_opened();
  uint64_t restarts() const { return restarts_; }

 private:
  void go_down();
  void come_up();

  RestartSpec spec_;
  Hooks hooks_;
  Timer timer_;
  bool armed_ = false;  // a restart is scheduled or under way
  uint64_t restarts_ = 0;
};

}  // namespace pvb::mock
