// Command line, environment and config file → one CliOptions. Pure (argv, an environment lookup
// and a config loader in, options or a one-line usage error out), so it is unit-tested and fuzzed.
// Secrets are never accepted as command-line values: they come from the environment, files, or a
// terminal prompt.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/api_host.h"
#include "frontends/cli/guest_list.h"
#include "frontends/cli/profile.h"
#include "frontends/cli/proxy_options.h"
#include "transports/tls/tls_config.h"

namespace pvb {

enum class Command { none, connect, list, help, version, term, shell, serve };

struct CliOptions {
  Command command = Command::none;
  std::string help_topic;  // "connect", "list", or "" for the overview

  // Connection and authentication
  std::vector<ApiHost> hosts;
  std::string user;                   // normalized, with realm
  bool user_realm_defaulted = false;  // given without @REALM: "@pam" was assumed
  std::string password_file;
  std::optional<std::string> password;   // from PVE_PASSWORD
  std::optional<std::string> api_token;  // from --api-token or PVE_API_TOKEN (holds the secret)
  std::optional<std::string> otp;        // --otp or PVE_OTP
  std::vector<std::string> fingerprints;
  std::string ca_file;
  bool insecure = false;
  uint64_t timeout_s = 15;
  TlsBackendKind tls_backend = kDefaultTlsBackend;
  ProxySettings proxy;  // --proxy or https_proxy, minus no_proxy (frontends/cli/proxy_options.h)
  std::vector<std::string>
      secret_env_names;  // variables we read secrets from (dropped for children)

  // Config file (frontends/cli/profile.h): what --config and --profile named, what was read.
  std::string config_file;
  std::string profile;
  std::string config_origin;  // "PATH (profile NAME)"; empty when no file was read
  // Secrets the config file says where to find (read when the command runs, app.cc).
  std::vector<std::string> password_command;  // argv; the first line of its output
  std::string token_id;                       // USER@REALM!TOKENID; the secret from:
  std::string token_file;
  std::vector<std::string> token_command;

  // Output
  bool json = false;
  bool verbose = false;

  // connect
  std::vector<std::string> guests;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  bool start = false;
  uint64_t keepalive_s = 30;
  uint64_t client_wait_s = 60;
  uint64_t reconnect_s = 60;     // 0 = off
  bool passthrough = false;      // --passthrough: the byte pipe, no RFB termination
  bool exclusive = false;        // --exclusive: ClientInit shared=0 toward the node
  bool local_auth_none = false;  // --local-auth none
  bool show_password = false;    // serve --show-password
  std::string vv_file;
  bool vv_stdin = false;
  bool no_viewer = false;
  std::string viewer = "remote-viewer";
  std::vector<std::string> viewer_args;
  bool fullscreen = false;
  bool kiosk = false;
  std::string title;
  std::string protocol = "vnc";  // --protocol vnc|spice|auto
  std::string spice_proxy;       // --spice-proxy HOST[:PORT] (empty: the API host)
  uint16_t spice_proxy_port = 3128;
  bool spice_relay = false;

  // serve GUEST[=PORT]... (in guests)

  // term GUEST (guests[0]) and shell [NODE] (the start, keepalive options of connect apply)
  std::string shell_node;               // empty: the node that answered
  std::optional<uint8_t> escape = '~';  // --escape CHAR|none
  uint64_t idle_exit_s = 2;             // --idle-exit SECONDS (pipe mode)
  std::optional<int> serial;            // --serial N (qemu)

  // list
  ListFilter list_filter;
  std::vector<std::string> list_format;  // --format fields; empty: the table (or --json)
};

// Parses argv (argv[0] excluded). Errors are Errc::usage with one line naming the offending option.
// The config file is read through `config` (none: no file is read, as if none existed).
Result<CliOptions> parse_command_line(const std::vector<std::string>& args, const EnvLookup& env,
                                      const ConfigLoader& config = {});

// "pve1", "pve1:8007", "[::1]:8006", "10.0.0.1", comma lists thereof.
Result<std::vector<ApiHost>> parse_host_list(std::string_view text);
// "127.0.0.1:0", "[::1]:5900", "localhost:0" — loopback only.
Error parse_listen(std::string_view text, std::string& host, uint16_t& port);

// Help texts.
std::string help_text(const std::string& topic);
std::string version_text();

}  // namespace pvb
