#include "frontends/cli/option_levels.h"

#include <algorithm>
#include <optional>
#include <string>

#include "engine/core/platform.h"
#include "engine/core/text.h"
#include "frontends/cli/options.h"

namespace pvb {

namespace {

Error usage(std::string msg) {
  return Error(Errc::usage, std::move(msg));
}

// The options of one level that exclude one another ("--api-token and --user").
Error same_level_conflict(Level level, const std::vector<OptionGiven>& given) {
  for (OptionGroup group : {OptionGroup::credentials, OptionGroup::trust}) {
    const OptionGiven* first = nullptr;
    for (const OptionGiven& g : given) {
      const OptionSpec& s = *g.spec;
      if (s.group != group) continue;
      // PVE_PASSWORD is only ever a password: with a token it is simply not used.
      if (s.pick == Pick::password && level == Level::environment) continue;
      if (!first) {
        first = &g;
        continue;
      }
      Pick a = first->spec->pick, b = s.pick;
      bool user_side =
          (a == Pick::user || a == Pick::password) && (b == Pick::user || b == Pick::password);
      if (a == b || user_side) continue;
      // The token first: "PVE_API_TOKEN and PVE_USER".
      const std::string& one = b == Pick::token ? g.where : first->where;
      const std::string& other = b == Pick::token ? first->where : g.where;
      if (level == Level::environment) {
        return usage(one + " and " + other +
                     " are both set: unset one, or override them with an option");
      }
      return usage(one + " and " + other + " are mutually exclusive: give one or the other");
    }
  }
  return Error();
}

bool gives(const std::vector<OptionGiven>& given, auto&& pred) {
  return std::any_of(given.begin(), given.end(),
                     [&](const OptionGiven& g) { return pred(*g.spec); });
}

// The password sources a level replaced, kept for a user named again above it.
struct PasswordSources {
  std::string for_user;  // the user named with them ("" : any user)
  std::optional<std::string> password;
  std::string password_file;
  std::vector<std::string> password_command;
  std::string where;

  bool any() const { return password || !password_file.empty() || !password_command.empty(); }
};

// Applies the levels from the file up: a level that gives an option of a group replaces that
// group of the levels below it as a whole (profile.h).
struct LevelApplier {
  explicit LevelApplier(OptionTarget& target) : t(target) {}
  ~LevelApplier() {
    // Best effort: an inline password no level kept leaves no copy behind.
    if (replaced && replaced->password) wipe(*replaced->password);
  }
  OptionTarget& t;
  PasswordSources current;                  // the password sources in force
  std::optional<PasswordSources> replaced;  // the ones an identity above replaced
  std::string identity_where;

  PasswordSources take_password() {
    CliOptions& o = t.o;
    PasswordSources p{current.for_user, std::move(o.password), std::move(o.password_file),
                      std::move(o.password_command), current.where};
    o.password.reset();
    o.password_file.clear();
    o.password_command.clear();
    return p;
  }

  Error apply(Level level, const std::vector<OptionGiven>& given) {
    if (level != Level::file) {
      if (Error e = same_level_conflict(level, given); e.failed()) return e;
    }
    CliOptions& o = t.o;
    t.level = level;
    auto in = [](OptionGroup g) { return [g](const OptionSpec& s) { return s.group == g; }; };
    bool identity = gives(
        given, [](const OptionSpec& s) { return s.pick == Pick::token || s.pick == Pick::user; });
    bool password = gives(given, [](const OptionSpec& s) { return s.pick == Pick::password; });
    if (gives(given, in(OptionGroup::hosts))) o.hosts.clear();
    if (gives(given, in(OptionGroup::trust))) {
      o.fingerprints.clear();
      o.ca_file.clear();
      o.insecure = false;
    }
    if (identity) {
      PasswordSources old = take_password();
      if (old.any()) replaced = std::move(old);
      o.user.clear();
      o.user_realm_defaulted = false;
      o.api_token.reset();
      o.token_id.clear();
      o.token_file.clear();
      o.token_command.clear();
      t.token_secret.reset();
    } else if (password) {
      PasswordSources dropped = take_password();
      if (dropped.password) wipe(*dropped.password);
    }
    // A list given again above replaces the one below (viewer_args is the one own option that
    // is a list at several levels).
    if (gives(given, [](const OptionSpec& s) { return s.flag == "--viewer-arg"; })) {
      o.viewer_args.clear();
    }
    for (const OptionGiven& g : given) {
      Error e = g.spec->set(t, *g.spec, g.value);
      if (e.failed()) return e.context(g.where);
      if (g.spec->pick == Pick::token || g.spec->pick == Pick::user) identity_where = g.where;
      if (g.spec->pick == Pick::password) current.where = g.where;
    }
    if (password) current.for_user = identity ? o.user : "";
    return Error();
  }

  // After every level: a user named again above the level that gave its password keeps it.
  Error finish() {
    CliOptions& o = t.o;
    bool token = o.api_token || !o.token_id.empty();
    bool has_password = o.password || !o.password_file.empty() || !o.password_command.empty();
    if (!o.user.empty() && !has_password && replaced &&
        (replaced->for_user.empty() || replaced->for_user == o.user)) {
      o.password = std::move(replaced->password);
      o.password_file = std::move(replaced->password_file);
      o.password_command = std::move(replaced->password_command);
    }
    if (token && has_password) {
      if (current.where == "--password-file") {
        return usage("--password-file is a user's password, but " + identity_where +
                     " gives an API token");
      }
      if (o.password) wipe(*o.password);
      o.password.reset();  // PVE_PASSWORD with a token: not used
      o.password_file.clear();
      o.password_command.clear();
    }
    if (t.token_secret) {
      o.api_token = o.token_id + "=" + *t.token_secret;
      o.token_id.clear();
      wipe(*t.token_secret);
    }
    return Error();
  }
};

}  // namespace

std::vector<OptionGiven> environment_level(const EnvLookup& env, CliOptions& o) {
  std::vector<OptionGiven> given;
  for (const OptionSpec& s : option_table()) {
    if (s.env.empty() || s.group == OptionGroup::config) continue;
    auto v = env(std::string(s.env));
    if (!v) continue;
    // Variables we read secrets from are dropped from the children's environment.
    if (s.secret && s.pick != Pick::none) o.secret_env_names.emplace_back(s.env);
    if (v->empty()) continue;
    given.push_back(OptionGiven{&s, std::move(*v), std::string(s.env)});
  }
  return given;
}

Error apply_levels(OptionTarget& t, const std::vector<OptionGiven>& file,
                   const std::vector<OptionGiven>& environment,
                   const std::vector<OptionGiven>& command_line) {
  LevelApplier levels(t);
  Error e = levels.apply(Level::file, file);
  if (e.ok()) e = levels.apply(Level::environment, environment);
  if (e.ok()) e = levels.apply(Level::command_line, command_line);
  if (e.ok()) e = levels.finish();
  return e;
}

}  // namespace pvb
