#include "frontends/cli/options.h"

#include <gtest/gtest.h>

#include <map>

#include "frontends/cli/exit_codes.h"

namespace pvb {
namespace {

struct Env {
  std::map<std::string, std::string> vars = {{"DISPLAY", ":0"}};
  EnvLookup lookup() const {
    return [this](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

Result<CliOptions> parse(std::vector<std::string> args, const Env& env = {}) {
  return parse_command_line(args, env.lookup());
}

const std::string kToken = "root@pam!pvebridge=11111111-2222-3333-4444-555555555555";
// Two SHA-256 fingerprints, AB:AB:... and CD:CD:...
std::string fingerprint_of(const char* byte) {
  std::string f = byte;
  for (int i = 1; i < 32; ++i) f += std::string(":") + byte;
  return f;
}
const std::string kFingerprint = fingerprint_of("AB");
const std::string kFingerprint2 = fingerprint_of("CD");

TEST(Options, ConnectWithTokenAndDefaults) {
  auto o = parse({"connect", "web01", "--host", "pve1", "--api-token", kToken});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->command, Command::connect);
  EXPECT_EQ(o->guests, std::vector<std::string>{"web01"});
  ASSERT_EQ(o->hosts.size(), 1u);
  EXPECT_EQ(o->hosts[0].authority(), "pve1:8006");
  EXPECT_EQ(o->listen_host, "127.0.0.1");
  EXPECT_EQ(o->listen_port, 0);
  EXPECT_EQ(o->timeout_s, 15u);
  EXPECT_EQ(o->keepalive_s, 30u);
  EXPECT_EQ(o->viewer, "remote-viewer");
  EXPECT_EQ(o->tls_backend, TlsBackendKind::openssl);
}

TEST(Options, TlsBackend) {
  auto o = parse({"list", "--host", "h", "--api-token", kToken, "--tls-backend", "mbedtls"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->tls_backend, TlsBackendKind::mbedtls);
  o = parse({"list", "--host", "h", "--api-token", kToken, "--tls-backend=openssl"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->tls_backend, TlsBackendKind::openssl);
  auto bad = parse({"list", "--host", "h", "--api-token", kToken, "--tls-backend", "gnutls"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::usage);
  EXPECT_EQ(bad.error().message(), "--tls-backend: expected openssl or mbedtls, got 'gnutls'");
}

TEST(Options, HostListsAndFailoverOrder) {
  auto o = parse({"list", "--host", "pve1,pve2:8007", "--host=[::1]:9000", "--api-token", kToken});
  ASSERT_TRUE(o.ok()) << o.error().message();
  ASSERT_EQ(o->hosts.size(), 3u);
  EXPECT_EQ(o->hosts[1].port, 8007);
  EXPECT_EQ(o->hosts[2].host, "::1");
  EXPECT_EQ(o->hosts[2].authority(), "[::1]:9000");
  auto bare6 = parse_host_list("fe80::1");
  ASSERT_TRUE(bare6.ok());
  EXPECT_EQ((*bare6)[0].port, 8006);
}

TEST(Options, EnvironmentFillsGaps) {
  Env env{{{"PVE_HOST", "pve9"},
           {"PVE_USER", "alice"},
           {"PVE_PASSWORD", "pw"},
           {"PVE_FINGERPRINT", kFingerprint + "," + kFingerprint2}}};
  auto o = parse({"list"}, env);
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->hosts[0].host, "pve9");
  EXPECT_EQ(o->user, "alice@pam");
  EXPECT_EQ(o->password, "pw");
  EXPECT_EQ(o->fingerprints, (std::vector<std::string>{kFingerprint, kFingerprint2}));
  EXPECT_EQ(o->secret_env_names, std::vector<std::string>{"PVE_PASSWORD"});
}

TEST(Options, CommandLineBeatsEnvironment) {
  Env env{{{"PVE_HOST", "pve9"}, {"PVE_USER", "alice@pve"}}};
  auto o = parse({"list", "--host", "pve1", "--user", "bob"}, env);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->hosts[0].host, "pve1");
  EXPECT_EQ(o->user, "bob@pam");
}

TEST(Options, TokenAndUserTogetherIsUsageError) {
  auto o = parse({"list", "--host", "h", "--api-token", kToken, "--user", "root"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code(), Errc::usage);
  EXPECT_NE(o.error().detail().find("mutually exclusive"), std::string::npos);
}

TEST(Options, PasswordOnCommandLineIsRefused) {
  for (auto a : {std::vector<std::string>{"list", "--password", "x"},
                 std::vector<std::string>{"list", "--password=x"}}) {
    auto o = parse(a);
    ASSERT_FALSE(o.ok());
    EXPECT_NE(o.error().detail().find("never taken on the command line"), std::string::npos);
  }
}

TEST(Options, ListenMustBeLoopback) {
  std::string h;
  uint16_t p;
  EXPECT_TRUE(parse_listen("127.0.0.1:0", h, p).ok());
  EXPECT_TRUE(parse_listen("[::1]:5900", h, p).ok());
  EXPECT_EQ(p, 5900);
  EXPECT_TRUE(parse_listen("127.1.2.3:1", h, p).ok());
  for (auto bad : {"0.0.0.0:0", "192.0.2.1:5900", "[::]:0", "pve1:0", "127.0.0.1:99999"}) {
    Error e = parse_listen(bad, h, p);
    EXPECT_EQ(e.code(), Errc::usage) << bad;
  }
}

TEST(Options, UsageErrorsAreOneLine) {
  std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"connect", "--host", "h", "--api-token", kToken},
      {"connect", "x", "--host"},
      {"list", "--api-token", kToken},
      {"list", "--host", "h", "--api-token", "nonsense"},
      {"list", "--host", "h", "--api-token", kToken, "--timeout", "0"},
      {"list", "--host", "h", "--api-token", kToken, "--fingerprint", "aa", "--insecure"},
      {"list", "--host", "h", "--api-token", kToken, "--bogus"},
      {"list", "--host", "[::1", "--api-token", kToken},
      {"list", "--host", "h"},
      {"connect", "x", "--host", "h", "--api-token", kToken, "--vv-stdin", "--no-viewer"},
  };
  for (const auto& a : bad) {
    auto o = parse(a);
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().code(), Errc::usage);
    EXPECT_EQ(o.error().detail().find('\n'), std::string::npos) << o.error().detail();
    EXPECT_EQ(o.error().detail().find("55555555"), std::string::npos) << "secret leaked";
  }
}

TEST(Options, HelpAndVersion) {
  auto h = parse({"connect", "--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->command, Command::help);
  EXPECT_EQ(h->help_topic, "connect");
  EXPECT_NE(help_text("connect").find("--vv-stdin"), std::string::npos);
  EXPECT_NE(help_text("").find("130/143"), std::string::npos);
  auto v = parse({"--version"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->command, Command::version);
  EXPECT_EQ(version_text().rfind("pvebridge ", 0), 0u);
}

TEST(Options, SeveralGuests) {
  auto o = parse({"connect", "100", "101", "web01", "--host", "h", "--api-token", kToken});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->guests.size(), 3u);
}

std::string error_text(const Result<CliOptions>& o) {
  return o.ok() ? std::string("accepted") : o.error().message();
}

// Issue 17, item 1: a URL pasted from the browser names the host; plain http:// is refused.
TEST(Options, HostAsAnHttpsUrl) {
  auto o = parse({"list", "--host", "https://pve1:8006/", "--api-token", kToken});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->hosts[0].authority(), "pve1:8006");
  auto list = parse_host_list("https://pve1, https://[fd00::1]:8007/#v1:0:=qemu%2F100");
  ASSERT_TRUE(list.ok()) << list.error().message();
  EXPECT_EQ((*list)[0].authority(), "pve1:8006");
  EXPECT_EQ((*list)[1].authority(), "[fd00::1]:8007");
  EXPECT_EQ(error_text(parse({"list", "--host", "http://pve1:8006", "--api-token", kToken})),
            "--host: 'http://pve1:8006': plain http:// is refused: the Proxmox API speaks HTTPS "
            "only (https://HOST:8006)");
  EXPECT_NE(error_text(parse({"list", "--host", "https://pve1:8006/api2/json"})).find("path"),
            std::string::npos);
  // The context comes from where the value was given.
  EXPECT_EQ(error_text(parse({"list", "--api-token", kToken}, Env{{{"PVE_HOST", "[::1"}}})),
            "PVE_HOST: missing ']' in '[::1'");
}

// Item 5: no display, no viewer: said before any network call.
TEST(Options, ConnectWithoutADisplay) {
  Env none{{}};
  const std::vector<std::string> args = {"connect", "web01", "--host", "h", "--api-token", kToken};
  EXPECT_EQ(error_text(parse(args, none)),
            "no display: use --no-viewer, or run it in a desktop session");
  auto headless = args;
  headless.push_back("--no-viewer");
  EXPECT_TRUE(parse(headless, none).ok());
  EXPECT_TRUE(parse(args, Env{{{"WAYLAND_DISPLAY", "wayland-0"}}}).ok());
  EXPECT_TRUE(parse({"list", "--host", "h", "--api-token", kToken}, none).ok());
}

// Item 10: a token as curl examples write it.
TEST(Options, TokenWithTheHeaderPrefix) {
  auto o = parse({"list", "--host", "h", "--api-token", "PVEAPIToken=" + kToken});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->api_token, kToken);
  auto env = parse({"list", "--host", "h"}, Env{{{"PVE_API_TOKEN", "PVEAPIToken=" + kToken}}});
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_EQ(env->api_token, kToken);
}

// Item 12: small mistakes, pointed at the fix.
TEST(Options, MistakesPointAtTheFix) {
  EXPECT_EQ(error_text(parse({"help", "foo"})),
            "no help topic 'foo' (topics: connect, serve, list, term, shell, config)");
  EXPECT_TRUE(parse({"help", "config"}).ok());
  EXPECT_TRUE(parse({"help", "shell"}).ok());
  const std::string commands = "; commands: connect, serve, list, term, shell, help, version";
  EXPECT_EQ(error_text(parse({"conect", "100"})),
            "unknown command 'conect' (did you mean 'connect'?)" + commands);
  EXPECT_EQ(error_text(parse({"lsit"})),
            "unknown command 'lsit' (did you mean 'list'?)" + commands);
  EXPECT_EQ(error_text(parse({"trem", "100"})),
            "unknown command 'trem' (did you mean 'term'?)" + commands);
  EXPECT_EQ(error_text(parse({"frobnicate"})), "unknown command 'frobnicate'" + commands);
  EXPECT_EQ(error_text(parse({"term", "100", "--bogus"})),
            "unknown option '--bogus' (see: pvebridge help term)");
  EXPECT_EQ(error_text(parse({"list", "--bogus"})),
            "unknown option '--bogus' (see: pvebridge help list)");
  EXPECT_EQ(error_text(parse({"--bogus=1", "list"})),
            "unknown option '--bogus' (see: pvebridge --help)");
  EXPECT_EQ(error_text(parse({"connect", "x", "--listen", "5900"})),
            "--listen: give HOST:PORT, e.g. 127.0.0.1:5900 (or [::1]:5900)");
  EXPECT_EQ(error_text(parse({"list", "--json=yes"})), "--json takes no value");
  // One number parser, one message, whatever the option.
  EXPECT_EQ(error_text(parse({"connect", "x", "--keepalive", "-1"})),
            "--keepalive: expected seconds from 0 (off) to 86400, got '-1'");
}

TEST(ExitCodes, AreDistinctPerClass) {
  EXPECT_EQ(exit_code_for(Errc::usage), 2);
  EXPECT_EQ(exit_code_for(Errc::auth), 3);
  EXPECT_EQ(exit_code_for(Errc::tls_verify), 4);
  EXPECT_EQ(exit_code_for(Errc::ambiguous), 5);
  EXPECT_EQ(exit_code_for(Errc::not_running), 6);
  EXPECT_EQ(exit_code_for(Errc::timeout), 7);
  EXPECT_EQ(exit_code_for(Errc::console_refused), 8);
  EXPECT_EQ(exit_code_for(Errc::viewer), 9);
  EXPECT_EQ(exit_code_for(Errc::no_client), 10);
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

// Regressions found by fuzz_cli_options.
TEST(Options, EchoedInputNeverBreaksTheLine) {
  auto o = parse_command_line({"frob\nnicate"}, [](const std::string&) { return std::nullopt; });
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().detail().find('\n'), std::string::npos);
}

TEST(Options, HostNamesWithBracketsAndBracketedPortZeroAreRefused) {
  EXPECT_FALSE(parse_host_list("a[b").ok());
  EXPECT_FALSE(parse_host_list("pve]1:8006").ok());
  EXPECT_FALSE(parse_host_list("[::1]:0").ok());
  EXPECT_TRUE(parse_host_list("[::1]:8006").ok());
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

TEST(Options, TermAndShellCommands) {
  auto t = parse({"term", "ct-web", "--host", "h", "--api-token", kToken});
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->command, Command::term);
  EXPECT_EQ(t->guests, std::vector<std::string>{"ct-web"});
  EXPECT_EQ(t->escape, std::optional<uint8_t>('~'));
  EXPECT_EQ(t->idle_exit_s, 2u);
  EXPECT_FALSE(t->serial);
  auto s = parse({"shell", "--host", "h", "--api-token", kToken});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->command, Command::shell);
  EXPECT_EQ(s->shell_node, "");
  auto n = parse({"shell", "pve2", "--host", "h", "--api-token", kToken});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->shell_node, "pve2");
}

TEST(Options, TermOptions) {
  auto t = parse({"term", "100", "--host", "h", "--api-token", kToken, "--escape", "none",
                  "--idle-exit=5", "--serial", "2", "--start", "--keepalive", "0"});
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->escape, std::optional<uint8_t>());
  EXPECT_EQ(t->idle_exit_s, 5u);
  EXPECT_EQ(t->serial, std::optional<int>(2));
  EXPECT_TRUE(t->start);
  EXPECT_EQ(t->keepalive_s, 0u);
  auto ctl = parse({"term", "100", "--host", "h", "--api-token", kToken, "--escape", "^]"});
  ASSERT_TRUE(ctl.ok());
  EXPECT_EQ(ctl->escape, std::optional<uint8_t>(0x1d));
}

