#include "frontends/cli/options.h"

#include <arpa/inet.h>

#include <charconv>
#include <set>
#include <string_view>

#include "engine/core/text.h"
#include "engine/proxmox/credentials.h"
#include "engine/terminal/escape_filter.h"

namespace pvb {

static Error usage(std::string msg) {
  return Error(Errc::usage, std::move(msg));
}

static std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

// Splits "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 literal.
static Error split_host_port(std::string_view item, std::string& host, uint16_t& port,
                             uint16_t default_port, std::string_view what) {
  port = default_port;
  if (item.empty()) return usage(std::string(what) + ": empty host");
  if (item.front() == '[') {
    auto close = item.find(']');
    if (close == std::string_view::npos)
      return usage(std::string(what) + ": missing ']' in '" + printable(item) + "'");
    host = std::string(item.substr(1, close - 1));
    std::string_view rest = item.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return usage(std::string(what) + ": junk after ']' in '" + printable(item) + "'");
      auto p = parse_uint(rest.substr(1), 65535);
      if (!p || (*p == 0 && default_port != 0)) {
        return usage(std::string(what) + ": invalid port in '" + printable(item) + "'");
      }
      port = static_cast<uint16_t>(*p);
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
      return usage(std::string(what) + ": '" + printable(host) + "' is not an IPv6 address");
    }
    return Error();
  }
  auto first = item.find(':');
  if (first != std::string_view::npos && item.find(':', first + 1) != std::string_view::npos) {
    // Several colons and no brackets: a bare IPv6 literal, default port.
    host = std::string(item);
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
      return usage(std::string(what) + ": '" + printable(host) +
                   "' is not a valid address (IPv6 with a port needs brackets: [::1]:8006)");
    }
    return Error();
  }
  host = std::string(item.substr(0, first));
  if (first != std::string_view::npos) {
    auto p = parse_uint(item.substr(first + 1), 65535);
    if (!p || (*p == 0 && default_port != 0)) {
      return usage(std::string(what) + ": invalid port in '" + printable(item) + "'");
    }
    port = static_cast<uint16_t>(*p);
  }
  if (host.empty()) return usage(std::string(what) + ": empty host in '" + printable(item) + "'");
  for (unsigned char c : host) {
    if (c <= 0x20 || c == 0x7f || c == '/' || c == '@' || c == '?' || c == '#' || c == '[' ||
        c == ']') {
      return usage(std::string(what) + ": invalid host name '" + printable(host) + "'");
    }
  }
  return Error();
}

Result<std::vector<ApiHost>> parse_host_list(std::string_view text) {
  std::vector<ApiHost> out;
  while (true) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      ApiHost hp;
      Error e = split_host_port(item, hp.host, hp.port, 8006, "--host");
      if (e.failed()) return e;
      out.push_back(std::move(hp));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) return usage("--host: no host given");
  return out;
}

static bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

Error parse_listen(std::string_view text, std::string& host, uint16_t& port) {
  Error e = split_host_port(text, host, port, 0, "--listen");
  if (e.failed()) return e;
  if (host == "localhost") host = "127.0.0.1";
  if (!is_loopback(host)) {
    return usage("--listen: '" + printable(host) +
                 "' is not a loopback address; the console listener binds 127.0.0.1 or [::1] only");
  }
  return Error();
}

namespace {

struct Parser {
  const std::vector<std::string>& args;
  size_t i = 0;
  CliOptions o;
  std::set<std::string, std::less<>> given;  // value options seen: the config file fills the rest

  // Matches "--name VALUE" or "--name=VALUE"; returns the value or sets err.
  bool take_value(std::string_view arg, std::string_view name, std::string& value, Error& err) {
    if (arg == name) {
      if (i + 1 >= args.size()) {
        err = usage(std::string(name) + " needs a value");
        return true;
      }
      value = args[++i];
      given.emplace(name);
      return true;
    }
    if (arg.size() > name.size() && arg.substr(0, name.size()) == name && arg[name.size()] == '=') {
      value = std::string(arg.substr(name.size() + 1));
      given.emplace(name);
      return true;
    }
    return false;
  }
};

}  // namespace

