// Secrets the config file says where to find: a file (password_file, token_file) or a command
// (password_command, token_command, e.g. a password manager). Read when a command runs, never
// while parsing options.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb {

// Runs `argv` without a shell (platform.h run_and_capture: our terminal for its prompts, our
// stderr for its messages, none of our PVE_* / PVEBRIDGE_* variables) and returns the first line
// of its standard output. `what` ("password_command") names it in errors, which never quote the
// output. A command that cannot be started is Errc::usage (exit 2); one that fails, is killed or
// prints nothing is Errc::auth (exit 3: the credential could not be had).
Result<std::string> secret_from_command(const std::vector<std::string>& argv,
                                        std::string_view what);

// The secret of an API token from token_file or token_command: the file or output holds the
// secret alone, or the whole USER@REALM!TOKENID=SECRET of this token_id.
Result<std::string> token_secret(const std::string& token_id, const std::string& token_file,
                                 const std::vector<std::string>& token_command);

}  // namespace pvb
