// `pvebridge term GUEST` and `pvebridge shell [NODE]`: a terminal console (termproxy) in the
// user's own terminal. Same connection, authentication, trust, profiles, proxies and failover as
// `connect` (app.cc's make_api); engine/terminal/terminal_session.h does the session.
#pragma once

#include "frontends/cli/options.h"
#include "frontends/cli/output.h"

namespace pvb {

int run_term(const CliOptions& options, Output& out);

}  // namespace pvb
