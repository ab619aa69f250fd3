#include "frontends/cli/profile.h"

#include "engine/core/text.h"
#include "frontends/cli/config_file.h"

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

Result<FileLevel> load_profile(const ConfigChoice& choice, const ConfigLoader& loader,
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
    return FileLevel{};
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
  FileLevel out;
  auto home = non_empty(env, "HOME");
  out.home = home && home->front() == '/' ? *home : "";
  out.config_dir = directory_of(choice.path);
  for (ConfigSetting& s : settings) {
    // (parse_config_file refused keys the table does not know.)
    out.settings.push_back(OptionGiven{find_config_key(s.key), std::move(s.value),
                                       shown + ":" + std::to_string(s.line) + ": " + s.key});
  }
  // Best effort: no copy of an inline secret outlives this function but the one returned.
  for (ConfigSetting& s : settings) wipe(s.value);
  for (ConfigSetting& s : file->global) wipe(s.value);
  for (ConfigProfile& p : file->profiles) {
    for (ConfigSetting& s : p.settings) wipe(s.value);
  }
  if (e.failed()) return e;
  if (!profile && !file->profiles.empty()) out.unchosen_profiles = file->profile_names();
  out.origin = shown + (profile ? " (profile " + profile->name + ")" : "");
  return out;
}

}  // namespace pvb