TEST(Options, TermMistakesAreUsageErrors) {
  for (std::vector<std::string> args : {
           std::vector<std::string>{"term", "--host", "h", "--api-token", kToken},
           {"term", "100", "101", "--host", "h", "--api-token", kToken},
           {"shell", "pve1", "pve2", "--host", "h", "--api-token", kToken},
           {"term", "100", "--host", "h", "--api-token", kToken, "--serial", "4"},
           {"term", "100", "--host", "h", "--api-token", kToken, "--escape", "ab"},
           {"term", "100", "--host", "h", "--api-token", kToken, "--idle-exit", "x"},
       }) {
    auto r = parse(args);
    ASSERT_FALSE(r.ok()) << args[0] << " " << args.back();
    EXPECT_EQ(r.error().code(), Errc::usage);
  }
  // The table scopes the options: a term/shell option is refused by the other commands, and
  // connect's and list's own by term and shell (--start and --keepalive are shared).
  for (std::vector<std::string> args : {
           std::vector<std::string>{"connect", "100", "--serial", "0"},
           {"list", "--escape", "none"},
           {"connect", "100", "--idle-exit", "5"},
           {"term", "100", "--viewer", "x"},
           {"shell", "--no-viewer"},
           {"term", "100", "--node", "pve1"},
       }) {
    args.insert(args.end(), {"--host", "h", "--api-token", kToken});
    auto r = parse(args);
    ASSERT_FALSE(r.ok()) << args[0] << " " << args[2];
    EXPECT_EQ(r.error().code(), Errc::usage);
    EXPECT_NE(r.error().message().find("is an option of"), std::string::npos)
        << r.error().message();
  }
  auto shared = parse({"shell", "--host", "h", "--api-token", kToken, "--keepalive", "0", "--start",
                       "--idle-exit", "0", "--serial", "3"});
  ASSERT_TRUE(shared.ok()) << shared.error().message();
  EXPECT_EQ(shared->keepalive_s, 0u);
  EXPECT_EQ(shared->idle_exit_s, 0u);
  EXPECT_EQ(shared->serial, 3);
  auto h = parse({"term", "--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->command, Command::help);
  EXPECT_EQ(h->help_topic, "term");
  EXPECT_NE(help_text("term").find("--idle-exit"), std::string::npos);
  EXPECT_NE(help_text("shell").find("--escape"), std::string::npos);
}

}  // namespace
}  // namespace pvb
