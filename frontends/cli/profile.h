// Which configuration file and profile pvebridge uses, and what the profile's settings mean.
// Pure: the environment and the file come in through EnvLookup and ConfigLoader, so the command
// line parser stays testable and fuzzable. Precedence (applied by parse_command_line): the command
// line beats the environment, which beats the file, group by group (option_table.h): a level that
// gives any option of the credentials, the certificate trust or the hosts replaces that whole
// group of the levels below (a token on the command line drops PVE_USER and the file's user; a
// --ca-file drops PVE_FINGERPRINT). A password source of a lower level stays with a user named
// again above it. Two alternatives of a group at one level are an error naming both.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/platform.h"
#include "frontends/cli/option_table.h"

namespace pvb {

struct CliOptions;
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Reads a configuration file: nullopt when it does not exist (main.cc: read_user_file).
using ConfigLoader = std::function<Result<std::optional<UserFile>>(const std::string& path)>;

// The file and profile asked for.
struct ConfigChoice {
  std::string path;            // empty: no file (neither XDG_CONFIG_HOME nor HOME is usable)
  bool path_required = false;  // named by --config or PVEBRIDGE_CONFIG: it must exist
  std::string profile;         // empty: the file's default_profile, if any
  std::string profile_from;    // "--profile" or "PVEBRIDGE_PROFILE"
};

// --config, else PVEBRIDGE_CONFIG, else $XDG_CONFIG_HOME/pvebridge/config (XDG_CONFIG_HOME only
// if absolute), else ~/.config/pvebridge/config; --profile, else PVEBRIDGE_PROFILE.
ConfigChoice choose_config(const std::string& config_option, const std::string& profile_option,
                           const EnvLookup& env);

// The config file's level: the chosen profile's settings in force, checked for what cannot stand
// together (the values themselves are read by the option table's setters, option_table.h).
struct FileLevel {
  std::string origin;                 // "PATH (profile NAME)" when a file was read, for --verbose
  std::vector<OptionGiven> settings;  // each with "PATH:LINE: key" as where
  std::string home;                   // for "~/..." in paths (empty: HOME unset)
  std::string config_dir;             // relative paths are relative to it
  // The file has profiles but none was chosen (no --profile, no default_profile): "home, lab".
  std::string unchosen_profiles;
};

// Reads, parses and checks the chosen file and profile. A missing file is no error unless it was
// named (--config, PVEBRIDGE_CONFIG) or a profile was asked for. Errors are Errc::usage, one line,
// naming the file (and the line when there is one); they never quote a secret. A file other users
// may change is refused (it can run commands as you), and so is an inline secret in a file they
// may read.
Result<FileLevel> load_profile(const ConfigChoice& choice, const ConfigLoader& loader,
                               const EnvLookup& env);

}  // namespace pvb
