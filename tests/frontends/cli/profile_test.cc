// The config file through parse_command_line: choosing the file and profile, what each key
// means, precedence (command line > environment > file), and the refusals.
#include "frontends/cli/profile.h"

#include <gtest/gtest.h>

#include <map>

#include "frontends/cli/options.h"

namespace pvb {
namespace {

const std::string kToken = "root@pam!pvebridge=11111111-2222-3333-4444-555555555555";
const std::string kFingerprint =
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:"
    "99";
const std::string kConfigPath = "/home/u/.config/pvebridge/config";

// An environment and a set of files, as parse_command_line sees them.
struct World {
  std::map<std::string, std::string> env = {{"HOME", "/home/u"}, {"DISPLAY", ":0"}};
  std::map<std::string, UserFile> files;
  std::vector<std::string> loaded;  // paths the loader was asked for

  void config(std::string text, const std::string& path = kConfigPath) {
    files[path] = UserFile{std::move(text), false, false};
  }
  EnvLookup lookup() const {
    return [this](const std::string& k) -> std::optional<std::string> {
      auto it = env.find(k);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
  }
  ConfigLoader loader() {
    return [this](const std::string& path) -> Result<std::optional<UserFile>> {
      loaded.push_back(path);
      auto it = files.find(path);
      if (it == files.end()) return std::optional<UserFile>();
      return std::optional<UserFile>(it->second);
    };
  }
  Result<CliOptions> parse(std::vector<std::string> args) {
    return parse_command_line(args, lookup(), loader());
  }
};

std::string error_of(const Result<CliOptions>& r) {
  if (r.ok()) return "accepted";
  EXPECT_EQ(r.error().code(), Errc::usage);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  return r.error().message();
}

TEST(ConfigChoice, FileFromOptionEnvironmentXdgOrHome) {
  World w;
  EnvLookup env = w.lookup();
  EXPECT_EQ(choose_config("", "", env).path, kConfigPath);
  EXPECT_FALSE(choose_config("", "", env).path_required);
  w.env["XDG_CONFIG_HOME"] = "relative/dir";  // ignored: only an absolute one counts
  EXPECT_EQ(choose_config("", "", env).path, kConfigPath);
  w.env["XDG_CONFIG_HOME"] = "/xdg";
  EXPECT_EQ(choose_config("", "", env).path, "/xdg/pvebridge/config");
  w.env["PVEBRIDGE_CONFIG"] = "/etc/pvb.conf";
  EXPECT_EQ(choose_config("", "", env).path, "/etc/pvb.conf");
  EXPECT_TRUE(choose_config("", "", env).path_required);
  EXPECT_EQ(choose_config("mine.conf", "", env).path, "mine.conf");
  w.env.clear();
  EXPECT_EQ(choose_config("", "", env).path, "") << "no HOME, no XDG_CONFIG_HOME: no file";
}

TEST(ConfigChoice, ProfileFromOptionOrEnvironment) {
  World w;
  EnvLookup env = w.lookup();
  EXPECT_EQ(choose_config("", "", env).profile, "");
  w.env["PVEBRIDGE_PROFILE"] = "lab";
  EXPECT_EQ(choose_config("", "", env).profile, "lab");
  EXPECT_EQ(choose_config("", "", env).profile_from, "PVEBRIDGE_PROFILE");
  EXPECT_EQ(choose_config("", "prod", env).profile, "prod");
  EXPECT_EQ(choose_config("", "prod", env).profile_from, "--profile");
}

TEST(Profile, DefaultProfileGivesHostsCredentialsTrustAndViewer) {
  World w;
  w.config(
      "default_profile = home\n"
      "[profile home]\n"
      "host = pve1, pve2:8007\n"
      "user = alice@pve\n"
      "password_command = pass show \"pve/alice\"\n"
      "fingerprint = " +
      kFingerprint +
      "\n"
      "tls_backend = mbedtls\n"
      "timeout = 20\n"
      "keepalive = 0\n"
      "client_wait = 60\n"
      "viewer = ~/bin/my-viewer\n"
      "viewer_args = --zoom=80 '--hotkeys=release-cursor=ctrl+alt'\n"
      "fullscreen = yes\n"
      "kiosk = off\n");
  auto o = w.parse({"connect", "web01"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(w.loaded, std::vector<std::string>{kConfigPath});
  ASSERT_EQ(o->hosts.size(), 2u);
  EXPECT_EQ(o->hosts[1].authority(), "pve2:8007");
  EXPECT_EQ(o->user, "alice@pve");
  EXPECT_FALSE(o->password);
  EXPECT_EQ(o->password_command, (std::vector<std::string>{"pass", "show", "pve/alice"}));
  EXPECT_EQ(o->fingerprints, std::vector<std::string>{kFingerprint});
  EXPECT_EQ(o->tls_backend, TlsBackendKind::mbedtls);
  EXPECT_EQ(o->timeout_s, 20u);
  EXPECT_EQ(o->keepalive_s, 0u);
  EXPECT_EQ(o->client_wait_s, 60u);
  EXPECT_EQ(o->viewer, "/home/u/bin/my-viewer");
  EXPECT_EQ(o->viewer_args,
            (std::vector<std::string>{"--zoom=80", "--hotkeys=release-cursor=ctrl+alt"}));
  EXPECT_TRUE(o->fullscreen);
  EXPECT_FALSE(o->kiosk);
  EXPECT_EQ(o->config_origin, kConfigPath + " (profile home)");
}

TEST(Profile, NoFileIsFine) {
  World w;
  auto o = w.parse({"list", "--host", "pve1", "--api-token", kToken});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->config_origin, "");
  EXPECT_EQ(w.loaded, std::vector<std::string>{kConfigPath}) << "the default place was looked at";
  // Without a loader (tests, fuzzers) nothing is read.
  auto pure = parse_command_line({"list", "--host", "pve1", "--api-token", kToken}, w.lookup());
  ASSERT_TRUE(pure.ok());
}

TEST(Profile, NamedFileOrProfileMustExist) {
  World w;
  EXPECT_EQ(error_of(w.parse({"list", "--config", "/nope.conf"})),
            "config file /nope.conf does not exist");
  w.env["PVEBRIDGE_CONFIG"] = "/env.conf";
  EXPECT_EQ(error_of(w.parse({"list"})), "config file /env.conf does not exist");
  w.env.erase("PVEBRIDGE_CONFIG");
  EXPECT_EQ(error_of(w.parse({"list", "--profile", "lab"})),
            "--profile lab: no config file " + kConfigPath);
  w.config("[profile home]\n[profile work]\n");
  EXPECT_EQ(error_of(w.parse({"list", "--profile", "lab"})),
            "--profile: no profile 'lab' in " + kConfigPath + " (profiles: home, work)");
  w.env["PVEBRIDGE_PROFILE"] = "lab2";
  EXPECT_EQ(error_of(w.parse({"list"})),
            "PVEBRIDGE_PROFILE: no profile 'lab2' in " + kConfigPath + " (profiles: home, work)");
}

TEST(Profile, ConfigOptionAndEnvironmentPickTheFileAndProfile) {
  World w;
  w.config("[profile a]\nhost = from-default\n");
  w.config("[profile a]\nhost = from-option\n", "/opt.conf");
  w.config("[profile a]\nhost = from-env\n", "/env.conf");
  w.env["PVEBRIDGE_PROFILE"] = "a";
  w.env["PVE_API_TOKEN"] = kToken;
  auto o = w.parse({"list"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->hosts[0].host, "from-default");
  w.env["PVEBRIDGE_CONFIG"] = "/env.conf";
  o = w.parse({"list"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->hosts[0].host, "from-env");
  o = w.parse({"list", "--config=/opt.conf"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->hosts[0].host, "from-option");
}

TEST(Profile, ProfileOptionBeatsEnvironmentBeatsDefault) {
  World w;
  w.env["PVE_API_TOKEN"] = kToken;
  w.config(
      "default_profile = d\n"
      "[profile d]\nhost = d\n"
      "[profile e]\nhost = e\n"
      "[profile c]\nhost = c\n");
  EXPECT_EQ(w.parse({"list"})->hosts[0].host, "d");
  w.env["PVEBRIDGE_PROFILE"] = "e";
  EXPECT_EQ(w.parse({"list"})->hosts[0].host, "e");
  EXPECT_EQ(w.parse({"list", "--profile", "c"})->hosts[0].host, "c");
}

TEST(Profile, TopLevelSettingsApplyWithoutProfile) {
  World w;
  w.config("host = top\ntoken_id = root@pam!ci\ntoken_file = ci.token\n");
  auto o = w.parse({"list"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->hosts[0].host, "top");
  EXPECT_FALSE(o->api_token);
  EXPECT_EQ(o->token_id, "root@pam!ci");
  EXPECT_EQ(o->token_file, "/home/u/.config/pvebridge/ci.token") << "relative to the file";
  EXPECT_EQ(o->config_origin, kConfigPath);
}

// Each level of precedence, for a plain value (the host) and a value option (the timeout).
TEST(Profile, CommandLineBeatsEnvironmentBeatsFile) {
  World w;
  w.config("host = file-host\ntimeout = 40\nuser = alice\npassword_file = /pw\n");
  auto file = w.parse({"list"});
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->hosts[0].host, "file-host");
  EXPECT_EQ(file->timeout_s, 40u);

  w.env["PVE_HOST"] = "env-host";
  auto env = w.parse({"list"});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->hosts[0].host, "env-host");

  auto cli = w.parse({"list", "--host", "cli-host", "--timeout", "15"});
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->hosts[0].host, "cli-host");
  EXPECT_EQ(cli->timeout_s, 15u) << "given on the command line, even if it is the default";
}

TEST(Profile, CredentialsOverrideAsAGroup) {
  World w;
  w.config("user = alice@pve\npassword_command = pass alice\nhost = h\n");
  // The file alone: its user and password command.
  auto file = w.parse({"list"});
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->user, "alice@pve");
  EXPECT_EQ(file->password_command, (std::vector<std::string>{"pass", "alice"}));

  // A token from the environment drops the file's user: no "mutually exclusive" error.
  w.env["PVE_API_TOKEN"] = kToken;
  auto token = w.parse({"list"});
  ASSERT_TRUE(token.ok()) << token.error().message();
  EXPECT_EQ(token->api_token, kToken);
  EXPECT_TRUE(token->user.empty());
  EXPECT_TRUE(token->password_command.empty());
  w.env.erase("PVE_API_TOKEN");

  // Another user on the command line does not get alice's password.
  auto bob = w.parse({"list", "--user", "bob@pve"});
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->user, "bob@pve");
  EXPECT_TRUE(bob->password_command.empty());
  // The same user named again keeps the file's password command.
  auto alice = w.parse({"list", "--user", "alice@pve"});
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->password_command, (std::vector<std::string>{"pass", "alice"}));

