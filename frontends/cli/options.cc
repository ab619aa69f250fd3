#include "frontends/cli/options.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string_view>

#include "engine/core/platform.h"
#include "engine/core/text.h"
#include "frontends/cli/option_levels.h"
#include "frontends/cli/option_table.h"

namespace pvb {

static Error usage(std::string msg) {
  return Error(Errc::usage, std::move(msg));
}

static std::optional<uint64_t> parse_port(std::string_view s) {
  return parse_number(s, 0, 65535);
}

// Splits "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 literal.
static Error split_host_port(std::string_view item, std::string& host, uint16_t& port,
                             uint16_t default_port) {
  port = default_port;
  if (item.empty()) return usage("empty host");
  if (item.front() == '[') {
    auto close = item.find(']');
    if (close == std::string_view::npos) return usage("missing ']' in '" + printable(item) + "'");
    host = std::string(item.substr(1, close - 1));
    std::string_view rest = item.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return usage("junk after ']' in '" + printable(item) + "'");
      auto p = parse_port(rest.substr(1));
      if (!p || (*p == 0 && default_port != 0)) {
        return usage("invalid port in '" + printable(item) + "'");
      }
      port = static_cast<uint16_t>(*p);
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
      return usage("'" + printable(host) + "' is not an IPv6 address");
    }
    return Error();
  }
  auto first = item.find(':');
  if (first != std::string_view::npos && item.find(':', first + 1) != std::string_view::npos) {
    // Several colons and no brackets: a bare IPv6 literal, default port.
    host = std::string(item);
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
      return usage("'" + printable(host) +
                   "' is not a valid address (IPv6 with a port needs brackets: [::1]:8006)");
    }
    return Error();
  }
  host = std::string(item.substr(0, first));
  if (first != std::string_view::npos) {
    auto p = parse_port(item.substr(first + 1));
    if (!p || (*p == 0 && default_port != 0)) {
      return usage("invalid port in '" + printable(item) + "'");
    }
    port = static_cast<uint16_t>(*p);
  }
  if (host.empty()) return usage("empty host in '" + printable(item) + "'");
  for (unsigned char c : host) {
    if (c <= 0x20 || c == 0x7f || c == '/' || c == '@' || c == '?' || c == '#' || c == '[' ||
        c == ']') {
      return usage("invalid host name '" + printable(host) + "'");
    }
  }
  return Error();
}

// "https://pve1:8006/" as pasted from the browser's address bar: the authority, else the item.
static Result<std::string_view> strip_url(std::string_view item) {
  auto scheme_end = item.find("://");
  if (scheme_end == std::string_view::npos) return item;
  std::string_view scheme = item.substr(0, scheme_end);
  if (scheme == "http") {
    return usage(
        "'" + printable(item) +
        "': plain http:// is refused: the Proxmox API speaks HTTPS only (https://HOST:8006)");
  }
  if (scheme != "https") return usage("'" + printable(item) + "': only https:// URLs name a host");
  item.remove_prefix(scheme_end + 3);
  auto slash = item.find('/');
  if (slash == std::string_view::npos) return item;
  // The browser's own part after the host ("/", "/#v1:0:=qemu%2F100") says nothing to us.
  std::string_view rest = item.substr(slash + 1);
  if (!rest.empty() && rest.front() != '#') {
    return usage("'" + printable(item) + "': a path after the host is not a host");
  }
  return item.substr(0, slash);
}

Result<std::vector<ApiHost>> parse_host_list(std::string_view text) {
  std::vector<ApiHost> out;
  while (true) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto authority = strip_url(item);
      if (!authority.ok()) return authority.error();
      ApiHost hp;
      Error e = split_host_port(*authority, hp.host, hp.port, 8006);
      if (e.failed()) return e;
      out.push_back(std::move(hp));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) return usage("no host given");
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
  if (parse_port(text)) {
    return usage("give HOST:PORT, e.g. 127.0.0.1:" + std::string(text) +
                 " (or [::1]:" + std::string(text) + ")");
  }
  Error e = split_host_port(text, host, port, 0);
  if (e.failed()) return e;
  if (host == "localhost") host = "127.0.0.1";
  if (!is_loopback(host)) {
    return usage("'" + printable(host) +
                 "' is not a loopback address; the console listener binds 127.0.0.1 or [::1] only");
  }
  return Error();
}

