// Which HTTP proxy (CONNECT) a command uses: --proxy, else the https_proxy / HTTPS_PROXY
// environment, minus the hosts no_proxy / NO_PROXY exempts. all_proxy is deliberately not read:
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
  std::string source;  // "--proxy", "https_proxy" or "HTTPS_PROXY" (for --verbose)
  // The proxy a connection to `host` goes through, or null to connect directly.
  const ProxyUrl* for_host(std::string_view host) const;
};

// flag: the --proxy value, if given. Errc::usage for a malformed URL, or for credentials on the
// command line (they belong in https_proxy, which other users cannot read in `ps`).
// Environment variables holding proxy credentials are added to secret_env_names (so the viewer
// and other children never inherit them).
Result<ProxySettings> proxy_settings(
    const std::optional<std::string>& flag,
    const std::function<std::optional<std::string>(const std::string&)>& env,
    std::vector<std::string>& secret_env_names);

}  // namespace pvb
