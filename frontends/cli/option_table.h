// The options of pvebridge, listed once (the model: h2o's h2o_configurator_define_command): for
// each its flag, environment variable, config file key, the commands it applies to, how a value
// is read and where it goes, its help text, and the group it overrides with. The command-line
// parser, the config file reader and --help walk this table; tests/frontends/cli/
// option_table_test.cc checks the completions and the man page against it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/error.h"

namespace pvb {

struct CliOptions;

// Where a value came from, lowest precedence first.
enum class Level { file, environment, command_line };

// Options that override as a whole: a level (command line, environment, config file) that gives
// any option of a group replaces the whole group of the levels below it.
enum class OptionGroup {
  own,          // overrides alone
  hosts,        // --host
  credentials,  // a token, or a user with a password source
  trust,        // fingerprints, a CA file, or --insecure
  config,       // --config, --profile: they choose the file, they are not in it
};

// Within a group, the alternatives that exclude one another at one level.
enum class Pick { none, token, user, password, fingerprint, ca_file, insecure };

// How a config file value is written (and so how the reader prepares it).
enum class Form {
  text,     // as is
  path,     // "~/..." is under HOME; a relative path is next to the config file
  program,  // a program name (looked up in PATH) or a path starting with '~'
  command,  // words (split_words); the first, a program, may start with '~'
  words,    // words (split_words)
  boolean,  // yes/no, true/false, on/off, 1/0; a flag on the command line
};

// Commands an option applies to.
enum : unsigned {
  kForConnect = 1,
  kForList = 2,
  kForTerm = 4,
  kForShell = 8,
  kForServe = 16,
  kForTerminal = kForTerm | kForShell,     // term and shell share their options and help
  kForConsoles = kForConnect | kForServe,  // the VNC consoles' own options
  kForEvery = kForConnect | kForList | kForTerminal | kForServe,
};

struct OptionSpec;

// What a setter writes into: the options, plus what is joined once every level is read.
struct OptionTarget {
  explicit OptionTarget(CliOptions& options) : o(options) {}
  CliOptions& o;
  Level level = Level::command_line;
  std::string home;                         // file level: for "~/..." (empty: HOME unset)
  std::string config_dir;                   // file level: relative paths are relative to it
  std::optional<std::string> proxy_option;  // --proxy
  std::optional<std::string> proxy_file;    // the profile's proxy
  std::optional<std::string> token_secret;  // the profile's token_secret
};

// Reads one value (an empty view for a flag) into the target. Errors are Errc::usage without
// their context: the caller puts "--timeout: ", "PVE_HOST: " or "FILE:LINE: key: " before them.
using OptionSetter = Error (*)(OptionTarget&, const OptionSpec&, std::string_view value);

struct OptionSpec {
  std::string_view flag = {};        // "--timeout"; empty: not on the command line
  std::string_view short_flag = {};  // "-v", or empty
  std::string_view metavar = {};     // "SECONDS"; empty: a flag, which takes no value
  std::string_view env = {};         // "PVE_HOST", or empty
  std::string_view config_key = {};  // "timeout", or empty: not in the config file
  unsigned commands = kForEvery;
  OptionGroup group = OptionGroup::own;
  Pick pick = Pick::none;
  Form form = Form::text;
  // The config file may give the key on several lines of a section, the values adding up. (On the
  // command line any option may be repeated: lists add up, the last of other values counts.)
  bool repeatable = false;
  bool secret = false;        // the value is never quoted
  bool refused = false;       // known only to be refused on the command line (--password)
  uint64_t min = 0, max = 0;  // numbers: the range
  uint64_t CliOptions::*number = nullptr;         // numbers: where they go
  bool CliOptions::*flag_field = nullptr;         // flags: where they go
  std::string CliOptions::*text_field = nullptr;  // plain text options: where they go
  OptionSetter set = nullptr;
  std::string_view help = {};        // for --help; '\n' starts a continuation line
  std::string_view completion = {};  // what a completion offers as the value ("qemu lxc"), or empty

  bool takes_value() const { return !metavar.empty(); }
};

// One value as a level gave it: "--timeout" "5", "PVE_HOST" "pve1", "FILE:3: timeout" "5".
struct OptionGiven {
  const OptionSpec* spec = nullptr;
  std::string value;
  std::string where;  // what an error about it starts with
};

std::span<const OptionSpec> option_table();

const OptionSpec* find_flag(std::string_view flag);  // "--host" or "-v"
const OptionSpec* find_config_key(std::string_view key);

// The option lines of --help, in table order: for kForEvery the options of every command; else
// the options of any of `commands` that not every command has (--start is in connect's and
// term's).
std::string options_help(unsigned commands);

// "'connect'", "'term' and 'shell'": the commands of an option, for messages.
std::string command_names(unsigned commands);

// One number parser for every level: decimal digits only, in [min, max].
std::optional<uint64_t> parse_number(std::string_view text, uint64_t min, uint64_t max);

}  // namespace pvb
