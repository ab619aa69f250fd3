// pvebridge: open the console of a Proxmox VE guest through the API port.
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/core/platform.h"
#include "frontends/cli/app.h"
#include "frontends/cli/exit_codes.h"
#include "frontends/cli/term_command.h"

int main(int argc, char** argv) {
  using namespace pvb;
  // A viewer or client that goes away must not kill us with SIGPIPE; writes report EPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // The user's character set, for the display width of guest names (list's table).
  std::setlocale(LC_CTYPE, "");
  std::vector<std::string> args(argv + 1, argv + argc);
  auto env = [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
  // The config file: $XDG_CONFIG_HOME/pvebridge/config, --config or PVEBRIDGE_CONFIG.
  auto config = [](const std::string& path) { return read_user_file(path, 1 << 20); };
  auto options = parse_command_line(args, env, config);
  if (!options.ok()) {
    bool json = false;
    for (const auto& a : args) json |= a == "--json";
    Output out(json, false);
    out.error(0, options.error());
    return kExitUsage;
  }
  Output out(options->json, options->verbose);
  switch (options->command) {
    case Command::help: {
      std::string t = help_text(options->help_topic);
      std::fwrite(t.data(), 1, t.size(), stdout);
      return kExitOk;
    }
    case Command::version: {
      std::string t = version_text();
      std::fwrite(t.data(), 1, t.size(), stdout);
      return kExitOk;
    }
    case Command::list:
      return run_list(*options, out);
    case Command::connect:
      return run_connect(*options, out);
    case Command::serve:
      return run_serve(*options, out);
    case Command::term:
    case Command::shell:
      return run_term(*options, out);
    case Command::none:
      break;
  }
  return kExitUsage;
}