namespace {

constexpr std::string_view kCommands[] = {"connect", "serve", "list",   "term",
                                          "shell",   "help",  "version"};
constexpr std::string_view kHelpTopics[] = {"connect", "serve", "list", "term", "shell", "config"};

unsigned commands_mask(Command c) {
  switch (c) {
    case Command::connect:
      return kForConnect;
    case Command::serve:
      return kForServe;
    case Command::list:
      return kForList;
    case Command::term:
      return kForTerm;
    case Command::shell:
      return kForShell;
    default:
      return kForEvery;
  }
}

std::string_view command_name(Command c) {
  switch (c) {
    case Command::connect:
      return "connect";
    case Command::serve:
      return "serve";
    case Command::list:
      return "list";
    case Command::term:
      return "term";
    case Command::shell:
      return "shell";
    default:
      return "";
  }
}

// Where the help of the command so far is.
std::string help_hint(Command c) {
  std::string_view name = command_name(c);
  return name.empty() ? "see: pvebridge --help" : "see: pvebridge help " + std::string(name);
}

// Edit distance (insertions, deletions, substitutions, swaps of neighbours), for suggestions.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

Error unknown_command(std::string_view word) {
  std::string msg = "unknown command '" + printable(word) + "'";
  if (word.size() < 32) {
    for (std::string_view c : kCommands) {
      if (distance(word, c) <= 2) {
        msg += " (did you mean '" + std::string(c) + "'?)";
        break;
      }
    }
  }
  return usage(msg + "; commands: connect, serve, list, term, shell, help, version");
}

// The first command word, a guest, a pattern or a help topic.
Error positional(CliOptions& o, std::string_view a) {
  switch (o.command) {
    case Command::none:
      if (a == "connect") {
        o.command = Command::connect;
      } else if (a == "serve") {
        o.command = Command::serve;
      } else if (a == "list") {
        o.command = Command::list;
      } else if (a == "help") {
        o.command = Command::help;
      } else if (a == "version") {
        o.command = Command::version;
      } else if (a == "term") {
        o.command = Command::term;
      } else if (a == "shell") {
        o.command = Command::shell;
      } else {
        return unknown_command(a);
      }
      return Error();
    case Command::connect:
    case Command::serve:
      o.guests.emplace_back(a);
      return Error();
    case Command::list:
      o.list_filter.patterns.emplace_back(a);  // a name glob
      return Error();
    case Command::term:
      if (!o.guests.empty()) break;  // one guest, one terminal
      o.guests.emplace_back(a);
      return Error();
    case Command::shell:
      if (!o.shell_node.empty()) break;
      o.shell_node = std::string(a);
      return Error();
    case Command::help:
      for (std::string_view t : kHelpTopics) {
        if (a == t) {
          o.help_topic = std::string(a);
          return Error();
        }
      }
      return usage("no help topic '" + printable(a) +
                   "' (topics: connect, serve, list, term, shell, config)");
    case Command::version:
      break;
  }
  return usage("unexpected argument '" + printable(a) + "'");
}

// What the command line says: the command, its words, and the options as given.
struct CommandLine {
  CliOptions o;
  std::vector<OptionGiven> given;
  bool done = false;  // --help or --version: nothing else matters
};

Result<CommandLine> read_command_line(const std::vector<std::string>& args) {
  CommandLine cl;
  CliOptions& o = cl.o;
  bool positional_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (positional_only || a.empty() || a[0] != '-' || a == "-") {
      if (Error e = positional(o, a); e.failed()) return e;
      continue;
    }
    if (a == "--") {
      positional_only = true;
      continue;
    }
    auto eq = a.substr(0, 2) == "--" ? a.find('=') : std::string_view::npos;
    std::string_view name = a.substr(0, eq);
    const OptionSpec* s = find_flag(name);
    if (!s) {
      return usage("unknown option '" + printable(name) + "' (" + help_hint(o.command) + ")");
    }
    if (s->refused) {
      OptionTarget t(o);
      return s->set(t, *s, "").context(s->flag);
    }
    if (s->flag == "--help") {
      o.help_topic = std::string(command_name(o.command));
      o.command = Command::help;
      cl.done = true;
      return cl;
    }
    if (s->flag == "--version") {
      o.command = Command::version;
      cl.done = true;
      return cl;
    }
    std::string value;
    if (!s->takes_value()) {
      if (eq != std::string_view::npos) return usage(std::string(s->flag) + " takes no value");
    } else if (eq != std::string_view::npos) {
      value = std::string(a.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return usage(std::string(s->flag) + " needs a value");
    }
    cl.given.push_back(OptionGiven{s, std::move(value), std::string(s->flag)});
  }
  return cl;
}

#ifdef __linux__
bool has_display(const EnvLookup& env) {
  for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY"}) {
    auto v = env(name);
    if (v && !v->empty()) return true;
  }
  return false;
}
#endif

}  // namespace

