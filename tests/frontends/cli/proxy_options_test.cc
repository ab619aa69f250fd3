// --proxy, https_proxy / HTTPS_PROXY and no_proxy / NO_PROXY: what wins, what is refused, and
// which variables the viewer must not inherit.
#include "frontends/cli/proxy_options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "frontends/cli/options.h"

namespace pvb {
namespace {

using Vars = std::map<std::string, std::string>;

std::function<std::optional<std::string>(const std::string&)> lookup(const Vars& vars) {
  return [&vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ProxyOptions, NoneByDefault) {
  Vars vars;
  std::vector<std::string> secrets;
  auto s = proxy_settings(std::nullopt, lookup(vars), secrets);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->url);
  EXPECT_EQ(s->for_host("pve1"), nullptr);
  EXPECT_TRUE(secrets.empty());
}

TEST(ProxyOptions, FlagBeatsEnvironmentAndLowerCaseBeatsUpperCase) {
  Vars vars = {{"https_proxy", "http://lower:3128"}, {"HTTPS_PROXY", "http://upper:3128"}};
  std::vector<std::string> secrets;
  auto flag = proxy_settings(std::string("http://flag:8080"), lookup(vars), secrets);
  ASSERT_TRUE(flag.ok());
  EXPECT_EQ(flag->url->host, "flag");
  EXPECT_EQ(flag->source, "--proxy");
  auto env = proxy_settings(std::nullopt, lookup(vars), secrets);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->url->host, "lower");
  EXPECT_EQ(env->source, "https_proxy");
  Vars upper = {{"https_proxy", ""}, {"HTTPS_PROXY", "upper:3128"}};
  auto u = proxy_settings(std::nullopt, lookup(upper), secrets);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->url->host, "upper");
  EXPECT_EQ(u->source, "HTTPS_PROXY");
  Vars all = {{"all_proxy", "http://everything:1"}, {"ALL_PROXY", "socks5://x:1"}};
  auto a = proxy_settings(std::nullopt, lookup(all), secrets);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->url) << "all_proxy is not ours to follow";
}

TEST(ProxyOptions, TheProfilesProxyComesLastAndNoProxyStillApplies) {
  const std::optional<std::string> profile = "http://profile-proxy:3128";
  std::vector<std::string> secrets;
  Vars none;
  auto p = proxy_settings(std::nullopt, lookup(none), secrets, profile);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->url);
  EXPECT_EQ(p->url->host, "profile-proxy");
  EXPECT_EQ(p->source, "the config file");
  Vars env = {{"https_proxy", "http://env-proxy:1"}};
  EXPECT_EQ(proxy_settings(std::nullopt, lookup(env), secrets, profile)->url->host, "env-proxy");
  EXPECT_EQ(proxy_settings(std::string("flag:1"), lookup(env), secrets, profile)->url->host,
            "flag");
  Vars exempt = {{"NO_PROXY", "pve1.example.com"}};
  auto e = proxy_settings(std::nullopt, lookup(exempt), secrets, profile);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->for_host("pve1.example.com"), nullptr);
  EXPECT_NE(e->for_host("pve2.example.com"), nullptr);
  auto with_password =
      proxy_settings(std::nullopt, lookup(none), secrets, std::string("http://a:b@proxy:1"));
  ASSERT_FALSE(with_password.ok());
  EXPECT_EQ(with_password.error().code(), Errc::usage);
  EXPECT_EQ(with_password.error().message().find("a:b"), std::string::npos);
  EXPECT_TRUE(secrets.empty());
}

TEST(ProxyOptions, CredentialsOnlyFromTheEnvironmentAndNeverForChildren) {
  Vars vars = {{"https_proxy", "http://alice:secret@proxy:3128"},
               {"HTTPS_PROXY", "http://alice:secret@proxy:3128"}};
  std::vector<std::string> secrets;
  auto s = proxy_settings(std::nullopt, lookup(vars), secrets);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->url->basic_authorization(), "Basic YWxpY2U6c2VjcmV0");
  EXPECT_EQ(secrets, (std::vector<std::string>{"https_proxy", "HTTPS_PROXY"}));

  std::vector<std::string> none;
  Vars plain = {{"https_proxy", "http://proxy:3128"}};
  ASSERT_TRUE(proxy_settings(std::nullopt, lookup(plain), none).ok());
  EXPECT_TRUE(none.empty()) << "a proxy without a password is no secret";

  auto flag = proxy_settings(std::string("http://alice:secret@proxy:3128"), lookup(plain), none);
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.error().code(), Errc::usage);
  EXPECT_EQ(flag.error().message().find("secret"), std::string::npos) << flag.error().message();
}

TEST(ProxyOptions, BadUrlsNameTheirSource) {
  Vars vars = {{"HTTPS_PROXY", "socks5://proxy:1080"}};
  std::vector<std::string> secrets;
  auto s = proxy_settings(std::nullopt, lookup(vars), secrets);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message().rfind("HTTPS_PROXY: ", 0), 0u) << s.error().message();
  auto f = proxy_settings(std::string("http://proxy:99999"), lookup(vars), secrets);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().message().rfind("--proxy: ", 0), 0u) << f.error().message();
}

TEST(ProxyOptions, NoProxyExemptsHosts) {
  Vars vars = {{"https_proxy", "http://proxy:3128"}, {"no_proxy", ".lab.example,192.0.2.10"}};
  std::vector<std::string> secrets;
  auto s = proxy_settings(std::nullopt, lookup(vars), secrets);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->for_host("pve1.lab.example"), nullptr);
  EXPECT_EQ(s->for_host("192.0.2.10"), nullptr);
  ASSERT_NE(s->for_host("pve1.example.com"), nullptr);
  EXPECT_EQ(s->for_host("pve1.example.com")->authority(), "proxy:3128");
  Vars upper = {{"https_proxy", "http://proxy:3128"}, {"NO_PROXY", "*"}};
  auto all = proxy_settings(std::nullopt, lookup(upper), secrets);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->for_host("anything"), nullptr);
}

TEST(ProxyOptions, ThroughTheCommandLineParser) {
  Vars vars = {{"PVE_API_TOKEN", "root@pam!pvebridge=11111111-2222-3333-4444-555555555555"},
               {"https_proxy", "http://u:p@envproxy:3128"}};
  auto o = parse_command_line({"list", "--host", "pve1", "--proxy=http://flag:8080"}, lookup(vars));
  ASSERT_TRUE(o.ok()) << o.error().message();
  ASSERT_TRUE(o->proxy.url);
  EXPECT_EQ(o->proxy.url->authority(), "flag:8080");
  // The environment's proxy password is kept from children even when --proxy wins.
  EXPECT_NE(std::find(o->secret_env_names.begin(), o->secret_env_names.end(), "https_proxy"),
            o->secret_env_names.end());
  auto missing = parse_command_line({"list", "--host", "pve1", "--proxy"}, lookup(vars));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("--proxy needs a value"), std::string::npos);
}

}  // namespace
}  // namespace pvb
