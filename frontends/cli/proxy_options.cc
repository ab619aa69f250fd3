#include "frontends/cli/proxy_options.h"

namespace pvb {

const ProxyUrl* ProxySettings::for_host(std::string_view host) const {
  if (!url || no_proxy.matches(host)) return nullptr;
  return &*url;
}

Result<ProxySettings> proxy_settings(
    const std::optional<std::string>& flag,
    const std::function<std::optional<std::string>(const std::string&)>& env,
    std::vector<std::string>& secret_env_names, const std::optional<std::string>& profile) {
  ProxySettings s;
  // Whatever we use, a proxy password in the environment is not for our children.
  for (const char* name : {"https_proxy", "HTTPS_PROXY"}) {
    auto v = env(name);
    if (v && v->find('@') != std::string::npos) secret_env_names.emplace_back(name);
  }
  std::optional<std::string> text;
  if (flag) {
    text = flag;
    s.source = "--proxy";
  } else {
    // Lower case first, as curl reads them.
    for (const char* name : {"https_proxy", "HTTPS_PROXY"}) {
      auto v = env(name);
      if (v && !v->empty()) {
        text = v;
        s.source = name;
        break;
      }
    }
  }
  const bool from_profile = !text && profile;
  if (from_profile) {
    text = profile;
    s.source = "the config file";
  }
  if (text) {
    auto url = parse_proxy_url(*text);
    if (!url.ok()) return Error(Errc::usage, s.source + ": " + url.error().message());
    if (flag && url->has_credentials()) {
      return Error(Errc::usage,
                   "--proxy: proxy credentials are never taken on the command line (others can "
                   "read it): set https_proxy=http://USER:PASSWORD@HOST:PORT instead");
    }
    if (from_profile && url->has_credentials()) {
      return Error(Errc::usage,
                   "proxy: proxy credentials are not taken from a config file: set "
                   "https_proxy=http://USER:PASSWORD@HOST:PORT in the environment instead");
    }
    s.url = std::move(*url);
  }
  auto exempt = env("no_proxy");
  if (!exempt) exempt = env("NO_PROXY");
  if (exempt) s.no_proxy = NoProxy::parse(*exempt);
  return s;
}

}  // namespace pvb