Result<CliOptions> parse_command_line(const std::vector<std::string>& args, const EnvLookup& env,
                                      const ConfigLoader& config) {
  auto cl = read_command_line(args);
  if (!cl.ok()) return cl.error();
  CliOptions& o = cl->o;
  if (cl->done) return std::move(o);
  if (o.command == Command::none) return usage("no command given (try: pvebridge --help)");
  if (o.command == Command::help || o.command == Command::version) return std::move(o);
  if (o.command == Command::connect && o.guests.empty()) {
    return usage("connect: name a guest (vmid, name, or node/vmid)");
  }
  if (o.command == Command::serve && o.guests.empty()) {
    return usage("serve: name a guest (GUEST or GUEST=PORT; several for several endpoints)");
  }
  if (o.command == Command::term && o.guests.empty()) {
    return usage("term: name a guest (vmid, name, or node/vmid)");
  }
  unsigned mask = commands_mask(o.command);
  for (const OptionGiven& g : cl->given) {
    if ((g.spec->commands & mask) == 0) {
      // The help topic of the option's first command ("term" covers shell too).
      std::string owner = command_names(g.spec->commands);
      std::string topic = owner.substr(1, owner.find('\'', 1) - 1);
      return usage(std::string(g.spec->flag) + " is an option of " + owner +
                   " (see: pvebridge help " + topic + ")");
    }
  }

  // --config and --profile choose the file; the rest waits for the levels below.
  OptionTarget t(o);
  std::vector<OptionGiven> command_line;
  for (OptionGiven& g : cl->given) {
    if (g.spec->group != OptionGroup::config) {
      command_line.push_back(std::move(g));
    } else if (Error e = g.spec->set(t, *g.spec, g.value); e.failed()) {
      return e.context(g.where);
    }
  }
  auto file = load_profile(choose_config(o.config_file, o.profile, env), config, env);
  if (!file.ok()) return file.error();
  std::vector<OptionGiven> environment = environment_level(env, o);

  t.home = file->home;
  t.config_dir = file->config_dir;
  Error e = apply_levels(t, file->settings, environment, command_line);
  for (OptionGiven& g : file->settings) wipe(g.value);
  if (e.failed()) return e;
  o.config_origin = file->origin;

  if (o.hosts.empty()) {
    if (!file->unchosen_profiles.empty()) {
      return usage("no Proxmox host: " + file->origin + " has profiles (" +
                   file->unchosen_profiles +
                   ") but names no default_profile: use --profile NAME, or set default_profile "
                   "in the file");
    }
    return usage("no Proxmox host: use --host HOST[:PORT], PVE_HOST, or a config file profile");
  }
  if (!o.api_token && o.token_id.empty() && o.user.empty()) {
    return usage(
        "no credentials: use --api-token (or PVE_API_TOKEN), or --user (or PVE_USER) with a "
        "password, or a config file profile");
  }

  auto proxy = proxy_settings(t.proxy_option, env, o.secret_env_names, t.proxy_file);
  if (!proxy.ok()) return proxy.error();
  o.proxy = std::move(*proxy);

  if (!o.list_format.empty() && o.json) return usage("--format and --json are mutually exclusive");
  if (o.vv_stdin && !o.vv_file.empty()) {
    return usage("--vv-stdin and --vv-file are mutually exclusive");
  }
  if (o.vv_stdin && o.no_viewer) {
    return usage("--vv-stdin needs a viewer to read it (drop --no-viewer)");
  }
#ifdef __linux__
  // A viewer without a display fails after the ticket was fetched and the password spent: say
  // so before any network call.
  if (o.command == Command::connect && !o.no_viewer && !has_display(env)) {
    return usage("no display: use --no-viewer, or run it in a desktop session");
  }
#endif
  return std::move(o);
}

std::string version_text() {
  return "pvebridge " PVB_VERSION "\n";
}

}  // namespace pvb
