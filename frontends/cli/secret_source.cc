#include "frontends/cli/secret_source.h"

#include <cstring>

#include "engine/core/platform.h"

namespace pvb {

Result<std::string> secret_from_command(const std::vector<std::string>& argv,
                                        std::string_view what) {
  const std::string named = std::string(what) + " (" + (argv.empty() ? "" : argv[0]) + ")";
  auto run = run_and_capture(argv, {"PVE_", "PVEBRIDGE_"}, 64 * 1024);
  if (!run.ok()) return Error(run.error().code(), std::string(what) + ": " + run.error().message());
  std::string out = std::move(run->out);
  if (run->term_signal != 0) {
    wipe(out);
    const char* sig = strsignal(run->term_signal);
    return Error(Errc::auth, named + " was killed by signal " + std::to_string(run->term_signal) +
                                 " (" + (sig ? sig : "?") + ")");
  }
  if (run->exit_code != 0) {
    wipe(out);
    return Error(Errc::auth, named + " failed with exit status " + std::to_string(run->exit_code));
  }
  std::string secret = out.substr(0, out.find('\n'));
  wipe(out);
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty()) return Error(Errc::auth, named + " printed no secret on its first line");
  return secret;
}

Result<std::string> token_secret(const std::string& token_id, const std::string& token_file,
                                 const std::vector<std::string>& token_command) {
  auto secret = token_file.empty() ? secret_from_command(token_command, "token_command")
                                   : read_secret_file(token_file, "token file");
  if (!secret.ok()) return secret.error();
  std::string s = std::move(*secret);
  const std::string whole = token_id + "=";
  if (s.compare(0, whole.size(), whole) == 0) {
    std::string rest = s.substr(whole.size());
    wipe(s);
    s = std::move(rest);
  }
  if (s.empty()) {
    return Error(
        token_file.empty() ? Errc::auth : Errc::usage,
        (token_file.empty() ? "token_command" : "token file " + token_file) + " holds no secret");
  }
  return s;
}

}  // namespace pvb
