// The three levels an option may come from -- the config file, the environment, the command
// line -- applied lowest first through the option table's setters, group by group: a level that
// gives any option of a group (credentials, trust, hosts; option_table.h) replaces that whole
// group of the levels below it. A password source below stays with a user named again above it
// (and only with that user); two alternatives of one group at the same level are an error naming
// both ("PVE_API_TOKEN and PVE_USER are both set"). The file's own conflicts are checked, with
// their lines, when it is read (profile.cc).
#pragma once

#include <vector>

#include "engine/core/error.h"
#include "frontends/cli/option_table.h"
#include "frontends/cli/profile.h"

namespace pvb {

// What the environment gives, as the table names it. Variables that hold secrets are added to
// o.secret_env_names (dropped from children's environments) whether used or not.
std::vector<OptionGiven> environment_level(const EnvLookup& env, CliOptions& o);

// Applies the levels into t.o; an error names where the value came from ("--timeout: ...",
// "PVE_HOST: ...", "FILE:LINE: key: ...").
Error apply_levels(OptionTarget& t, const std::vector<OptionGiven>& file,
                   const std::vector<OptionGiven>& environment,
                   const std::vector<OptionGiven>& command_line);

}  // namespace pvb