Result<CliOptions> parse_command_line(const std::vector<std::string>& args, const EnvLookup& env,
                                      const ConfigLoader& config) {
  Parser p{args, 0, {}, {}};
  CliOptions& o = p.o;
  std::optional<std::string> host_text, user_text, token_text, otp_text;
  std::optional<std::string> proxy_text;
  bool positional_only = false;

  for (p.i = 0; p.i < args.size(); ++p.i) {
    std::string_view a = args[p.i];
    if (positional_only || a.empty() || a[0] != '-' || a == "-") {
      if (o.command == Command::none) {
        if (a == "connect")
          o.command = Command::connect;
        else if (a == "list")
          o.command = Command::list;
        else if (a == "help")
          o.command = Command::help;
        else if (a == "version")
          o.command = Command::version;
        else if (a == "term")
          o.command = Command::term;
        else if (a == "shell")
          o.command = Command::shell;
        else
          return usage("unknown command '" + printable(a) + "' (try: pvebridge --help)");
        continue;
      }
      if (o.command == Command::connect) {
        o.guests.emplace_back(a);
        continue;
      }
      if (o.command == Command::help) {
        o.help_topic = std::string(a);
        continue;
      }
      if (o.command == Command::term && o.guests.empty()) {
        o.guests.emplace_back(a);
        continue;
      }
      if (o.command == Command::shell && o.shell_node.empty()) {
        o.shell_node = std::string(a);
        continue;
      }
      if (o.command == Command::list) {
        o.list_filter.patterns.emplace_back(a);  // a name glob
        continue;
      }
      return usage("unexpected argument '" + printable(a) + "'");
    }
    if (a == "--") {
      positional_only = true;
      continue;
    }
    std::string v;
    Error err;
    auto value = [&](std::string_view name) { return p.take_value(a, name, v, err); };
    if (a == "--help" || a == "-h") {
      o.help_topic = o.command == Command::connect ? "connect"
                     : o.command == Command::list  ? "list"
                     : o.command == Command::term  ? "term"
                     : o.command == Command::shell ? "shell"
                                                   : "";
      o.command = Command::help;
      return o;
    } else if (a == "--version") {
      o.command = Command::version;
      return o;
    } else if (value("--host")) {
      if (err.failed()) return err;
      host_text = host_text ? *host_text + "," + v : v;
    } else if (value("--user")) {
      if (err.failed()) return err;
      user_text = v;
    } else if (a == "--password" || a.substr(0, 11) == "--password=") {
      return usage(
          "passwords are never taken on the command line: use PVE_PASSWORD, "
          "--password-file FILE, or the prompt");
    } else if (value("--password-file")) {
      if (err.failed()) return err;
      o.password_file = v;
    } else if (value("--api-token")) {
      if (err.failed()) return err;
      token_text = v;
    } else if (value("--otp")) {
      if (err.failed()) return err;
      otp_text = v;
    } else if (value("--fingerprint")) {
      if (err.failed()) return err;
      o.fingerprints.push_back(v);
    } else if (value("--ca-file")) {
      if (err.failed()) return err;
      o.ca_file = v;
    } else if (a == "--insecure") {
      o.insecure = true;
    } else if (value("--proxy")) {
      if (err.failed()) return err;
      proxy_text = v;
    } else if (value("--tls-backend")) {
      if (err.failed()) return err;
      auto b = parse_tls_backend(v);
      if (!b)
        return usage("--tls-backend: expected mbedtls or openssl, got '" + printable(v) + "'");
      o.tls_backend = *b;
    } else if (value("--timeout")) {
      if (err.failed()) return err;
      auto t = parse_uint(v, 3600);
      if (!t || *t == 0)
        return usage("--timeout: expected seconds from 1 to 3600, got '" + printable(v) + "'");
      o.timeout_s = *t;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--verbose" || a == "-v") {
      o.verbose = true;
    } else if (value("--listen")) {
      if (err.failed()) return err;
      Error e = parse_listen(v, o.listen_host, o.listen_port);
      if (e.failed()) return e;
    } else if (a == "--start") {
      o.start = true;
    } else if (value("--keepalive")) {
      if (err.failed()) return err;
      auto k = parse_uint(v, 86400);
      if (!k) return usage("--keepalive: expected seconds (0 = off), got '" + printable(v) + "'");
      o.keepalive_s = *k;
    } else if (value("--client-wait")) {
      if (err.failed()) return err;
      auto k = parse_uint(v, 3600);
      if (!k || *k == 0)
        return usage("--client-wait: expected seconds from 1 to 3600, got '" + printable(v) + "'");
      o.client_wait_s = *k;
    } else if (value("--vv-file")) {
      if (err.failed()) return err;
      if (v.empty()) return usage("--vv-file needs a path");
      o.vv_file = v;
    } else if (a == "--vv-stdin") {
      o.vv_stdin = true;
    } else if (a == "--no-viewer") {
      o.no_viewer = true;
    } else if (value("--viewer")) {
      if (err.failed()) return err;
      if (v.empty()) return usage("--viewer needs a program");
      o.viewer = v;
    } else if (value("--viewer-arg")) {
      if (err.failed()) return err;
      o.viewer_args.push_back(v);
    } else if (a == "--fullscreen") {
      o.fullscreen = true;
    } else if (a == "--kiosk") {
      o.kiosk = true;
    } else if (value("--title")) {
      if (err.failed()) return err;
      o.title = v;
    } else if (value("--escape")) {
      if (err.failed()) return err;
      auto e = parse_escape_char(v);
      if (!e.ok()) return e.error();
      o.escape = *e;
    } else if (value("--idle-exit")) {
      if (err.failed()) return err;
      auto k = parse_uint(v, 86400);
      if (!k) return usage("--idle-exit: expected seconds, got '" + printable(v) + "'");
      o.idle_exit_s = *k;
    } else if (value("--serial")) {
      if (err.failed()) return err;
      auto k = parse_uint(v, 3);
      if (!k)
        return usage("--serial: expected a serial port number 0 to 3, got '" + printable(v) + "'");
      o.serial = static_cast<int>(*k);
    } else if (value("--config")) {
      if (err.failed()) return err;
      if (v.empty()) return usage("--config needs a file");
      o.config_file = v;
    } else if (value("--profile")) {
      if (err.failed()) return err;
      if (v.empty()) return usage("--profile needs a name");
      o.profile = v;
    } else if (value("--node")) {
      if (err.failed()) return err;
      o.list_filter.node = v;
    } else if (value("--type")) {
      if (err.failed()) return err;
      o.list_filter.type = parse_guest_type(v);
      if (!o.list_filter.type)
        return usage("--type: expected qemu or lxc, got '" + printable(v) + "'");
    } else if (value("--status")) {
      if (err.failed()) return err;
      if (Error e = check_status_word(v); e.failed()) return e;
      o.list_filter.status = v;
    } else if (value("--tag")) {
      if (err.failed()) return err;
      if (v.find_first_not_of(";, ") == std::string::npos) return usage("--tag needs a tag");
      for (std::string& t : split_tags(v)) o.list_filter.tags.push_back(std::move(t));
    } else if (value("--pool")) {
      if (err.failed()) return err;
      o.list_filter.pool = v;
    } else if (value("--format")) {
      if (err.failed()) return err;
      auto fields = parse_guest_format(v);
      if (!fields.ok()) return fields.error();
      o.list_format = std::move(*fields);
    } else {
      return usage("unknown option '" + printable(a.substr(0, a.find('='))) +
                   "' (try: pvebridge --help)");
    }
  }

  if (o.command == Command::none) return usage("no command given (try: pvebridge --help)");
  if (o.command == Command::help || o.command == Command::version) return o;
  if (o.command == Command::connect && o.guests.empty()) {
    return usage("connect: name a guest (vmid, name, or node/vmid)");
  }
  if (o.command == Command::term && o.guests.empty()) {
    return usage("term: name a guest (vmid, name, or node/vmid)");
  }
  if (o.command != Command::list && (o.list_filter.active() || !o.list_format.empty())) {
    return usage("--node, --type, --status, --tag, --pool and --format are options of 'list'");
  }
  if (!o.list_format.empty() && o.json) return usage("--format and --json are mutually exclusive");
  // The config file (frontends/cli/profile.h) fills what neither the command line nor the
  // environment said.
  auto profile = load_profile(choose_config(o.config_file, o.profile, env), config, env);
  if (!profile.ok()) return profile.error();

  // Environment fills what the command line did not say.
  if (!host_text) host_text = env("PVE_HOST");
  if (!host_text) host_text = profile->host_text;
  if (!host_text) {
    return usage("no Proxmox host: use --host HOST[:PORT], PVE_HOST, or a config file profile");
  }
  auto hosts = parse_host_list(*host_text);
  if (!hosts.ok()) return hosts.error();
  o.hosts = std::move(*hosts);

  if (!token_text) {
    token_text = env("PVE_API_TOKEN");
    if (token_text) o.secret_env_names.push_back("PVE_API_TOKEN");
  }
  if (!user_text) user_text = env("PVE_USER");
  if (!otp_text) otp_text = env("PVE_OTP");
  if (o.fingerprints.empty()) {
    if (auto f = env("PVE_FINGERPRINT")) {
      std::string_view s = *f;
      while (!s.empty()) {
        auto c = s.find(',');
        if (c) o.fingerprints.emplace_back(s.substr(0, c));
        if (c == std::string_view::npos) break;
        s.remove_prefix(c + 1);
      }
    }
  }
  if (o.ca_file.empty()) {
    if (auto c = env("PVE_CA_FILE")) o.ca_file = *c;
  }
  std::optional<std::string> env_password = env("PVE_PASSWORD");
  if (env_password) o.secret_env_names.push_back("PVE_PASSWORD");
  fill_credentials(*profile, env_password.has_value(), token_text, user_text, o);

  if (token_text) {
    if (user_text || !o.password_file.empty()) {
      return usage(
          "an API token and a user/password are mutually exclusive: give one or the other");
    }
    auto t = parse_api_token(*token_text);
    if (!t.ok()) return t.error();
    o.api_token = token_text;
  } else if (!o.token_id.empty()) {
    // A token from the config file whose secret is read when the command runs (app.cc).
  } else {
    if (!user_text)
      return usage(
          "no credentials: use --api-token (or PVE_API_TOKEN), or --user (or PVE_USER) with a "
          "password, or a config file profile");
    auto u = normalize_user(*user_text);
    if (!u.ok()) return u.error();
    o.user = *u;
    o.user_realm_defaulted = user_text->find('@') == std::string::npos;
    if (o.password_file.empty() && env_password) o.password = env_password;
  }
  if (otp_text) o.otp = otp_text;
  fill_settings(*profile, p.given, o);

  auto proxy = proxy_settings(proxy_text, env, o.secret_env_names, profile->proxy);
  if (!proxy.ok()) return proxy.error();
  o.proxy = std::move(*proxy);

  int tls_modes = (!o.fingerprints.empty()) + (!o.ca_file.empty()) + o.insecure;
  if (tls_modes > 1) {
    return usage("--fingerprint, --ca-file and --insecure are mutually exclusive");
  }
  if (o.vv_stdin && !o.vv_file.empty())
    return usage("--vv-stdin and --vv-file are mutually exclusive");
  if (o.vv_stdin && o.no_viewer)
    return usage("--vv-stdin needs a viewer to read it (drop --no-viewer)");
  return o;
}

std::string version_text() {
  return "pvebridge " PVB_VERSION "\n";
}

}  // namespace pvb
