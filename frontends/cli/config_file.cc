#include "frontends/cli/config_file.h"

#include <algorithm>

#include "engine/core/text.h"
#include "frontends/cli/option_table.h"

namespace pvb {

namespace {

constexpr std::string_view kDefaultProfileKey = "default_profile";
constexpr size_t kMaxConfigBytes = 1 << 20;

// "insecure" for --insecure: an option that is deliberately not a key of the file.
const OptionSpec* command_line_only(std::string_view key) {
  std::string flag = "--" + std::string(key);
  for (char& c : flag) c = c == '_' ? '-' : c;
  const OptionSpec* s = find_flag(flag);
  return s && s->config_key.empty() && s->group != OptionGroup::config ? s : nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool valid_profile_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Control characters other than tab, and invalid UTF-8, have no business in a config line.
bool clean_line(std::string_view line) {
  for (size_t i = 0; i < line.size();) {
    auto c = static_cast<unsigned char>(line[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    size_t len = utf8_sequence_length(line, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

OptionGroup group_of(std::string_view key) {
  const OptionSpec* s = find_config_key(key);
  return s ? s->group : OptionGroup::own;
}

struct LineParser {
  std::string_view path;
  ConfigFile file;
  // The section being read: an index, as the vector of profiles grows (-1: the top level).
  int section = -1;

  Error fail(int line, const std::string& what) const {
    return Error(Errc::usage, std::string(path) + ":" + std::to_string(line) + ": " + what);
  }

  Error header(std::string_view text, int line) {
    if (text.back() != ']') return fail(line, "expected a section header '[profile NAME]'");
    std::string_view inside = trim(text.substr(1, text.size() - 2));
    constexpr std::string_view kWord = "profile";
    if (inside.substr(0, kWord.size()) != kWord || inside.size() == kWord.size() ||
        (inside[kWord.size()] != ' ' && inside[kWord.size()] != '\t')) {
      return fail(line, "expected a section header '[profile NAME]'");
    }
    std::string_view name = trim(inside.substr(kWord.size()));
    if (!valid_profile_name(name)) {
      return fail(line, "a profile name is 1 to 64 letters, digits, '.', '_' or '-'");
    }
    if (const ConfigProfile* old = file.find_profile(name)) {
      return fail(line, "profile '" + std::string(name) + "' is defined twice (first on line " +
                            std::to_string(old->line) + ")");
    }
    file.profiles.push_back(ConfigProfile{std::string(name), line, {}});
    section = static_cast<int>(file.profiles.size()) - 1;
    return Error();
  }

  Error setting(std::string_view text, int line) {
    auto eq = text.find('=');
    std::string_view key = eq == std::string_view::npos ? text : trim(text.substr(0, eq));
    if (eq == std::string_view::npos || key.empty() ||
        !std::all_of(key.begin(), key.end(), is_key_char)) {
      // Never quote the line: it may be a mistyped secret ("password: hunter2").
      return fail(line, "expected 'key = value', a '[profile NAME]' header or a '#' comment");
    }
    std::string_view value = trim(text.substr(eq + 1));
    if (key == kDefaultProfileKey) {
      if (section >= 0) {
        return fail(line, "default_profile belongs at the top of the file, before any [profile]");
      }
      if (!file.default_profile.key.empty()) {
        return fail(line, "default_profile given twice (first on line " +
                              std::to_string(file.default_profile.line) + ")");
      }
      if (!valid_profile_name(value)) {
        return fail(line,
                    "default_profile: a profile name is 1 to 64 letters, digits, '.', '_' "
                    "or '-'");
      }
      file.default_profile = ConfigSetting{std::string(key), std::string(value), line};
      return Error();
    }
    const OptionSpec* info = find_config_key(key);
    if (const OptionSpec* flag = info ? nullptr : command_line_only(key)) {
      return fail(line, std::string(key) + ": command line only (" + std::string(flag->flag) +
                            "), never read from a config file");
    }
    if (!info) return fail(line, "unknown key '" + printable(key, 40) + "'");
    std::vector<ConfigSetting>& into =
        section >= 0 ? file.profiles[static_cast<size_t>(section)].settings : file.global;
    if (!info->repeatable) {
      for (const ConfigSetting& s : into) {
        if (s.key == key) {
          return fail(line, std::string(key) + " given twice in this section (first on line " +
                                std::to_string(s.line) + ")");
        }
      }
    }
    into.push_back(ConfigSetting{std::string(key), std::string(value), line});
    return Error();
  }
};

}  // namespace

const ConfigProfile* ConfigFile::find_profile(std::string_view name) const {
  for (const ConfigProfile& p : profiles) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string ConfigFile::profile_names() const {
  std::string out;
  for (const ConfigProfile& p : profiles) out += (out.empty() ? "" : ", ") + p.name;
  return out.empty() ? "none" : out;
}

const ConfigSetting* ConfigFile::first_inline_secret() const {
  const ConfigSetting* first = nullptr;
  auto consider = [&](const std::vector<ConfigSetting>& settings) {
    for (const ConfigSetting& s : settings) {
      if (config_key_is_secret(s.key) && (!first || s.line < first->line)) first = &s;
    }
  };
  consider(global);
  for (const ConfigProfile& p : profiles) consider(p.settings);
  return first;
}

bool config_key_is_secret(std::string_view key) {
  const OptionSpec* k = find_config_key(key);
  return k && k->secret;
}

Result<ConfigFile> parse_config_file(std::string_view text, std::string_view path) {
  if (text.size() > kMaxConfigBytes) {
    return Error(Errc::usage, std::string(path) + ": larger than 1 MiB; is it a config file?");
  }
  LineParser p{path, {}, -1};
  p.file.path = std::string(path);
  int line = 0;
  while (!text.empty()) {
    ++line;
    auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    if (!clean_line(raw)) return p.fail(line, "control character or invalid UTF-8");
    std::string_view t = trim(raw);
    if (t.empty() || t.front() == '#') continue;
    Error e = t.front() == '[' ? p.header(t, line) : p.setting(t, line);
    if (e.failed()) return e;
  }
  const ConfigSetting& d = p.file.default_profile;
  if (!d.key.empty() && !p.file.find_profile(d.value)) {
    return p.fail(d.line, "default_profile names no profile '" + d.value +
                              "' (profiles: " + p.file.profile_names() + ")");
  }
  return std::move(p.file);
}

std::vector<ConfigSetting> settings_in_force(const ConfigFile& file, const ConfigProfile* profile) {
  if (!profile) return file.global;
  std::vector<ConfigSetting> out;
  for (const ConfigSetting& g : file.global) {
    OptionGroup group = group_of(g.key);
    bool overridden = std::any_of(
        profile->settings.begin(), profile->settings.end(), [&](const ConfigSetting& s) {
          return group == OptionGroup::own ? s.key == g.key : group_of(s.key) == group;
        });
    if (!overridden) out.push_back(g);
  }
  out.insert(out.end(), profile->settings.begin(), profile->settings.end());
  return out;
}

Result<std::vector<std::string>> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (++i == text.size()) return Error(Errc::usage, "a backslash ends the text");
      word += text[i];
    } else if (c == '\'') {
      auto close = text.find('\'', i + 1);
      if (close == std::string_view::npos) return Error(Errc::usage, "unbalanced ' quote");
      word.append(text.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i == text.size()) return Error(Errc::usage, "unbalanced \" quote");
        if (text[i] == '"') break;
        if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\'))
          ++i;
        word += text[i];
      }
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace pvb
