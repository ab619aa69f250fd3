// Runs one pvebridge command on an event loop and returns the process exit code.
#pragma once

#include "frontends/cli/options.h"
#include "frontends/cli/output.h"

namespace pvb {

int run_list(const CliOptions& options, Output& out);
int run_connect(const CliOptions& options, Output& out);
// serve GUEST[=PORT]...: persistent local endpoints until SIGINT/SIGTERM.
int run_serve(const CliOptions& options, Output& out);

}  // namespace pvb
