// The pvebridge configuration file: a small INI-like text, parsed by a pure function (text in,
// settings or one "FILE:LINE: what" error out) so it is unit-tested and fuzzed.
//
//   # comment (only at the start of a line: values may hold '#')
//   default_profile = home            # top level only: the profile used when none is named
//   tls_backend = openssl             # top-level settings apply to every profile
//
//   [profile home]
//   host = pve1.example.com, pve2.example.com
//   user = alice@pve
//   password_command = pass show proxmox/alice
//   ca_file = ~/.config/pvebridge/pve-root-ca.pem
//   proxy = http://proxy.example.com:3128
//
// Keys are lowercase words; whitespace around keys and values is dropped; there is no quoting at
// this level (lists of words -- viewer_args, *_command -- are split by split_words). The keys are
// those of the option table (frontends/cli/option_table.h), which says what each means; which may
// stand together is frontends/cli/profile.h's business.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb {

// One "key = value" line.
struct ConfigSetting {
  std::string key;
  std::string value;
  int line = 0;
};

struct ConfigProfile {
  std::string name;
  int line = 0;  // of its "[profile NAME]" header
  std::vector<ConfigSetting> settings;
};

struct ConfigFile {
  std::string path;                   // for messages: "PATH:LINE: ..."
  ConfigSetting default_profile;      // key empty when the file names none
  std::vector<ConfigSetting> global;  // before any section: apply to every profile
  std::vector<ConfigProfile> profiles;

  const ConfigProfile* find_profile(std::string_view name) const;
  // "home, work" (for "unknown profile" messages).
  std::string profile_names() const;
  // The first setting of a key that holds a secret inline (password, token_secret), or null.
  const ConfigSetting* first_inline_secret() const;
};

// Parses the text of a configuration file. Unknown keys, malformed lines, duplicate profiles and
// keys given twice in one section are Errc::usage errors of one line, "PATH:LINE: what", that never
// quote a value (it may be a secret).
Result<ConfigFile> parse_config_file(std::string_view text, std::string_view path);

// The settings in force for `profile` (null: no profile, the top level alone): the profile's own
// plus the top-level ones it does not override. Keys of one group -- the credentials (user,
// password*, token*), the certificate trust (fingerprint, ca_file), the hosts -- override as a
// whole: a profile that names a token drops a top-level user and password.
std::vector<ConfigSetting> settings_in_force(const ConfigFile& file, const ConfigProfile* profile);

// True for keys whose value is a secret, never to be quoted in a message.
bool config_key_is_secret(std::string_view key);

// Splits a command line or argument list into words, without a shell: blanks separate words;
// '...' keeps everything literally; "..." keeps everything but lets \" and \\ stand for " and \;
// outside quotes a backslash keeps the next character. Errors (unbalanced quote, trailing
// backslash) are Errc::usage and never quote the text.
Result<std::vector<std::string>> split_words(std::string_view text);

}  // namespace pvb
