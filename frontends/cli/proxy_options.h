// Which HTTP proxy (CONNECT) a command uses: --proxy, else the https_proxy / HTTPS_PROXY
// environment, else the config file profile's `proxy` key, minus the hosts no_proxy / NO_PROXY
// exempts. no_proxy comes from the environment only and applies to the proxy whatever its source
// (so `no_proxy='*'` also bypasses a profile's proxy for one command); a profile has no no_proxy
// key: a profile whose hosts are reached directly simply names no proxy. all_proxy is deliberately
// not read:
// it usually names a SOCKS proxy, which pvebridge does not speak (and a console must not silently
// take another way than the one configured). Pure: the environment comes in as a lookup.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "transports/http/proxy_config.h"

namespace pvb {

struct ProxySettings {
  std::optional<ProxyUrl> url;  // nullopt: every connection goes direct
  NoProxy no_proxy;
  std::string source;  // "--proxy", "https_proxy", "HTTPS_PROXY" or "the config file"
                       // (for --verbose)
  // The proxy a connection to `host` goes through, or null to connect directly.
  const ProxyUrl* for_host(std::string_view host) const;
};

// flag: the --proxy value, if given; profile: the profile's `proxy` (checked by load_profile,
// without credentials). Errc::usage for a malformed URL, or for credentials on the command line or
// in the profile (they belong in https_proxy, which other users cannot read in `ps` or in a shared
// file). Environment variables holding proxy credentials are added to secret_env_names (so the
// viewer and other children never inherit them).
Result<ProxySettings> proxy_settings(
    const std::optional<std::string>& flag,
    const std::function<std::optional<std::string>(const std::string&)>& env,
    std::vector<std::string>& secret_env_names,
    const std::optional<std::string>& profile = std::nullopt);

}  // namespace pvb
