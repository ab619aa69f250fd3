// parse_command_line on an argv cut from the input at NUL bytes, with a fixed fake environment
// (byte 0 picks one of three), plus parse_host_list and parse_listen on every argument.
//
// Invariants:
// - an error is Errc::usage and ONE line (it is printed as "pvebridge: <message>"): no '\n' or
//   '\r', whatever the arguments hold;
// - no secret appears in an error: not the environment's password or API token; and an error
//   does not depend on the letters of a value given to --api-token or --otp (parsing again with
//   them shifted, a -> b, gives the same message);
// - accepted options are consistent: a command; connect names a guest; list/connect have hosts;
//   term names one guest, and only term/shell take --escape, --idle-exit (<= 86400), --serial
//   (0..3); token and user/password exclusive; at most one TLS mode; --vv-stdin excludes
//   --vv-file and --no-viewer; the listener is loopback; timeout 1..3600; keepalive <= 86400; a
//   viewer is only started with DISPLAY or WAYLAND_DISPLAY set;
// - parsed hosts are non-empty and bracket-free; parse_listen only yields loopback addresses.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frontends/cli/option_table.h"
#include "frontends/cli/options.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

// Distinctive values, so finding one in an error means it leaked.
constexpr std::string_view kEnvPassword = "envPassw0rd-Zq7xK";
constexpr std::string_view kEnvTokenSecret = "3f1c7e2a-envtoken-secret-9b8d";

const std::map<std::string, std::string>& environment(int which) {
  static const std::map<std::string, std::string> envs[3] = {
      {},
      {{"PVE_HOST", "pve1.example.com,pve2.example.com:8007"},
       {"PVE_USER", "root@pam"},
       {"PVE_PASSWORD", std::string(kEnvPassword)},
       {"PVE_FINGERPRINT",
        "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:"
        "77:88:99"},
       {"DISPLAY", ":0"}},
      {{"PVE_HOST", "[2001:db8::1]:8006"},
       {"PVE_API_TOKEN", "root@pam!pvebridge=" + std::string(kEnvTokenSecret)},
       {"PVE_CA_FILE", "/etc/pve/pve-root-ca.pem"},
       {"PVE_OTP", "123456"},
       {"WAYLAND_DISPLAY", "wayland-0"}},
  };
  return envs[which % 3];
}

