#include "engine/core/signals.h"

#include <csignal>
#include <string>

namespace pvb {

const char* signal_name(int signum) {
  switch (signum) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

int signal_exit_code(int signum) {
  return 128 + signum;
}

Error interrupted_by(int signum) {
  return Error(Errc::interrupted, std::string("interrupted by ") + signal_name(signum));
}

}  // namespace pvb
