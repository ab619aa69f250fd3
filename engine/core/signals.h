// The signals that end pvebridge cleanly (SIGINT, SIGTERM, SIGHUP): their names for messages and
// the exit status a shell reports for them. One mapping for the CLI and the console session.
#pragma once

#include "engine/core/error.h"

namespace pvb {

// "SIGINT", "SIGTERM", "SIGHUP", or "a signal" for any other.
const char* signal_name(int signum);
// 128 + signum, as shells report a process a signal ended.
int signal_exit_code(int signum);
// Errc::interrupted, "interrupted by SIGINT".
Error interrupted_by(int signum);

}  // namespace pvb
