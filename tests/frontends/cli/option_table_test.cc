// The option table against everything else that lists options: --help, the bash and zsh
// completions (completions/) and the man page (docs/pvebridge.1). Adding an option to the table
// without adding it there fails here, naming what is missing or extra. (Replaces the packaging
// test that grepped the parser's C++ source.)
#include "frontends/cli/option_table.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "frontends/cli/options.h"

namespace pvb {
namespace {

using Set = std::set<std::string>;

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(PVB_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The flags of the table a user may type: kForEvery, those of every command; else those of the
// command(s) `commands` that not every command has (--start is connect's and term's).
Set table_flags(unsigned commands, bool values_only = false) {
  Set out;
  for (const OptionSpec& s : option_table()) {
    bool wanted = commands == kForEvery ? s.commands == kForEvery
                                        : (s.commands & commands) != 0 && s.commands != kForEvery;
    if (s.flag.empty() || s.refused || !wanted) continue;
    if (values_only && !s.takes_value()) continue;
    out.emplace(s.flag);
  }
  return out;
}

Set all_value_flags() {
  Set out;
  for (unsigned c : {unsigned{kForEvery}, unsigned{kForConnect}, unsigned{kForServe},
                     unsigned{kForList}, unsigned{kForTerminal}}) {
    Set part = table_flags(c, true);
    out.insert(part.begin(), part.end());
  }
  return out;
}

// The text from `open` to the first `close` after it ("" if there is none).
std::string between(const std::string& text, const std::string& open, const std::string& close) {
  auto a = text.find(open);
  if (a == std::string::npos) return "";
  a += open.size();
  auto b = text.find(close, a);
  return b == std::string::npos ? "" : text.substr(a, b - a);
}

Set matches(const std::string& text, const std::string& pattern, size_t group = 1) {
  Set out;
  std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[group].str());
  }
  return out;
}

// "missing [a b] extra [c]" for a failure message.
std::string difference(const Set& want, const Set& got) {
  std::string missing, extra;
  for (const auto& w : want) {
    if (!got.count(w)) missing += " " + w;
  }
  for (const auto& g : got) {
    if (!want.count(g)) extra += " " + g;
  }
  return "missing [" + missing + " ] extra [" + extra + " ]";
}

// A bash array assignment: name=(word word ...), over several lines.
Set bash_array(const std::string& text, const std::string& name) {
  return matches(between(text, "\n" + name + "=(", ")"), R"((--?[a-z0-9-]+|[a-z]+))");
}

TEST(OptionTable, EveryEntryIsComplete) {
  Set flags, envs, keys;
  for (const OptionSpec& s : option_table()) {
    std::string name = !s.flag.empty() ? std::string(s.flag) : std::string(s.config_key);
    EXPECT_TRUE(s.set) << name;
    EXPECT_TRUE(!s.flag.empty() || !s.config_key.empty() || !s.env.empty()) << name;
    if (!s.flag.empty()) {
      EXPECT_TRUE(flags.insert(std::string(s.flag)).second) << name;
    }
    if (!s.env.empty()) {
      EXPECT_TRUE(envs.insert(std::string(s.env)).second) << name;
    }
    if (!s.config_key.empty()) {
      EXPECT_TRUE(keys.insert(std::string(s.config_key)).second) << name;
    }
    if (!s.flag.empty() && !s.refused) {
      EXPECT_FALSE(s.help.empty()) << name << " has no help";
    }
    if (s.number) {
      EXPECT_LT(s.min, s.max) << name;
    }
    if (s.form == Form::boolean) {
      EXPECT_FALSE(s.takes_value()) << name;
    }
    if (s.refused) {
      EXPECT_TRUE(s.secret) << name;
    }
  }
}

TEST(OptionTable, HelpListsEachOptionOfItsCommand) {
  for (auto [topic, commands] : {std::pair<std::string, unsigned>{"", kForEvery},
                                 {"connect", kForConnect},
                                 {"serve", kForServe},
                                 {"list", kForList},
                                 {"term", kForTerm},
                                 {"shell", kForShell}}) {
    std::string help = help_text(topic);
    for (const std::string& f : table_flags(commands)) {
      EXPECT_NE(help.find("  " + f), std::string::npos) << "help " << topic << " lacks " << f;
    }
  }
  // Every config key is described in `help config`.
  std::string config = help_text("config");
  for (const OptionSpec& s : option_table()) {
    if (s.config_key.empty()) continue;
    EXPECT_TRUE(std::regex_search(config, std::regex("\\b" + std::string(s.config_key) + "\\b")))
        << "help config lacks " << s.config_key;
  }
}

TEST(OptionTable, BashCompletionOffersTheTablesOptions) {
  const std::string bash = read_source("completions/pvebridge.bash");
  Set global = table_flags(kForEvery), connect = table_flags(kForConnect),
      list = table_flags(kForList), values = all_value_flags();
  EXPECT_EQ(bash_array(bash, "_pvebridge_global_opts"), global)
      << difference(global, bash_array(bash, "_pvebridge_global_opts"));
  EXPECT_EQ(bash_array(bash, "_pvebridge_connect_opts"), connect)
      << difference(connect, bash_array(bash, "_pvebridge_connect_opts"));
  EXPECT_EQ(bash_array(bash, "_pvebridge_list_opts"), list)
      << difference(list, bash_array(bash, "_pvebridge_list_opts"));
  Set serve = table_flags(kForServe);
  EXPECT_EQ(bash_array(bash, "_pvebridge_serve_opts"), serve)
      << difference(serve, bash_array(bash, "_pvebridge_serve_opts"));
  // An option followed by a value must be known as such, or its value is taken for a command.
  EXPECT_EQ(bash_array(bash, "_pvebridge_value_opts"), values)
      << difference(values, bash_array(bash, "_pvebridge_value_opts"));
  // term and shell share one list of options.
  Set term = table_flags(kForTerm);
  EXPECT_EQ(term, table_flags(kForShell));
  EXPECT_EQ(bash_array(bash, "_pvebridge_term_opts"), term)
      << difference(term, bash_array(bash, "_pvebridge_term_opts"));
  EXPECT_EQ(bash_array(bash, "_pvebridge_commands"),
            (Set{"connect", "serve", "list", "term", "shell", "help", "version"}));
  EXPECT_EQ(bash.find("--password "), std::string::npos) << "offers the refused --password";
}

TEST(OptionTable, ZshCompletionOffersTheTablesOptions) {
  const std::string zsh = read_source("completions/_pvebridge");
  // Specs: '--name=[...]' takes a value, '--name[...]' does not ({-v,--verbose}'[...]' too).
  auto specs = [&](const std::string& array) { return between(zsh, array + "=(\n", "\n  )"); };
  const std::string any = R"((--[a-z0-9-]+)(=?\[|\}'\[))";
  for (auto [array, commands] : {std::pair<std::string, unsigned>{"global_opts", kForEvery},
                                 {"connect_opts", kForConnect},
                                 {"serve_opts", kForServe},
                                 {"list_opts", kForList},
                                 {"term_opts", kForTerminal}}) {
    Set want = table_flags(commands), got = matches(specs(array), any);
    EXPECT_EQ(got, want) << array << ": " << difference(want, got);
    Set want_values = table_flags(commands, true),
        got_values = matches(specs(array), R"((--[a-z0-9-]+)=\[)");
    EXPECT_EQ(got_values, want_values)
        << array << " values: " << difference(want_values, got_values);
  }
}

// Values the completions offer: the table's word list, or a kind (file, command, ...).
TEST(OptionTable, CompletionsOfferTheTablesValues) {
  const std::string bash = read_source("completions/pvebridge.bash");
  const std::string zsh = read_source("completions/_pvebridge");
  const std::string bash_values = between(bash, "_pvebridge_complete_value() {", "\n}");
  for (const OptionSpec& s : option_table()) {
    if (s.completion.empty()) continue;
    std::string flag(s.flag);
    // bash: the case branch naming the option, up to its ";;".
    std::smatch m;
    std::regex branch("\n    ([^\n]*[ (|])?" + flag + "( [^\n]*)?\\)\n([\\s\\S]*?);;");
    ASSERT_TRUE(std::regex_search(bash_values, m, branch)) << "bash completes no value of " << flag;
    std::string bash_branch = m[3].str();
    auto zsh_line = between(zsh, flag + "=[", "\n");
    ASSERT_FALSE(zsh_line.empty()) << "zsh completes no value of " << flag;
    std::string kinds[][3] = {{"file", "compgen -f", "_files"},
                              {"command", "compgen -c", "_command_names"},
                              {"profile", "_pvebridge_add_profiles", "_pvebridge_profiles"},
                              {"node", "_pvebridge_add_nodes", "_pvebridge_nodes"}};
    bool kind = false;
    for (auto& k : kinds) {
      if (s.completion != k[0]) continue;
      kind = true;
      EXPECT_NE(bash_branch.find(k[1]), std::string::npos) << flag << " in bash: " << k[1];
      EXPECT_NE(zsh_line.find(k[2]), std::string::npos) << flag << " in zsh: " << k[2];
    }
    if (kind) continue;
    std::istringstream words{std::string(s.completion)};
    for (std::string w; words >> w;) {
      EXPECT_NE(bash_branch.find(w), std::string::npos) << flag << " in bash: " << w;
      std::string zsh_w = std::regex_replace(w, std::regex("([:\\[\\]])"), "\\$1");
      EXPECT_TRUE(zsh_line.find(w) != std::string::npos ||
                  zsh_line.find(zsh_w) != std::string::npos)
          << flag << " in zsh: " << w;
    }
  }
}

// The man page's section (".SH NAME" up to the next ".SH"), or subsection (".SS").
std::string man_section(const std::string& page, const std::string& heading) {
  auto a = page.find("\n" + heading + "\n");
  if (a == std::string::npos) return "";
  a += heading.size() + 2;
  auto b = page.find("\n.S", a);
  return page.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

// True if the troff text names the option ("\-\-host" not followed by more of a name).
bool man_mentions(const std::string& text, std::string_view flag) {
  std::string escaped;
  for (char c : flag) escaped += c == '-' ? "\\\\-" : std::string(1, c);
  return std::regex_search(text, std::regex(escaped + "([^a-z0-9\\\\]|\\\\[^-]|$)"));
}

TEST(OptionTable, ManPageDocumentsEveryOption) {
  const std::string page = read_source("docs/pvebridge.1");
  const std::string options = between(page, "\n.SH OPTIONS\n", "\n.SH ");
  for (auto [sub, commands] :
       {std::pair<std::string, unsigned>{".SS \"Connection and authentication (every command)\"",
                                         kForEvery},
        {".SS \"Options of connect\"", kForConnect},
        {".SS \"Options of serve\"", kForServe},
        {".SS \"Options of list\"", kForList},
        {".SS \"Options of term and shell\"", kForTerminal}}) {
    std::string text = man_section(options, sub);
    EXPECT_FALSE(text.empty()) << sub;
    for (const std::string& f : table_flags(commands)) {
      EXPECT_TRUE(man_mentions(text, f)) << sub << " does not document " << f;
    }
  }
  for (const OptionSpec& s : option_table()) {
    if (!s.short_flag.empty()) {
      EXPECT_TRUE(man_mentions(options, s.short_flag)) << "OPTIONS lacks " << s.short_flag;
    }
    if (s.refused) {
      EXPECT_TRUE(man_mentions(man_section(page, ".SH SECURITY"), s.flag))
          << "SECURITY does not explain why " << s.flag << " is refused";
    }
    if (!s.env.empty()) {
      std::string env = man_section(page, ".SH ENVIRONMENT");
      EXPECT_TRUE(std::regex_search(env, std::regex("\n\\.BR? " + std::string(s.env) + "\\b")))
          << "ENVIRONMENT does not document " << s.env;
    }
    if (!s.config_key.empty()) {
      std::string file = man_section(page, ".SH \"CONFIGURATION FILE\"");
      EXPECT_TRUE(std::regex_search(file, std::regex("\\b" + std::string(s.config_key) + "\\b")))
          << "CONFIGURATION FILE does not name the key " << s.config_key;
    }
  }
}

}  // namespace
}  // namespace pvb