  // PVE_PASSWORD (environment) and --password-file (command line) beat the file's password.
  w.env["PVE_PASSWORD"] = "env-pw";
  auto env_pw = w.parse({"list"});
  ASSERT_TRUE(env_pw.ok());
  EXPECT_EQ(env_pw->user, "alice@pve");
  EXPECT_EQ(env_pw->password, "env-pw");
  EXPECT_TRUE(env_pw->password_command.empty());
  w.env.erase("PVE_PASSWORD");
  auto file_pw = w.parse({"list", "--password-file", "/mine"});
  ASSERT_TRUE(file_pw.ok());
  EXPECT_EQ(file_pw->password_file, "/mine");
  EXPECT_TRUE(file_pw->password_command.empty());
}

TEST(Profile, UserFromEnvironmentBeatsFileToken) {
  World w;
  w.config("token_id = root@pam!t\ntoken_command = get-token\nhost = h\n");
  w.env["PVE_USER"] = "carol";
  auto o = w.parse({"list"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->user, "carol@pam");
  EXPECT_TRUE(o->token_id.empty());
  w.env.erase("PVE_USER");
  auto t = w.parse({"list"});
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->token_id, "root@pam!t");
  EXPECT_EQ(t->token_command, std::vector<std::string>{"get-token"});
  EXPECT_TRUE(t->user.empty());
}

TEST(Profile, InlineTokenSecretMakesAWholeToken) {
  World w;
  w.config("host = h\ntoken_id = root@pam!pvebridge\ntoken_secret = 11111111-2222\n");
  auto o = w.parse({"list"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->api_token, "root@pam!pvebridge=11111111-2222");
  EXPECT_TRUE(o->token_id.empty());
}

TEST(Profile, TrustOverridesAsAGroup) {
  World w;
  w.config("host = h\nuser = a\npassword_file = /pw\nca_file = /etc/pve-root-ca.pem\n");
  auto file = w.parse({"list"});
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->ca_file, "/etc/pve-root-ca.pem");
  // A fingerprint on the command line (or in PVE_FINGERPRINT) replaces the file's CA: no
  // "mutually exclusive" error.
  auto cli = w.parse({"list", "--fingerprint", kFingerprint});
  ASSERT_TRUE(cli.ok()) << cli.error().message();
  EXPECT_TRUE(cli->ca_file.empty());
  w.env["PVE_FINGERPRINT"] = kFingerprint;
  auto env = w.parse({"list"});
  ASSERT_TRUE(env.ok()) << env.error().message();
  EXPECT_TRUE(env->ca_file.empty());
  EXPECT_EQ(env->fingerprints.size(), 1u);
  w.env.erase("PVE_FINGERPRINT");
  auto insecure = w.parse({"list", "--insecure"});
  ASSERT_TRUE(insecure.ok()) << insecure.error().message();
  EXPECT_TRUE(insecure->ca_file.empty());
}

TEST(Profile, ViewerArgsFromCommandLineReplaceTheFiles) {
  World w;
  w.config("host = h\nuser = a\nviewer_args = --one --two\nkiosk = yes\n");
  auto file = w.parse({"connect", "x"});
  ASSERT_TRUE(file.ok()) << file.error().message();
  EXPECT_EQ(file->viewer_args, (std::vector<std::string>{"--one", "--two"}));
  EXPECT_TRUE(file->kiosk);
  auto cli = w.parse({"connect", "x", "--viewer-arg", "--three"});
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->viewer_args, std::vector<std::string>{"--three"});
}

TEST(Profile, PathsExpandHomeAndResolveNextToTheFile) {
  World w;
  w.config(
      "host = h\nuser = a\npassword_file = ~/secrets/pve\nca_file = certs/ca.pem\n"
      "viewer = remote-viewer\n",
      "/etc/pvb/config");
  auto o = w.parse({"list", "--config", "/etc/pvb/config"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->password_file, "/home/u/secrets/pve");
  EXPECT_EQ(o->ca_file, "/etc/pvb/certs/ca.pem");
  EXPECT_EQ(o->viewer, "remote-viewer") << "a program name is looked up in PATH";
  w.env.erase("HOME");
  EXPECT_EQ(error_of(w.parse({"list", "--config", "/etc/pvb/config"})),
            "/etc/pvb/config:3: password_file: '~' needs HOME to be set");
}

TEST(Profile, BadValuesNameFileLineAndKey) {
  World w;
  auto bad = [&](const std::string& line) {
    w.config("host = h\nuser = a\n" + line + "\n");
    return error_of(w.parse({"list"}));
  };
  const std::string at = kConfigPath + ":3: ";
  EXPECT_EQ(bad("timeout = 0"), at + "timeout: expected seconds from 1 to 3600, got '0'");
  EXPECT_EQ(bad("keepalive = soon"),
            at + "keepalive: expected seconds from 0 (off) to 86400, got 'soon'");
  EXPECT_EQ(bad("client_wait = 9999"),
            at + "client_wait: expected seconds from 1 to 3600, got '9999'");
  EXPECT_EQ(bad("tls_backend = gnutls"),
            at + "tls_backend: expected openssl or mbedtls, got 'gnutls'");
  EXPECT_EQ(bad("fullscreen = maybe"), at + "fullscreen: expected yes or no, got 'maybe'");
  EXPECT_EQ(bad("viewer ="), at + "viewer: needs a program");
  EXPECT_EQ(bad("password_command = ''"), at + "password_command: needs a command")
      << "'' is a word";
  EXPECT_EQ(bad("password_command ="), at + "password_command: needs a command");
  EXPECT_EQ(bad("password_command = '' x"), at + "password_command: needs a command");
  EXPECT_EQ(bad("viewer_args = 'open"), at + "viewer_args: unbalanced ' quote");
  EXPECT_NE(bad("fingerprint = AA:BB").find(at + "fingerprint: "), std::string::npos);
  w.config("host = [::1\nuser = a\n");
  EXPECT_EQ(error_of(w.parse({"list"})), kConfigPath + ":1: host: missing ']' in '[::1'");
}

TEST(Profile, ProxyFromTheProfileAfterTheFlagAndTheEnvironment) {
  World w;
  w.config(
      "host = h\nuser = a\nproxy = http://file-proxy:3128\n[profile direct]\nhost = d\n"
      "user = a\n[profile other]\nhost = o\nuser = a\nproxy = other-proxy:8080\n");
  auto file = w.parse({"list"});
  ASSERT_TRUE(file.ok()) << file.error().message();
  ASSERT_TRUE(file->proxy.url);
  EXPECT_EQ(file->proxy.url->host, "file-proxy");
  EXPECT_EQ(file->proxy.url->port, 3128);
  EXPECT_EQ(file->proxy.source, "the config file");
  // A top-level proxy applies to every profile; a profile's own replaces it.
  auto direct = w.parse({"list", "--profile", "direct"});
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(direct->proxy.url->host, "file-proxy");
  auto other = w.parse({"list", "--profile", "other"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->proxy.url->host, "other-proxy");

  w.env["HTTPS_PROXY"] = "http://env-proxy:3128";
  auto env = w.parse({"list"});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->proxy.url->host, "env-proxy");
  EXPECT_EQ(env->proxy.source, "HTTPS_PROXY");
  auto cli = w.parse({"list", "--proxy", "http://cli-proxy:1"});
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->proxy.url->host, "cli-proxy");

  // no_proxy (from the environment) exempts hosts from the profile's proxy too.
  w.env.erase("HTTPS_PROXY");
  w.env["no_proxy"] = "h";
  auto exempt = w.parse({"list"});
  ASSERT_TRUE(exempt.ok());
  EXPECT_EQ(exempt->proxy.url->host, "file-proxy");
  EXPECT_EQ(exempt->proxy.for_host("h"), nullptr);
  EXPECT_NE(exempt->proxy.for_host("elsewhere"), nullptr);
}

TEST(Profile, ProxyCredentialsAndBadUrlsInTheFileAreRefused) {
  World w;
  w.config("host = h\nuser = a\nproxy = http://alice:hunter2@proxy:3128\n");
  const std::string e = error_of(w.parse({"list"}));
  EXPECT_EQ(
      e.rfind(kConfigPath + ":3: proxy: proxy credentials are not taken from a config file", 0), 0u)
      << e;
  EXPECT_NE(e.find("https_proxy="), std::string::npos) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  EXPECT_EQ(e.find("alice"), std::string::npos) << e;
  // Even when the environment's proxy would win: a file holding a password is a mistake to fix.
  w.env["https_proxy"] = "http://env:1";
  EXPECT_NE(error_of(w.parse({"list"})).find("proxy credentials"), std::string::npos);
  w.env.clear();
  w.env["HOME"] = "/home/u";
  for (const char* bad : {"proxy = socks5://proxy:1080", "proxy = http://proxy:99999",
                          "proxy = http://proxy:3128/path", "proxy ="}) {
    w.config(std::string("host = h\nuser = a\n") + bad + "\n");
    EXPECT_EQ(error_of(w.parse({"list"})).rfind(kConfigPath + ":3: proxy: ", 0), 0u) << bad;
  }
  w.config("host = h\nuser = a\nproxy = http://p:1\nproxy = http://q:1\n");
  EXPECT_NE(error_of(w.parse({"list"})).find("proxy given twice"), std::string::npos);
}

TEST(Profile, SettingsThatCannotStandTogether) {
  World w;
  auto bad = [&](const std::string& text) {
    w.config("host = h\n" + text);
    return error_of(w.parse({"list"}));
  };
  const std::string at = kConfigPath + ":";
  EXPECT_EQ(bad("user = a\ntoken_id = a@pam!t\ntoken_file = f\n"),
            at + "3: token_id and user (line 2) cannot both be used; keep one");
  EXPECT_EQ(bad("user = a\npassword_file = f\npassword_command = c\n"),
            at + "4: password_command and password_file (line 3) cannot both be used; keep one");
  EXPECT_EQ(bad("ca_file = c\nfingerprint = " + kFingerprint + "\nuser = a\n"),
            at + "3: fingerprint and ca_file (line 2) cannot both be used; keep one");
  EXPECT_EQ(bad("password_file = f\n"), at + "2: password_file needs a user in the same profile");
  EXPECT_EQ(bad("token_file = f\n"), at + "2: token_file needs a token_id in the same profile");
  EXPECT_EQ(bad("token_id = a@pam!t\n"),
            at + "2: token_id needs token_file, token_command or token_secret");
  EXPECT_NE(bad("token_id = a@pam\ntoken_file = f\n").find(at + "2: token_id: expected"),
            std::string::npos);
  EXPECT_NE(bad("token_id = a@pam!t=secret\ntoken_file = f\n").find(at + "2: token_id: expected"),
            std::string::npos);
  // Several fingerprints are fine (repeated, or a comma list).
  w.config("host = h\nuser = a\nfingerprint = " + kFingerprint + "\nfingerprint = " + kFingerprint +
           "," + kFingerprint + "\n");
  auto ok = w.parse({"list"});
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(ok->fingerprints.size(), 3u);
}

TEST(Profile, InlineSecretInAFileOthersMayReadIsRefused) {
  World w;
  w.config("host = h\nuser = a\npassword = hunter2-Zq7\n");
  w.files[kConfigPath].readable_by_others = true;
  std::string e = error_of(w.parse({"list"}));
  EXPECT_EQ(e, kConfigPath + ":3: password in a config file other users may read: run chmod 600 " +
                   kConfigPath + " (or use password_file or password_command)");
  EXPECT_EQ(e.find("hunter2"), std::string::npos);
  // Even in a profile that is not used: the file holds it.
  w.config("host = h\nuser = a\n[profile other]\ntoken_id = a@pam!t\ntoken_secret = s3cr3t\n");
  w.files[kConfigPath].readable_by_others = true;
  e = error_of(w.parse({"list"}));
  EXPECT_NE(e.find(":5: token_secret in a config file other users may read: run chmod 600"),
            std::string::npos)
      << e;
  // Without inline secrets a readable file is fine; a private file may hold them.
  w.config("host = h\nuser = a\npassword_command = pass pve\n");
  w.files[kConfigPath].readable_by_others = true;
  EXPECT_TRUE(w.parse({"list"}).ok());
  w.config("host = h\nuser = a\npassword = hunter2-Zq7\n");
  auto o = w.parse({"list"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->password, "hunter2-Zq7");
}

TEST(Profile, FileOthersMayChangeIsRefused) {
  World w;
  w.config("host = h\n");
  w.files[kConfigPath].writable_by_others = true;
  EXPECT_EQ(error_of(w.parse({"list", "--api-token", kToken})),
            kConfigPath +
                ": other users may change this config file (and so run commands as you): run "
                "chmod go-w " +
                kConfigPath);
}

TEST(Profile, LoaderErrorsPassThrough) {
  World w;
  auto loader = [](const std::string& path) -> Result<std::optional<UserFile>> {
    return Error(Errc::usage, path + " is not a regular file");
  };
  auto o = parse_command_line({"list", "--host", "h", "--api-token", kToken}, w.lookup(), loader);
  EXPECT_EQ(error_of(o), kConfigPath + " is not a regular file");
}

TEST(Profile, BrokenFileDoesNotStopHelpAndVersion) {
  World w;
  w.config("this is not a config\n");
  auto h = w.parse({"--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->command, Command::help);
  auto v = w.parse({"version"});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(w.loaded.empty());
  EXPECT_NE(error_of(w.parse({"list"})).find(kConfigPath + ":1: expected 'key = value'"),
            std::string::npos);
}

TEST(Profile, UnknownKeyIsAnError) {
  World w;
  w.config("[profile a]\nhost = h\nproxy_jump = x\n");
  EXPECT_EQ(error_of(w.parse({"list", "--profile", "a"})),
            kConfigPath + ":3: unknown key 'proxy_jump'");
}

// Issue 17, item 2: profiles but no default_profile and no --profile.
TEST(Profile, ProfilesWithoutADefaultAreNamed) {
  World w;
  w.config("[profile home]\nhost = h\nuser = a\n[profile lab]\nhost = l\nuser = b\n");
  EXPECT_EQ(error_of(w.parse({"list"})),
            "no Proxmox host: " + kConfigPath +
                " has profiles (home, lab) but names no default_profile: use --profile NAME, or "
                "set default_profile in the file");
  EXPECT_TRUE(w.parse({"list", "--profile", "lab"}).ok());
  EXPECT_TRUE(w.parse({"list", "--host", "h", "--user", "a"}).ok()) << "no profile needed";
}

// Item 12: an option that is deliberately not a key says so.
TEST(Profile, CommandLineOnlyOptionsInTheFile) {
  World w;
  w.config("host = h\nuser = a\ninsecure = yes\n");
  EXPECT_EQ(error_of(w.parse({"list"})),
            kConfigPath +
                ":3: insecure: command line only (--insecure), never read from a config "
                "file");
}

TEST(Profile, ConfigAndProfileOptionsNeedValues) {
  World w;
  EXPECT_EQ(error_of(w.parse({"list", "--config="})), "--config: needs a file");
  EXPECT_EQ(error_of(w.parse({"list", "--profile="})), "--profile: needs a name");
  EXPECT_EQ(error_of(w.parse({"list", "--profile"})), "--profile needs a value");
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

TEST(Profile, HelpTopicsDescribeTheFileAndTheFilters) {
  std::string config = help_text("config");
  for (const char* needle : {"[profile home]", "default_profile", "password_command", "chmod 600",
                             "token_file", "PVEBRIDGE_CONFIG"}) {
    EXPECT_NE(config.find(needle), std::string::npos) << needle;
  }
  std::string list = help_text("list");
  for (const char* needle : {"--node", "--type", "--status", "--tag", "--pool", "--format"}) {
    EXPECT_NE(list.find(needle), std::string::npos) << needle;
  }
  EXPECT_NE(help_text("").find("--profile NAME"), std::string::npos);
}

}  // namespace
}  // namespace pvb
