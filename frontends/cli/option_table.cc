#include "frontends/cli/option_table.h"

#include <algorithm>
#include <charconv>

#include "engine/core/text.h"
#include "engine/io/fingerprint.h"
#include "engine/proxmox/credentials.h"
#include "engine/terminal/escape_filter.h"
#include "frontends/cli/config_file.h"
#include "frontends/cli/options.h"
#include "transports/http/proxy_config.h"

namespace pvb {

namespace {

Error usage(std::string msg) {
  return Error(Errc::usage, std::move(msg));
}

std::string got(std::string_view v) {
  return ", got '" + printable(v) + "'";
}

// A path from the config file: "~/..." under HOME, a relative one next to the file.
Result<std::string> file_path(const OptionTarget& t, std::string_view value) {
  if (value.empty()) return usage("needs a path");
  if (t.level != Level::file) return std::string(value);
  if (value == "~" || value.substr(0, 2) == "~/") {
    if (t.home.empty()) return usage("'~' needs HOME to be set");
    return t.home + std::string(value.substr(1));
  }
  if (value.front() == '/') return std::string(value);
  return t.config_dir + "/" + std::string(value);
}

Result<std::vector<std::string>> command_words(const OptionTarget& t, std::string_view value) {
  auto w = split_words(value);
  if (!w.ok()) return usage(w.error().message());
  if (w->empty() || (*w)[0].empty()) return usage("needs a command");
  // The program may live under ~; its arguments are the command's business.
  if ((*w)[0] == "~" || (*w)[0].substr(0, 2) == "~/") {
    auto p = file_path(t, (*w)[0]);
    if (!p.ok()) return p.error();
    (*w)[0] = *p;
  }
  return w;
}

std::optional<bool> parse_bool(std::string_view s) {
  for (std::string_view yes : {"yes", "true", "on", "1"}) {
    if (s == yes) return true;
  }
  for (std::string_view no : {"no", "false", "off", "0"}) {
    if (s == no) return false;
  }
  return std::nullopt;
}

// --- Setters: one per way of reading a value -----------------------------------------------

Error set_flag(OptionTarget& t, const OptionSpec& s, std::string_view v) {
  bool on = true;
  if (t.level == Level::file) {
    auto b = parse_bool(v);
    if (!b) return usage("expected yes or no" + got(v));
    on = *b;
  }
  t.o.*s.flag_field = on;
  return Error();
}

Error set_number(OptionTarget& t, const OptionSpec& s, std::string_view v) {
  auto n = parse_number(v, s.min, s.max);
  if (!n) {
    return usage("expected seconds from " + std::to_string(s.min) + (s.min == 0 ? " (off)" : "") +
                 " to " + std::to_string(s.max) + got(v));
  }
  t.o.*s.number = *n;
  return Error();
}

// A value that must not be empty: "needs a file" (the metavar, in lower case).
Error set_text(OptionTarget& t, const OptionSpec& s, std::string_view v) {
  if (v.empty()) {
    std::string what(s.metavar);
    for (char& c : what) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return usage("needs a " + what);
  }
  t.o.*s.text_field = std::string(v);
  return Error();
}

Error set_any_text(OptionTarget& t, const OptionSpec& s, std::string_view v) {
  t.o.*s.text_field = std::string(v);
  return Error();
}

Error set_path(OptionTarget& t, const OptionSpec& s, std::string_view v) {
  auto p = file_path(t, v);
  if (!p.ok()) return p.error();
  t.o.*s.text_field = std::move(*p);
  return Error();
}

Error set_hosts(OptionTarget& t, const OptionSpec&, std::string_view v) {
  auto hosts = parse_host_list(v);
  if (!hosts.ok()) return hosts.error();
  t.o.hosts.insert(t.o.hosts.end(), hosts->begin(), hosts->end());
  return Error();
}

Error set_user(OptionTarget& t, const OptionSpec&, std::string_view v) {
  auto u = normalize_user(v);
  if (!u.ok()) return u.error();
  t.o.user = *u;
  // For the hint after a failed login: "@pam" was assumed (at any level, the file's too).
  t.o.user_realm_defaulted = v.find('@') == std::string_view::npos;
  return Error();
}

Error set_password(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (t.level == Level::command_line) {
    return usage(
        "passwords are never taken on the command line: use PVE_PASSWORD, --password-file FILE, "
        "or the prompt");
  }
  if (v.empty()) return usage("is empty");
  t.o.password = std::string(v);
  return Error();
}

Error set_password_command(OptionTarget& t, const OptionSpec&, std::string_view v) {
  auto w = command_words(t, v);
  if (!w.ok()) return w.error();
  t.o.password_command = std::move(*w);
  return Error();
}

Error set_token_command(OptionTarget& t, const OptionSpec&, std::string_view v) {
  auto w = command_words(t, v);
  if (!w.ok()) return w.error();
  t.o.token_command = std::move(*w);
  return Error();
}

// As copied from curl examples: "Authorization: PVEAPIToken=USER@REALM!ID=SECRET".
constexpr std::string_view kTokenHeaderPrefix = "PVEAPIToken=";

Error set_api_token(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (v.substr(0, kTokenHeaderPrefix.size()) == kTokenHeaderPrefix) {
    v.remove_prefix(kTokenHeaderPrefix.size());
  }
  auto token = parse_api_token(v);
  if (!token.ok()) return token.error();
  t.o.api_token = std::string(v);
  return Error();
}

Error set_token_id(OptionTarget& t, const OptionSpec&, std::string_view v) {
  // parse_api_token checks the USER@REALM!TOKENID part; the secret here is a stand-in.
  if (v.find('=') != std::string_view::npos || !parse_api_token(std::string(v) + "=x").ok()) {
    return usage(
        "expected USER@REALM!TOKENID (the secret goes in token_file, token_command or "
        "token_secret)");
  }
  t.o.token_id = std::string(v);
  return Error();
}

Error set_token_secret(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (v.empty() || v.find_first_of(" \t") != std::string_view::npos) {
    return usage("expected the token's secret, without blanks");
  }
  t.token_secret = std::string(v);  // joined with token_id once every level is read
  return Error();
}

Error set_otp(OptionTarget& t, const OptionSpec&, std::string_view v) {
  t.o.otp = std::string(v);
  return Error();
}

// A fingerprint, or a comma list of them (empty items are skipped: "A,,B", "A,").
Error set_fingerprints(OptionTarget& t, const OptionSpec&, std::string_view v) {
  size_t before = t.o.fingerprints.size();
  while (true) {
    auto comma = v.find(',');
    std::string_view one = v.substr(0, comma);
    if (!one.empty()) {
      auto fp = parse_fingerprint(one);
      if (!fp.ok()) return fp.error();
      t.o.fingerprints.emplace_back(one);
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  if (t.o.fingerprints.size() == before) return usage("needs a fingerprint");
  return Error();
}

Error set_proxy(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (t.level != Level::file) {
    t.proxy_option = std::string(v);  // checked with the environment's (proxy_options.h)
    return Error();
  }
  auto url = parse_proxy_url(v);
  if (!url.ok()) return url.error();
  if (url->has_credentials()) {
    // The file may be shared or backed up; a proxy password belongs where --proxy's does.
    return usage(
        "proxy credentials are not taken from a config file: set "
        "https_proxy=http://USER:PASSWORD@HOST:PORT in the environment instead");
  }
  t.proxy_file = std::string(v);
  return Error();
}

Error set_tls_backend(OptionTarget& t, const OptionSpec&, std::string_view v) {
  auto b = parse_tls_backend(v);
  if (!b) return usage("expected openssl or mbedtls" + got(v));
  t.o.tls_backend = *b;
  return Error();
}

Error set_local_auth(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (v == "vnc") {
    t.o.local_auth_none = false;
  } else if (v == "none") {
    t.o.local_auth_none = true;
  } else {
    return usage("expected vnc or none" + got(v));
  }
  return Error();
}

Error set_protocol(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (v != "vnc" && v != "spice" && v != "auto")
    return usage("expected vnc, spice or auto" + got(v));
  t.o.protocol = std::string(v);
  return Error();
}

Error set_spice_proxy(OptionTarget& t, const OptionSpec&, std::string_view v) {
  // One HOST[:PORT]; the SPICE proxy's port defaults to 3128, not the API's 8006.
  if (v.empty() || v.find_first_of(",/ ") != std::string_view::npos) {
    return usage("expected one HOST[:PORT]" + got(v));
  }
  auto hosts = parse_host_list(v);
  if (!hosts.ok() || hosts->size() != 1) return usage("expected one HOST[:PORT]" + got(v));
  const bool bracketed = v.front() == '[';
  const size_t colons = static_cast<size_t>(std::count(v.begin(), v.end(), ':'));
  const bool port_given = bracketed ? v.find("]:") != std::string_view::npos : colons == 1;
  t.o.spice_proxy = hosts->front().host;
  t.o.spice_proxy_port = port_given ? hosts->front().port : 3128;
  return Error();
}

Error set_listen(OptionTarget& t, const OptionSpec&, std::string_view v) {
  return parse_listen(v, t.o.listen_host, t.o.listen_port);
}

Error set_viewer(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (v.empty()) return usage("needs a program");
  if (v.front() != '~') {
    t.o.viewer = std::string(v);  // looked up in PATH
    return Error();
  }
  auto p = file_path(t, v);
  if (!p.ok()) return p.error();
  t.o.viewer = std::move(*p);
  return Error();
}

// One argument on the command line; a list of words in the file.
Error set_viewer_args(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (t.level != Level::file) {
    t.o.viewer_args.emplace_back(v);
    return Error();
  }
  auto w = split_words(v);
  if (!w.ok()) return usage(w.error().message());
  t.o.viewer_args = std::move(*w);
  return Error();
}

Error set_node(OptionTarget& t, const OptionSpec&, std::string_view v) {
  t.o.list_filter.node = std::string(v);
  return Error();
}

Error set_pool(OptionTarget& t, const OptionSpec&, std::string_view v) {
  t.o.list_filter.pool = std::string(v);
  return Error();
}

Error set_type(OptionTarget& t, const OptionSpec&, std::string_view v) {
  t.o.list_filter.type = parse_guest_type(v);
  if (!t.o.list_filter.type) return usage("expected qemu or lxc" + got(v));
  return Error();
}

Error set_status(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (Error e = check_status_word(v); e.failed()) return e;
  t.o.list_filter.status = std::string(v);
  return Error();
}

Error set_tags(OptionTarget& t, const OptionSpec&, std::string_view v) {
  if (v.find_first_not_of(";, ") == std::string_view::npos) return usage("needs a tag");
  for (std::string& tag : split_tags(v)) t.o.list_filter.tags.push_back(std::move(tag));
  return Error();
}

Error set_format(OptionTarget& t, const OptionSpec&, std::string_view v) {
  auto fields = parse_guest_format(v);
  if (!fields.ok()) return fields.error();
  t.o.list_format = std::move(*fields);
  return Error();
}

Error set_escape(OptionTarget& t, const OptionSpec&, std::string_view v) {
  auto e = parse_escape_char(v);
  if (!e.ok()) return e.error();
  t.o.escape = *e;
  return Error();
}

Error set_idle_exit(OptionTarget& t, const OptionSpec& s, std::string_view v) {
  auto n = parse_number(v, s.min, s.max);
  if (!n) return usage("expected seconds from 0 to " + std::to_string(s.max) + got(v));
  t.o.idle_exit_s = *n;
  return Error();
}

Error set_serial(OptionTarget& t, const OptionSpec& s, std::string_view v) {
  auto n = parse_number(v, s.min, s.max);
  if (!n) return usage("expected a serial port number 0 to " + std::to_string(s.max) + got(v));
  t.o.serial = static_cast<int>(*n);
  return Error();
}

// Handled by the parser itself (they end it); listed for --help and the completions.
Error set_nothing(OptionTarget&, const OptionSpec&, std::string_view) {
  return Error();
}

// clang-format off
const OptionSpec kOptions[] = {
    // --- Connection and authentication (every command) ---
    {.flag = "--host", .metavar = "HOST[:PORT]", .env = "PVE_HOST", .config_key = "host",
     .group = OptionGroup::hosts, .repeatable = true, .set = set_hosts,
     .help = "Proxmox node(s); repeat or comma-separate to fail over (env PVE_HOST;\n"
             "default port 8006; IPv6 as [::1]:8006; https://HOST:PORT/ as pasted\n"
             "from the browser is fine)"},
    {.flag = "--user", .metavar = "USER[@REALM]", .env = "PVE_USER", .config_key = "user",
     .group = OptionGroup::credentials, .pick = Pick::user, .set = set_user,
     .help = "ticket login (env PVE_USER; realm defaults to @pam); the password comes\n"
             "from PVE_PASSWORD, --password-file FILE, or a prompt on the terminal"},
    {.flag = "--password", .env = "PVE_PASSWORD", .config_key = "password",
     .group = OptionGroup::credentials, .pick = Pick::password, .secret = true, .refused = true,
     .set = set_password},
    {.flag = "--password-file", .metavar = "FILE", .config_key = "password_file",
     .group = OptionGroup::credentials, .pick = Pick::password, .form = Form::path,
     .text_field = &CliOptions::password_file, .set = set_path,
     .help = "read the password from FILE (must not be readable by others)",
     .completion = "file"},
    {.config_key = "password_command", .group = OptionGroup::credentials, .pick = Pick::password,
     .form = Form::command, .set = set_password_command},
    {.flag = "--otp", .metavar = "CODE", .env = "PVE_OTP", .secret = true, .set = set_otp,
     .help = "two-factor TOTP code (env PVE_OTP; prompted on a terminal if needed)"},
    {.flag = "--api-token", .metavar = "USER@REALM!TOKENID=SECRET", .env = "PVE_API_TOKEN",
     .group = OptionGroup::credentials, .pick = Pick::token, .secret = true,
     .set = set_api_token,
     .help = "API token instead of a user (env PVE_API_TOKEN; PVEAPIToken=... as in\n"
             "curl examples is fine)"},
    {.config_key = "token_id", .group = OptionGroup::credentials, .pick = Pick::token,
     .set = set_token_id},
    {.config_key = "token_secret", .group = OptionGroup::credentials, .pick = Pick::token,
     .secret = true, .set = set_token_secret},
    {.config_key = "token_file", .group = OptionGroup::credentials, .pick = Pick::token,
     .form = Form::path, .text_field = &CliOptions::token_file, .set = set_path},
    {.config_key = "token_command", .group = OptionGroup::credentials, .pick = Pick::token,
     .form = Form::command, .set = set_token_command},
    {.flag = "--fingerprint", .metavar = "SHA256", .env = "PVE_FINGERPRINT",
     .config_key = "fingerprint", .group = OptionGroup::trust, .pick = Pick::fingerprint,
     .repeatable = true, .set = set_fingerprints,
     .help = "trust a server certificate by its SHA-256 fingerprint (AA:BB:... or hex;\n"
             "repeatable: any one matching is enough; env PVE_FINGERPRINT, comma list)"},
    {.flag = "--ca-file", .metavar = "FILE", .env = "PVE_CA_FILE", .config_key = "ca_file",
     .group = OptionGroup::trust, .pick = Pick::ca_file, .form = Form::path,
     .text_field = &CliOptions::ca_file, .set = set_path,
     .help = "trust certificates signed by this CA (env PVE_CA_FILE), e.g. the\n"
             "cluster's /etc/pve/pve-root-ca.pem",
     .completion = "file"},
    {.flag = "--insecure", .group = OptionGroup::trust, .pick = Pick::insecure,
     .form = Form::boolean, .flag_field = &CliOptions::insecure, .set = set_flag,
     .help = "do not verify the server certificate (warns; for tests only)\n"
             "Without any of these three: trust on first use, as ssh does. A server\n"
             "the system CAs do not vouch for is shown and asked about on a terminal\n"
             "(never with --json; elsewhere exit 4 with its fingerprint); the answer\n"
             "is kept in ~/.local/share/pvebridge/known_hosts (or $XDG_DATA_HOME).\n"
             "Pinned a node's certificate? Its first console then offers, once per\n"
             "host, the cluster CA named by the console's reply instead (so renewed\n"
             "node certificates keep working); 'no' is remembered"},
    {.flag = "--proxy", .metavar = "http://HOST:PORT", .config_key = "proxy", .set = set_proxy,
     .help = "go through this HTTP proxy (CONNECT); default: env https_proxy or\n"
             "HTTPS_PROXY (credentials only there: http://USER:PASS@HOST:PORT), then\n"
             "the config file's proxy; no_proxy / NO_PROXY lists hosts to reach\n"
             "directly, whichever proxy applies",
     .completion = "http://"},
    {.flag = "--tls-backend", .metavar = "NAME", .config_key = "tls_backend",
     .set = set_tls_backend,
     .help = "openssl (default: its AES-GCM is ~14x faster) or mbedtls (the\n"
             "reference implementation; TLS 1.2 only)",
     .completion = "openssl mbedtls"},
    {.flag = "--timeout", .metavar = "SECONDS", .config_key = "timeout", .min = 1, .max = 3600,
     .number = &CliOptions::timeout_s, .set = set_number,
     .help = "limit for each network step: connect, TLS handshake, each request\n"
             "(1 to 3600, default 15)"},
    {.flag = "--json", .form = Form::boolean, .flag_field = &CliOptions::json, .set = set_flag,
     .help = "machine-readable output: one JSON object per line on stdout (list: one\n"
             "JSON array)"},
    {.flag = "--verbose", .short_flag = "-v", .form = Form::boolean,
     .flag_field = &CliOptions::verbose, .set = set_flag,
     .help = "log protocol steps on stderr (secrets are never logged)"},
    {.flag = "--config", .metavar = "FILE", .env = "PVEBRIDGE_CONFIG",
     .group = OptionGroup::config, .text_field = &CliOptions::config_file, .set = set_text,
     .help = "the config file (env PVEBRIDGE_CONFIG; default\n"
             "~/.config/pvebridge/config, or under $XDG_CONFIG_HOME)",
     .completion = "file"},
    {.flag = "--profile", .metavar = "NAME", .env = "PVEBRIDGE_PROFILE",
     .group = OptionGroup::config, .text_field = &CliOptions::profile, .set = set_text,
     .help = "the config file profile to use (env PVEBRIDGE_PROFILE; default: the\n"
             "file's default_profile); the command line beats the environment,\n"
             "which beats the file, group by group (credentials, trust, hosts)",
     .completion = "profile"},
    {.flag = "--help", .short_flag = "-h", .set = set_nothing,
     .help = "show this help (after a command: that command's)"},
    {.flag = "--version", .set = set_nothing, .help = "show the version"},

    // --- connect ---
    {.flag = "--start", .commands = kForConsoles | kForTerminal, .form = Form::boolean,
     .flag_field = &CliOptions::start, .set = set_flag,
     .help = "start a stopped guest (resume a paused one) and wait until it runs"},
    {.flag = "--listen", .metavar = "HOST:PORT", .commands = kForConnect, .set = set_listen,
     .help = "local listener, loopback only (default 127.0.0.1:0 = random port;\n"
             "[::1]:0 for IPv6)",
     .completion = "127.0.0.1:0 [::1]:0"},
    {.flag = "--keepalive", .metavar = "SECONDS", .config_key = "keepalive",
     .commands = kForConsoles | kForTerminal, .min = 0, .max = 86400,
     .number = &CliOptions::keepalive_s,
     .set = set_number,
     .help = "WebSocket ping interval, 0 = off (default 30); a missing pong ends\n"
             "the session (term, shell: the keepalive message's interval)"},
    {.flag = "--reconnect", .metavar = "SECONDS", .config_key = "reconnect",
     .commands = kForConsoles, .min = 0, .max = 86400, .number = &CliOptions::reconnect_s,
     .set = set_number,
     .help = "how long a lost console connection is retried while the viewer stays\n"
             "connected, 0 = off (default 60)"},
    {.flag = "--viewer", .metavar = "PROGRAM", .config_key = "viewer", .commands = kForConnect,
     .form = Form::program, .set = set_viewer,
     .help = "viewer to start (default remote-viewer, from the virt-viewer package)",
     .completion = "command"},
    {.flag = "--viewer-arg", .metavar = "ARG", .config_key = "viewer_args",
     .commands = kForConnect, .form = Form::words, .set = set_viewer_args,
     .help = "extra argument for the viewer, repeatable (e.g. --viewer-arg --kiosk)"},
    {.flag = "--fullscreen", .config_key = "fullscreen", .commands = kForConnect,
     .form = Form::boolean, .flag_field = &CliOptions::fullscreen, .set = set_flag,
     .help = "ask the viewer for full screen"},
    {.flag = "--kiosk", .config_key = "kiosk", .commands = kForConnect, .form = Form::boolean,
     .flag_field = &CliOptions::kiosk, .set = set_flag,
     .help = "remote-viewer kiosk mode (--kiosk --kiosk-quit on-disconnect)"},
    {.flag = "--title", .metavar = "TEXT", .commands = kForConnect,
     .text_field = &CliOptions::title, .set = set_any_text,
     .help = "window title (default: guest name and id)"},
    {.flag = "--client-wait", .metavar = "SECONDS", .config_key = "client_wait",
     .commands = kForConnect, .min = 1, .max = 3600, .number = &CliOptions::client_wait_s,
     .set = set_number,
     .help = "how long to wait for the viewer to connect (default 60; with\n"
             "--passthrough at most 30: the node's VNC password expires then)"},
    {.flag = "--local-auth", .metavar = "vnc|none", .config_key = "local_auth",
     .commands = kForConsoles, .set = set_local_auth,
     .help = "how local clients authenticate: vnc (default: a one-time password of 8\n"
             "random characters per listener, in the .vv) or none (a trusted\n"
             "single-user machine)",
     .completion = "vnc none"},
    {.flag = "--exclusive", .commands = kForConsoles, .form = Form::boolean,
     .flag_field = &CliOptions::exclusive, .set = set_flag,
     .help = "ask the node for an exclusive session (other viewers of the guest are\n"
             "disconnected); default: shared"},
    {.flag = "--passthrough", .commands = kForConnect, .form = Form::boolean,
     .flag_field = &CliOptions::passthrough, .set = set_flag,
     .help = "relay the console's bytes unread (the old byte pipe): the viewer\n"
             "authenticates to the node with its one-shot password, within 30 s"},
    {.flag = "--show-password", .commands = kForServe, .form = Form::boolean,
     .flag_field = &CliOptions::show_password, .set = set_flag,
     .help = "print each endpoint's local password (never printed otherwise; it is in\n"
             "the endpoint's private .vv file)"},
    {.flag = "--vv-file", .metavar = "PATH", .commands = kForConnect, .form = Form::path,
     .text_field = &CliOptions::vv_file, .set = set_text,
     .help = "write the .vv file here (created new, mode 0600, removed at the end)",
     .completion = "file"},
    {.flag = "--vv-stdin", .commands = kForConnect, .form = Form::boolean,
     .flag_field = &CliOptions::vv_stdin, .set = set_flag,
     .help = "hand the .vv to the viewer on standard input: nothing touches the disk"},
    {.flag = "--protocol", .metavar = "vnc|spice|auto", .config_key = "protocol",
     .commands = kForConnect, .set = set_protocol,
     .help = "the console: vnc (default; needs only port 8006), spice (remote-viewer\n"
             "through the node's SPICE proxy on port 3128), or auto (SPICE when the VM's\n"
             "display is qxl or virtio, else VNC; containers are always VNC)",
     .completion = "vnc spice auto"},
    {.flag = "--spice-proxy", .metavar = "HOST[:PORT]", .config_key = "spice_proxy",
     .commands = kForConnect, .set = set_spice_proxy,
     .help = "where the viewer reaches the node's SPICE proxy (default: the host the\n"
             "API answered on, port 3128)"},
    {.flag = "--spice-relay", .config_key = "spice_relay", .commands = kForConnect,
     .form = Form::boolean, .flag_field = &CliOptions::spice_relay, .set = set_flag,
     .help = "carry the viewer's SPICE proxy connections through pvebridge (a loopback\n"
             "relay that lets only this console's target through); automatic with an\n"
             "HTTP proxy (--proxy, https_proxy) and with --no-viewer"},
    {.flag = "--no-viewer", .commands = kForConnect, .form = Form::boolean,
     .flag_field = &CliOptions::no_viewer, .set = set_flag,
     .help = "start no viewer: report the .vv path and port (see --json), serve one\n"
             "client, end when it disconnects (exit 10 if none arrives in time)"},

    // --- term and shell ---
    {.flag = "--serial", .metavar = "N", .commands = kForTerminal, .min = 0, .max = 3,
     .set = set_serial,
     .help = "qemu: the serial port serialN (default: the first in the VM's config)",
     .completion = "0 1 2 3"},
    {.flag = "--escape", .metavar = "CHAR|none", .commands = kForTerminal, .set = set_escape,
     .help = "the escape character (default ~; ^X for a control character):\n"
             "~. ends the session, ~? lists the escapes, ~~ sends one ~; only at the\n"
             "start of a line",
     .completion = "~ none"},
    {.flag = "--idle-exit", .metavar = "SECONDS", .commands = kForTerminal, .min = 0,
     .max = 86400, .set = set_idle_exit,
     .help = "not on a terminal: once standard input has ended, end when the remote\n"
             "output has been quiet this long (default 2)"},

    // --- list ---
    {.flag = "--node", .metavar = "NODE", .commands = kForList, .set = set_node,
     .help = "guests on this node", .completion = "node"},
    {.flag = "--type", .metavar = "TYPE", .commands = kForList, .set = set_type,
     .help = "qemu (virtual machines) or lxc (containers)", .completion = "qemu lxc"},
    {.flag = "--status", .metavar = "STATUS", .commands = kForList, .set = set_status,
     .help = "running, stopped, paused, suspended, ..., or template",
     .completion = "running stopped paused suspended template"},
    {.flag = "--tag", .metavar = "TAG", .commands = kForList, .repeatable = true,
     .set = set_tags, .help = "guests with this tag (repeatable: all of them; case ignored)"},
    {.flag = "--pool", .metavar = "POOL", .commands = kForList, .set = set_pool,
     .help = "guests in this resource pool"},
    {.flag = "--format", .metavar = "FIELDS", .commands = kForList, .set = set_format,
     .help = "one tab-separated line per guest, no header, with these fields (comma\n"
             "list of vmid, name, node, type, status, tags, pool, lock, template),\n"
             "e.g. --format vmid,name,status",
     .completion = "vmid name node type status tags pool lock template"},
};
// clang-format on

}  // namespace

std::span<const OptionSpec> option_table() {
  return kOptions;
}

const OptionSpec* find_flag(std::string_view flag) {
  if (flag.empty()) return nullptr;
  for (const OptionSpec& s : kOptions) {
    if (s.flag == flag || s.short_flag == flag) return &s;
  }
  return nullptr;
}

const OptionSpec* find_config_key(std::string_view key) {
  if (key.empty()) return nullptr;
  for (const OptionSpec& s : kOptions) {
    if (s.config_key == key) return &s;
  }
  return nullptr;
}

std::string options_help(unsigned commands) {
  constexpr size_t kColumn = 26;
  std::string out;
  for (const OptionSpec& s : kOptions) {
    bool wanted = commands == kForEvery ? s.commands == kForEvery
                                        : (s.commands & commands) != 0 && s.commands != kForEvery;
    if (!wanted || s.flag.empty() || s.help.empty()) continue;
    std::string head = "  " + std::string(s.flag);
    if (!s.short_flag.empty()) head += ", " + std::string(s.short_flag);
    if (s.takes_value()) head += " " + std::string(s.metavar);
    head += head.size() + 2 <= kColumn ? std::string(kColumn - head.size(), ' ')
                                       : "\n" + std::string(kColumn, ' ');
    out += head;
    std::string_view help = s.help;
    while (true) {
      auto nl = help.find('\n');
      out += std::string(help.substr(0, nl)) + "\n";
      if (nl == std::string_view::npos) break;
      help.remove_prefix(nl + 1);
      out += std::string(kColumn, ' ');
    }
  }
  return out;
}

std::string command_names(unsigned commands) {
  std::vector<std::string_view> names;
  for (auto [bit, name] : {std::pair<unsigned, std::string_view>{kForConnect, "connect"},
                           {kForServe, "serve"},
                           {kForList, "list"},
                           {kForTerm, "term"},
                           {kForShell, "shell"}}) {
    if (commands & bit) names.push_back(name);
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
    out += "'" + std::string(names[i]) + "'";
  }
  return out;
}

std::optional<uint64_t> parse_number(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

}  // namespace pvb
