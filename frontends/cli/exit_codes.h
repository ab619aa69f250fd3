// The exit codes of the pvebridge program (documented in --help and the README).
#pragma once

#include "engine/core/error.h"

namespace pvb {

enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,
  kExitUsage = 2,        // usage or configuration
  kExitAuth = 3,         // authentication, including two-factor
  kExitTlsVerify = 4,    // TLS certificate verification
  kExitGuest = 5,        // guest not found, ambiguous, or a template
  kExitNotRunning = 6,   // guest not running, or failed to start
  kExitNetwork = 7,      // DNS, connect, timeout, connection lost, broken server replies
  kExitConsole = 8,      // console refused by the server (vncproxy, ticket, websocket upgrade)
  kExitViewer = 9,       // viewer failed or missing
  kExitNoClient = 10,    // no local client in time
  kExitNoSpice = 11,     // --protocol spice: the guest has no SPICE display
  kExitSpiceProxy = 12,  // --protocol spice: the node's SPICE proxy (port 3128) is not reachable
  kExitSighup = 129,     // 128 + the signal, as shells report it
  kExitSigint = 130,
  kExitSigterm = 143,
};

int exit_code_for(Errc code);

}  // namespace pvb
