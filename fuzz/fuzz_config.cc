// The config file: parse_config_file and settings_in_force on the text, split_words on every
// line, then parse_command_line reading it as ~/.config/pvebridge/config through a fake loader.
//
// Input: byte 0 picks how the file is used, the rest is the file's text.
//   bits 0-1  the profile asked for: none, the file's first profile (--profile), an unknown one
//             (--profile), the first profile through PVEBRIDGE_PROFILE
//   bit 2     other users may read the file;  bit 3  they may change it
//   bit 4     connect (else list);  bit 5  --user bob on the command line
//   bit 6     --host on the command line;  bit 7  PVE_API_TOKEN in the environment
//
// Invariants:
// - an error is Errc::usage and ONE line; a parse error names the file and a line ("PATH:N: ");
// - no secret in an error: shifting the letters and digits of every password / token_secret
//   value gives the same message (and the same outcome);
// - a parsed file is consistent: its default_profile exists; the settings in force of any profile
//   hold each non-repeatable key at most once;
// - accepted options are consistent: hosts; exactly one of an API token, a user, a token_id;
//   a token_id has exactly one secret source; a user has at most one password source; at most
//   one TLS trust; commands have a program; timeout, keepalive and client_wait in range.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frontends/cli/config_file.h"
#include "frontends/cli/options.h"
#include "frontends/cli/profile.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

constexpr std::string_view kPath = "/home/fuzz/.config/pvebridge/config";
const std::string kToken = "root@pam!ci=3f1c7e2a-envtoken-secret-9b8d";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Letters and digits shifted by one (z -> a, 9 -> 0): same shape, other text.
void shift(std::string& s, size_t from) {
  for (size_t i = from; i < s.size(); ++i) {
    char& c = s[i];
    if (c >= 'a' && c <= 'z') {
      c = c == 'z' ? 'a' : static_cast<char>(c + 1);
    } else if (c >= 'A' && c <= 'Z') {
      c = c == 'Z' ? 'A' : static_cast<char>(c + 1);
    } else if (c >= '0' && c <= '9') {
      c = c == '9' ? '0' : static_cast<char>(c + 1);
    }
  }
}

// The text with the value of every "password = ..." and "token_secret = ..." line shifted; found
// independently of the parser (a line whose trimmed text before the first '=' is such a key).
std::string with_secrets_shifted(std::string_view text, bool& any) {
  std::string out;
  any = false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto eq = line.find('=');
    if (eq != std::string::npos) {
      std::string_view key = trim(std::string_view(line).substr(0, eq));
      if (config_key_is_secret(key)) {
        shift(line, eq + 1);
        any = true;
      }
    }
    out += line;
    if (nl != std::string_view::npos) out += '\n';
  }
  return out;
}

void check_one_line(const Error& e) {
  FUZZ_CHECK(e.code() == Errc::usage, std::string("error code ") + errc_name(e.code()));
  FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
}

void check_file(const ConfigFile& f) {
  if (!f.default_profile.key.empty()) {
    FUZZ_CHECK(f.find_profile(f.default_profile.value) != nullptr,
               "default_profile '" + printable(f.default_profile.value) + "' is no profile");
  }
  std::vector<const ConfigProfile*> choices = {nullptr};
  for (const ConfigProfile& p : f.profiles) choices.push_back(&p);
  for (const ConfigProfile* p : choices) {
    std::map<std::string, int> count;
    for (const ConfigSetting& s : settings_in_force(f, p)) ++count[s.key];
    for (const auto& [key, n] : count) {
      bool repeatable = key == "host" || key == "fingerprint";
      FUZZ_CHECK(repeatable || n == 1, key + " in force " + std::to_string(n) + " times");
    }
  }
}