bool is_loopback(const std::string& host) {
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  return inet_pton(AF_INET6, host.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

// Options whose value is the next argument (or follows '='): the parser's own table.
bool takes_value(std::string_view flag) {
  const OptionSpec* s = find_flag(flag);
  return s && s->takes_value();
}
constexpr std::string_view kSecretOptions[] = {"--api-token", "--otp"};
// A literal keyword before a token (as curl examples write it), not part of the secret.
constexpr std::string_view kTokenPrefix = "PVEAPIToken=";

bool is_one_of(std::string_view a, std::span<const std::string_view> list) {
  return std::find(list.begin(), list.end(), a) != list.end();
}

// Replaces every letter and digit by the next one (z -> a, 9 -> 0): the value keeps its shape
// (length, '@', '!', '=', blanks), so it parses the same way, but reads differently.
std::string shifted(std::string_view s) {
  std::string out(s);
  size_t from = s.substr(0, kTokenPrefix.size()) == kTokenPrefix ? kTokenPrefix.size() : 0;
  for (char& c : std::span(out).subspan(from)) {
    if (c >= 'a' && c <= 'z') {
      c = c == 'z' ? 'a' : static_cast<char>(c + 1);
    } else if (c >= 'A' && c <= 'Z') {
      c = c == 'Z' ? 'A' : static_cast<char>(c + 1);
    } else if (c >= '0' && c <= '9') {
      c = c == '9' ? '0' : static_cast<char>(c + 1);
    }
  }
  return out;
}

// The same argv with the values of --api-token and --otp shifted, found the way the parser walks
// argv; nullopt when there is no such value.
std::optional<std::vector<std::string>> with_secrets_shifted(std::vector<std::string> args) {
  bool any = false;
  bool positional_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string& a = args[i];
    if (positional_only || a.empty() || a[0] != '-' || a == "-") continue;
    if (a == "--") {
      positional_only = true;
      continue;
    }
    if (takes_value(a)) {
      if (i + 1 < args.size() && is_one_of(a, kSecretOptions)) {
        args[i + 1] = shifted(args[i + 1]);
        any = true;
      }
      ++i;
      continue;
    }
    size_t eq = a.find('=');
    if (eq != std::string::npos && is_one_of(std::string_view(a).substr(0, eq), kSecretOptions)) {
      a = a.substr(0, eq + 1) + shifted(std::string_view(a).substr(eq + 1));
      any = true;
    }
  }
  if (!any) return std::nullopt;
  return args;
}

// An error must not depend on what a secret says, only on its shape: parsing again with every
// secret value's letters and digits shifted must give the very same message.
void check_error_ignores_secrets(const Error& e, const std::vector<std::string>& args,
                                 const EnvLookup& env) {
  auto other = with_secrets_shifted(args);
  if (!other) return;
  auto again = parse_command_line(*other, env);
  FUZZ_CHECK(!again.ok() && again.error().message() == e.message(),
             "error text depends on a secret value: '" + printable(e.message()) + "' vs '" +
                 (again.ok() ? std::string("accepted") : printable(again.error().message())) + "'");
}

void check_error(const Error& e, const std::vector<std::string>& args) {
  FUZZ_CHECK(e.code() == Errc::usage, std::string("error code ") + errc_name(e.code()));
  const std::string message = e.message();
  FUZZ_CHECK(is_one_line(message), "multi-line error: " + printable(message));
  bool env_secret_in_args = false;
  for (const std::string& a : args) {
    env_secret_in_args |=
        a.find(kEnvPassword) != std::string::npos || a.find(kEnvTokenSecret) != std::string::npos;
  }
  if (!env_secret_in_args) {
    FUZZ_CHECK(message.find(kEnvPassword) == std::string::npos, "PVE_PASSWORD in an error");
    FUZZ_CHECK(message.find(kEnvTokenSecret) == std::string::npos, "PVE_API_TOKEN in an error");
  }
}

void check_options(const CliOptions& o, const std::map<std::string, std::string>& env) {
  FUZZ_CHECK(o.command != Command::none, "accepted without a command");
  if (o.command == Command::help || o.command == Command::version) return;
  if (o.command == Command::connect) FUZZ_CHECK(!o.guests.empty(), "connect without a guest");
  if (o.command == Command::term) FUZZ_CHECK(o.guests.size() == 1, "term without one guest");
  if (o.command != Command::term && o.command != Command::shell) {
    FUZZ_CHECK(o.escape == std::optional<uint8_t>('~') && o.idle_exit_s == 2 && !o.serial,
               "a term option accepted by another command");
  }
  FUZZ_CHECK(!o.serial || (*o.serial >= 0 && *o.serial <= 3), "serial out of range");
  FUZZ_CHECK(o.idle_exit_s <= 86400, "idle exit " + std::to_string(o.idle_exit_s));
  FUZZ_CHECK(!o.hosts.empty(), "no hosts");
  for (const ApiHost& h : o.hosts) {
    FUZZ_CHECK(!h.host.empty() && h.host.find_first_of("[]") == std::string::npos,
               "host '" + printable(h.host) + "'");
  }
  FUZZ_CHECK(o.api_token.has_value() != !o.user.empty(), "not exactly one of token and user");
  if (o.api_token) FUZZ_CHECK(!o.password && o.password_file.empty(), "token and password");
  if (!o.user.empty()) FUZZ_CHECK(o.user.find('@') != std::string::npos, "user without realm");
  int tls_modes = !o.fingerprints.empty() + !o.ca_file.empty() + o.insecure;
  FUZZ_CHECK(tls_modes <= 1, "several TLS verification modes");
  FUZZ_CHECK(!(o.vv_stdin && !o.vv_file.empty()), "--vv-stdin with --vv-file");
  FUZZ_CHECK(!(o.vv_stdin && o.no_viewer), "--vv-stdin with --no-viewer");
  FUZZ_CHECK(is_loopback(o.listen_host), "listener on '" + printable(o.listen_host) + "'");
  FUZZ_CHECK(o.timeout_s >= 1 && o.timeout_s <= 3600, "timeout " + std::to_string(o.timeout_s));
  FUZZ_CHECK(o.keepalive_s <= 86400, "keepalive " + std::to_string(o.keepalive_s));
  FUZZ_CHECK(!o.viewer.empty(), "empty viewer");
  if (o.command == Command::connect && !o.no_viewer) {
    FUZZ_CHECK(env.count("DISPLAY") || env.count("WAYLAND_DISPLAY"), "a viewer without a display");
  }
}

void check_host_parsers(const std::string& arg) {
  auto hosts = parse_host_list(arg);
  if (hosts.ok()) {
    FUZZ_CHECK(!hosts->empty(), "an empty host list accepted");
    for (const ApiHost& h : *hosts) {
      FUZZ_CHECK(!h.host.empty(), "empty host accepted");
      FUZZ_CHECK(h.port != 0, "port 0 accepted for host '" + printable(h.host) + "'");
      FUZZ_CHECK(h.host.find_first_of("[], ") == std::string::npos,
                 "host '" + printable(h.host) + "' keeps brackets, commas or spaces");
    }
  } else {
    FUZZ_CHECK(is_one_line(hosts.error().message()),
               "multi-line error: " + printable(hosts.error().message()));
  }
  std::string host;
  uint16_t port = 0;
  Error e = parse_listen(arg, host, port);
  if (e.ok()) {
    FUZZ_CHECK(is_loopback(host), "--listen accepted '" + printable(host) + "'");
  } else {
    FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
  }
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  if (size == 0) return 0;
  const auto& env = environment(bytes[0]);
  std::vector<std::string> args;
  std::string_view rest(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  while (!rest.empty() && args.size() < 64) {
    size_t nul = rest.find('\0');
    args.emplace_back(rest.substr(0, nul));
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }

  auto lookup = [&env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto options = parse_command_line(args, lookup);
  if (options.ok()) {
    check_options(*options, env);
  } else {
    check_error(options.error(), args);
    check_error_ignores_secrets(options.error(), args, lookup);
  }
  for (const std::string& a : args) check_host_parsers(a);
  return 0;
}
