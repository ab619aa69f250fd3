#include "frontends/cli/profile.h"

#include <charconv>

#include "engine/core/text.h"
#include "engine/io/fingerprint.h"
#include "engine/proxmox/credentials.h"
#include "frontends/cli/config_file.h"
#include "frontends/cli/options.h"
#include "transports/http/proxy_config.h"

namespace pvb {

namespace {

Error usage(std::string msg) {
  return Error(Errc::usage, std::move(msg));
}

std::optional<std::string> non_empty(const EnvLookup& env, const char* name) {
  auto v = env(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
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

// Reads the settings in force of one profile into ProfileSettings; every error names FILE:LINE.
struct SettingReader {
  const std::string& path;  // as messages show it
  std::string home;         // for "~/..." (empty: HOME unset)
  std::string config_dir;   // relative paths are relative to the file's directory
  ProfileSettings out;

  Error fail(const ConfigSetting& s, const std::string& what) const {
    return usage(path + ":" + std::to_string(s.line) + ": " + s.key + ": " + what);
  }

  Result<std::string> file_path(const ConfigSetting& s, std::string_view value) const {
    if (value.empty()) return fail(s, "needs a path");
    if (value == "~" || value.substr(0, 2) == "~/") {
      if (home.empty()) return fail(s, "'~' needs HOME to be set");
      return home + std::string(value.substr(1));
    }
    if (value.front() == '/') return std::string(value);
    return config_dir + "/" + std::string(value);
  }

  Result<std::vector<std::string>> words(const ConfigSetting& s, bool command) const {
    auto w = split_words(s.value);
    if (!w.ok()) return fail(s, w.error().message());
    if (command) {
      if (w->empty() || (*w)[0].empty()) return fail(s, "needs a command");
      // The program may live under ~; its arguments are the command's business.
      if ((*w)[0] == "~" || (*w)[0].substr(0, 2) == "~/") {
        auto p = file_path(s, (*w)[0]);
        if (!p.ok()) return p.error();
        (*w)[0] = *p;
      }
    }
    return w;
  }

  Error read(const ConfigSetting& s) {
    const std::string& k = s.key;
    const std::string& v = s.value;
    if (k == "host") {
      auto hosts = parse_host_list(v);
      if (!hosts.ok()) {
        std::string m = hosts.error().message();
        if (m.rfind("--host: ", 0) == 0) m.erase(0, 8);
        return fail(s, m);
      }
      out.host_text = out.host_text ? *out.host_text + "," + v : v;
    } else if (k == "user") {
      auto u = normalize_user(v);
      if (!u.ok()) return fail(s, u.error().message());
      out.user = *u;
    } else if (k == "password") {
      if (v.empty()) return fail(s, "is empty");
      out.password = v;
    } else if (k == "password_file" || k == "token_file" || k == "ca_file") {
      auto p = file_path(s, v);
      if (!p.ok()) return p.error();
      (k == "password_file" ? out.password_file
       : k == "token_file"  ? out.token_file
                            : out.ca_file) = *p;
    } else if (k == "password_command" || k == "token_command") {
      auto w = words(s, true);
      if (!w.ok()) return w.error();
      (k == "password_command" ? out.password_command : out.token_command) = std::move(*w);
    } else if (k == "token_id") {
      // parse_api_token checks the USER@REALM!TOKENID part; the secret here is a stand-in.
      if (v.find('=') != std::string::npos || !parse_api_token(v + "=x").ok()) {
        return fail(s,
                    "expected USER@REALM!TOKENID (the secret goes in token_file, "
                    "token_command or token_secret)");
      }
      out.token_id = v;
    } else if (k == "token_secret") {
      bool blank = v.find_first_of(" \t") != std::string::npos;
      if (v.empty() || blank) return fail(s, "expected the token's secret, without blanks");
      out.api_token = v;  // joined with token_id once every line is read
    } else if (k == "fingerprint") {
      std::string_view rest = v;
      while (true) {
        auto comma = rest.find(',');
        std::string_view one = rest.substr(0, comma);
        auto fp = parse_fingerprint(one);
        if (!fp.ok()) return fail(s, fp.error().message());
        out.fingerprints.emplace_back(one);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (k == "tls_backend") {
      out.tls_backend = parse_tls_backend(v);
      if (!out.tls_backend)
        return fail(s, "expected openssl or mbedtls, got '" + printable(v) + "'");
    } else if (k == "proxy") {
      auto url = parse_proxy_url(v);
      if (!url.ok()) return fail(s, url.error().message());
      if (url->has_credentials()) {
        // The file may be shared or backed up; a proxy password belongs where --proxy's does.
        return fail(s,
                    "proxy credentials are not taken from a config file: set "
                    "https_proxy=http://USER:PASSWORD@HOST:PORT in the environment instead");
      }
      out.proxy = v;
    } else if (k == "timeout" || k == "client_wait") {
      auto n = parse_uint(v, 1, 3600);
      if (!n) return fail(s, "expected seconds from 1 to 3600, got '" + printable(v) + "'");
      (k == "timeout" ? out.timeout_s : out.client_wait_s) = n;
    } else if (k == "keepalive") {
      out.keepalive_s = parse_uint(v, 0, 86400);
      if (!out.keepalive_s) {
        return fail(s, "expected seconds from 0 (off) to 86400, got '" + printable(v) + "'");
      }
    } else if (k == "viewer") {
      if (v.empty()) return fail(s, "needs a program");
      auto p = v.front() == '~' ? file_path(s, v) : Result<std::string>(v);
      if (!p.ok()) return p.error();
      out.viewer = *p;
    } else if (k == "viewer_args") {
      auto w = words(s, false);
      if (!w.ok()) return w.error();
      out.viewer_args = std::move(*w);
    } else if (k == "fullscreen" || k == "kiosk") {
      auto b = parse_bool(v);
      if (!b) return fail(s, "expected yes or no, got '" + printable(v) + "'");
      (k == "fullscreen" ? out.fullscreen : out.kiosk) = *b;
    }
    return Error();
  }
};

const ConfigSetting* find(const std::vector<ConfigSetting>& settings, std::string_view key) {
  for (const ConfigSetting& s : settings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// The setting on the latest line among `keys` whose key differs from `other_than` (empty: any).
const ConfigSetting* latest(const std::vector<ConfigSetting>& settings,
                            std::initializer_list<std::string_view> keys,
                            std::string_view other_than = {}) {
  const ConfigSetting* found = nullptr;
  for (const ConfigSetting& s : settings) {
    bool listed = false;
    for (std::string_view k : keys) listed |= s.key == k;
    if (listed && s.key != other_than && (!found || s.line > found->line)) found = &s;
  }
  return found;
}

// Settings that cannot stand together, or need one another, in the profile in force.
Error check_groups(const std::string& path, const std::vector<ConfigSetting>& settings) {
  auto at = [&](const ConfigSetting& s) { return path + ":" + std::to_string(s.line) + ": "; };
  auto exclusive = [&](std::initializer_list<std::string_view> keys) -> Error {
    const ConfigSetting* later = latest(settings, keys);
    const ConfigSetting* earlier = later ? latest(settings, keys, later->key) : nullptr;
    if (!earlier) return Error();
    return usage(at(*later) + later->key + " and " + earlier->key + " (line " +
                 std::to_string(earlier->line) + ") cannot both be used; keep one");
  };
  for (auto keys : {std::initializer_list<std::string_view>{"user", "token_id"},
                    {"password", "password_file", "password_command"},
                    {"token_secret", "token_file", "token_command"},
                    {"fingerprint", "ca_file"}}) {
    if (Error e = exclusive(keys); e.failed()) return e;
  }
  bool has_user = find(settings, "user");
  bool has_token_id = find(settings, "token_id");
  for (std::string_view k : {"password", "password_file", "password_command"}) {
    const ConfigSetting* s = find(settings, k);
    if (s && !has_user) return usage(at(*s) + s->key + " needs a user in the same profile");
  }
  const ConfigSetting* secret = nullptr;
  for (std::string_view k : {"token_secret", "token_file", "token_command"}) {
    if (const ConfigSetting* s = find(settings, k)) secret = s;
  }
  if (secret && !has_token_id) {
    return usage(at(*secret) + secret->key + " needs a token_id in the same profile");
  }
  if (has_token_id && !secret) {
    const ConfigSetting* id = find(settings, "token_id");
    return usage(at(*id) + "token_id needs token_file, token_command or token_secret");
  }
  return Error();
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

ConfigChoice choose_config(const std::string& config_option, const std::string& profile_option,
                           const EnvLookup& env) {
  ConfigChoice c;
  if (!config_option.empty()) {
    c.path = config_option;
    c.path_required = true;
  } else if (auto named = non_empty(env, "PVEBRIDGE_CONFIG")) {
    c.path = *named;
    c.path_required = true;
  } else if (auto xdg = non_empty(env, "XDG_CONFIG_HOME"); xdg && xdg->front() == '/') {
    c.path = *xdg + "/pvebridge/config";
  } else if (auto home = non_empty(env, "HOME"); home && home->front() == '/') {
    c.path = *home + "/.config/pvebridge/config";
  }
  if (!profile_option.empty()) {
    c.profile = profile_option;
    c.profile_from = "--profile";
  } else if (auto p = non_empty(env, "PVEBRIDGE_PROFILE")) {
    c.profile = *p;
    c.profile_from = "PVEBRIDGE_PROFILE";
  }
  return c;
}

Result<ProfileSettings> load_profile(const ConfigChoice& choice, const ConfigLoader& loader,
                                     const EnvLookup& env) {
  // The path as messages show it (one line, whatever the environment holds).
  const std::string shown = printable(choice.path, 200);
  std::optional<UserFile> text;
  if (!choice.path.empty() && loader) {
    auto r = loader(choice.path);
    if (!r.ok()) return r.error();
    text = std::move(*r);
  }
  if (!text) {
    if (choice.path_required) return usage("config file " + shown + " does not exist");
    if (!choice.profile.empty()) {
      return usage(choice.profile_from + " " + printable(choice.profile) + ": no config file " +
                   (shown.empty() ? "(neither XDG_CONFIG_HOME nor HOME is set)" : shown));
    }
    return ProfileSettings{};
  }
  if (text->writable_by_others) {
    return usage(shown +
                 ": other users may change this config file (and so run commands as you): run "
                 "chmod go-w " +
                 shown);
  }
  auto file = parse_config_file(text->text, shown);
  wipe(text->text);
  if (!file.ok()) return file.error();
  if (const ConfigSetting* s = file->first_inline_secret(); s && text->readable_by_others) {
    std::string instead =
        s->key == "password" ? "password_file or password_command" : "token_file or token_command";
    return usage(shown + ":" + std::to_string(s->line) + ": " + s->key +
                 " in a config file other users may read: run chmod 600 " + shown + " (or use " +
                 instead + ")");
  }

  const ConfigProfile* profile = nullptr;
  std::string name = choice.profile.empty() ? file->default_profile.value : choice.profile;
  if (!name.empty()) {
    profile = file->find_profile(name);
    if (!profile) {
      // (A default_profile naming no profile was refused by the parser.)
      return usage(choice.profile_from + ": no profile '" + printable(name) + "' in " + shown +
                   " (profiles: " + file->profile_names() + ")");
    }
  }

  std::vector<ConfigSetting> settings = settings_in_force(*file, profile);
  Error e = check_groups(shown, settings);
  auto home = non_empty(env, "HOME");
  SettingReader reader{
      shown, home && home->front() == '/' ? *home : "", directory_of(choice.path), {}};
  for (size_t i = 0; i < settings.size() && e.ok(); ++i) e = reader.read(settings[i]);
  // Best effort: no copy of an inline secret outlives this function but the one returned.
  for (ConfigSetting& s : settings) wipe(s.value);
  for (ConfigSetting& s : file->global) wipe(s.value);
  for (ConfigProfile& p : file->profiles) {
    for (ConfigSetting& s : p.settings) wipe(s.value);
  }
  if (e.failed()) return e;

  ProfileSettings out = std::move(reader.out);
  if (out.api_token) {
    out.api_token = out.token_id + "=" + *out.api_token;
    out.token_id.clear();
  }
  out.origin = shown + (profile ? " (profile " + profile->name + ")" : "");
  return out;
}

void fill_credentials(const ProfileSettings& p, bool env_password,
                      std::optional<std::string>& token_text, std::optional<std::string>& user_text,
                      CliOptions& o) {
  if (!token_text && !user_text) {
    if (p.api_token) {
      token_text = p.api_token;
      return;
    }
    if (!p.token_id.empty()) {
      o.token_id = p.token_id;
      o.token_file = p.token_file;
      o.token_command = p.token_command;
      return;
    }
    if (!p.user) return;
    user_text = p.user;
  } else if (!user_text || !p.user) {
    return;
  } else if (auto u = normalize_user(*user_text); !u.ok() || *u != *p.user) {
    return;  // another user: the profile's password is not theirs
  }
  if (env_password || !o.password_file.empty()) return;
  o.password = p.password;
  o.password_file = p.password_file;
  o.password_command = p.password_command;
}

void fill_settings(const ProfileSettings& p, const std::set<std::string, std::less<>>& given,
                   CliOptions& o) {
  if (o.fingerprints.empty() && o.ca_file.empty() && !o.insecure) {
    o.fingerprints = p.fingerprints;
    o.ca_file = p.ca_file;
  }
  auto from_file = [&](std::string_view option) { return given.count(option) == 0; };
  if (p.tls_backend && from_file("--tls-backend")) o.tls_backend = *p.tls_backend;
  if (p.timeout_s && from_file("--timeout")) o.timeout_s = *p.timeout_s;
  if (p.keepalive_s && from_file("--keepalive")) o.keepalive_s = *p.keepalive_s;
  if (p.client_wait_s && from_file("--client-wait")) o.client_wait_s = *p.client_wait_s;
  if (p.viewer && from_file("--viewer")) o.viewer = *p.viewer;
  if (p.viewer_args && from_file("--viewer-arg")) o.viewer_args = *p.viewer_args;
  o.fullscreen = o.fullscreen || p.fullscreen;
  o.kiosk = o.kiosk || p.kiosk;
  o.config_origin = p.origin;
}

}  // namespace pvb