void check_options(const CliOptions& o) {
  FUZZ_CHECK(!o.hosts.empty(), "no hosts");
  for (const ApiHost& h : o.hosts) {
    FUZZ_CHECK(!h.host.empty() && h.host.find_first_of("[], ") == std::string::npos,
               "host '" + printable(h.host) + "'");
  }
  int identities = o.api_token.has_value() + !o.user.empty() + !o.token_id.empty();
  FUZZ_CHECK(identities == 1, "identities: " + std::to_string(identities));
  if (!o.token_id.empty()) {
    FUZZ_CHECK(o.token_file.empty() != o.token_command.empty(), "token secret sources");
  }
  int passwords = o.password.has_value() + !o.password_file.empty() + !o.password_command.empty();
  FUZZ_CHECK(passwords <= 1, "password sources: " + std::to_string(passwords));
  if (o.user.empty()) FUZZ_CHECK(passwords == 0, "a password without a user");
  for (const auto* cmd : {&o.password_command, &o.token_command}) {
    FUZZ_CHECK(cmd->empty() || !cmd->front().empty(), "a command without a program");
  }
  int tls_modes = !o.fingerprints.empty() + !o.ca_file.empty() + o.insecure;
  FUZZ_CHECK(tls_modes <= 1, "several TLS verification modes");
  FUZZ_CHECK(o.timeout_s >= 1 && o.timeout_s <= 3600, "timeout " + std::to_string(o.timeout_s));
  FUZZ_CHECK(o.keepalive_s <= 86400, "keepalive " + std::to_string(o.keepalive_s));
  FUZZ_CHECK(o.client_wait_s >= 1 && o.client_wait_s <= 3600, "client_wait");
  FUZZ_CHECK(!o.viewer.empty(), "empty viewer");
}

Result<CliOptions> parse_with(uint8_t flags, const std::string& text, const ConfigFile* file) {
  std::map<std::string, std::string> env = {{"HOME", "/home/fuzz"}, {"DISPLAY", ":0"}};
  std::vector<std::string> args = {(flags & 0x10) ? "connect" : "list"};
  if (flags & 0x10) args.push_back("web01");
  std::string first = file && !file->profiles.empty() ? file->profiles.front().name : "first";
  switch (flags & 3) {
    case 1:
      args.insert(args.end(), {"--profile", first});
      break;
    case 2:
      args.insert(args.end(), {"--profile", "no-such-profile"});
      break;
    case 3:
      env["PVEBRIDGE_PROFILE"] = first;
      break;
  }
  if (flags & 0x20) args.insert(args.end(), {"--user", "bob"});
  if (flags & 0x40) args.insert(args.end(), {"--host", "pve9"});
  if (flags & 0x80) env["PVE_API_TOKEN"] = kToken;
  auto lookup = [&env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  auto loader = [&](const std::string& path) -> Result<std::optional<UserFile>> {
    FUZZ_CHECK(path == kPath, "loader asked for " + printable(path));
    return std::optional<UserFile>(UserFile{text, (flags & 4) != 0, (flags & 8) != 0});
  };
  return parse_command_line(args, lookup, loader);
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  if (size == 0) return 0;
  const uint8_t flags = bytes[0];
  const std::string text(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  auto file = parse_config_file(text, kPath);
  if (file.ok()) {
    check_file(*file);
  } else {
    check_one_line(file.error());
    FUZZ_CHECK(file.error().message().rfind(std::string(kPath) + ":", 0) == 0,
               "error without the file: " + printable(file.error().message()));
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    auto words = split_words(rest.substr(0, nl));
    if (!words.ok()) check_one_line(words.error());
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }

  auto options = parse_with(flags, text, file.ok() ? &*file : nullptr);
  if (options.ok()) {
    check_options(*options);
  } else {
    check_one_line(options.error());
    // (Unless the file itself holds that text somewhere it may be quoted, e.g. a profile name.)
    const std::string env_secret = kToken.substr(kToken.find('=') + 1);
    if (text.find(env_secret) == std::string::npos) {
      FUZZ_CHECK(options.error().message().find(env_secret) == std::string::npos,
                 "PVE_API_TOKEN in an error");
    }
  }
  bool any = false;
  std::string shifted = with_secrets_shifted(text, any);
  if (any) {
    auto shifted_file = parse_config_file(shifted, kPath);
    auto again = parse_with(flags, shifted, shifted_file.ok() ? &*shifted_file : nullptr);
    FUZZ_CHECK(again.ok() == options.ok(), "a secret's letters changed the outcome");
    if (!again.ok()) {
      FUZZ_CHECK(again.error().message() == options.error().message(),
                 "error text depends on a secret value: '" + printable(options.error().message()) +
                     "' vs '" + printable(again.error().message()) + "'");
    }
  }
  return 0;
}
