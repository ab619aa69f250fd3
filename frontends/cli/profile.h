// Which configuration file and profile pvebridge uses, and what the profile's settings mean.
// Pure: the environment and the file come in through EnvLookup and ConfigLoader, so the command
// line parser stays testable and fuzzable. Precedence (applied by parse_command_line): the command
// line beats the environment, which beats the file; credentials and certificate trust override as
// a group (a user on the command line drops the file's token; a --ca-file drops its fingerprints).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/platform.h"
#include "transports/tls/tls_config.h"

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

// The chosen profile's settings, checked. Members the file does not set stay empty.
struct ProfileSettings {
  std::string origin;  // "PATH (profile NAME)" when a file was read, for --verbose

  std::optional<std::string> host_text;  // checked host list, comma-separated
  std::optional<std::string> user;       // normalized (with realm)
  std::optional<std::string> password;   // inline; only from a file other users cannot read
  std::string password_file;
  std::vector<std::string> password_command;
  std::optional<std::string> api_token;  // token_id=token_secret, when the secret is inline
  std::string token_id;                  // USER@REALM!TOKENID, secret from token_file/_command
  std::string token_file;
  std::vector<std::string> token_command;

  std::vector<std::string> fingerprints;
  std::string ca_file;
  std::optional<TlsBackendKind> tls_backend;
  // An HTTP proxy URL, checked, never with credentials (those stay in the environment's
  // https_proxy). Used when neither --proxy nor https_proxy / HTTPS_PROXY names one.
  std::optional<std::string> proxy;
  std::optional<uint64_t> timeout_s;
  std::optional<uint64_t> keepalive_s;
  std::optional<uint64_t> client_wait_s;
  std::optional<std::string> viewer;
  std::optional<std::vector<std::string>> viewer_args;
  bool fullscreen = false;
  bool kiosk = false;
};

// Reads, parses and checks the chosen file and profile. A missing file is no error unless it was
// named (--config, PVEBRIDGE_CONFIG) or a profile was asked for. Errors are Errc::usage, one line,
// naming the file (and the line when there is one); they never quote a secret. A file other users
// may change is refused (it can run commands as you), and so is an inline secret in a file they
// may read.
Result<ProfileSettings> load_profile(const ConfigChoice& choice, const ConfigLoader& loader,
                                     const EnvLookup& env);

// Fills the credentials the command line and the environment left open. When neither named a
// user or an API token, the profile's user or token is used; the profile's password sources are
// used only for the profile's own user, and only when neither PVE_PASSWORD nor --password-file
// gave one.
void fill_credentials(const ProfileSettings& profile, bool env_password,
                      std::optional<std::string>& token_text, std::optional<std::string>& user_text,
                      CliOptions& o);

// Fills the rest: the certificate trust when neither the command line nor the environment chose
// one, and each value option not `given` on the command line.
void fill_settings(const ProfileSettings& profile, const std::set<std::string, std::less<>>& given,
                   CliOptions& o);

}  // namespace pvb
