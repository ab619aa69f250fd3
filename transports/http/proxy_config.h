// Which connections go through an HTTP proxy, and which proxy: the proxy URL (--proxy,
// https_proxy) and the no_proxy exemptions. Pure (no I/O, no DNS), so it is unit-tested as text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb {

struct ProxyUrl {
  std::string host;  // DNS name or IP literal, without brackets
  uint16_t port = 80;
  std::string username;  // percent-decoded; empty: no credentials
  std::string password;
  bool has_credentials() const { return !username.empty() || !password.empty(); }
  // "proxy.example.com:3128", "[fd00::3]:3128": for messages (never the credentials).
  std::string authority() const;
  // The Proxy-Authorization value: "Basic base64(username:password)".
  std::string basic_authorization() const;
};

// "http://[USER[:PASSWORD]@]HOST[:PORT][/]", or the same without "http://" (as curl and most tools
// take https_proxy). The port defaults to 80, as in any http URL. Other schemes (https, socks),
// paths, queries and bad ports are Errc::usage; messages never repeat the credentials.
Result<ProxyUrl> parse_proxy_url(std::string_view text);

// no_proxy / NO_PROXY: a comma- (or space-) separated list of exemptions, case-insensitive:
//   *                    every host
//   example.com          example.com and every name under it (as .example.com does)
//   .example.com         the same
//   192.0.2.10, fd00::1  that address, when the host is given as that address
//   10.0.0.0/8           addresses in that network, when the host is given as an address
// Ports in entries ("example.com:8006") are ignored; names are never resolved to match addresses.
class NoProxy {
 public:
  static NoProxy parse(std::string_view list);
  // host: a DNS name or an IP literal (brackets allowed).
  bool matches(std::string_view host) const;
  bool empty() const { return !all_ && domains_.empty() && networks_.empty(); }

 private:
  struct Network {
    std::vector<uint8_t> address;  // 4 or 16 bytes
    unsigned prefix_bits = 0;
  };
  bool all_ = false;
  std::vector<std::string> domains_;  // lower case, no leading or trailing dot
  std::vector<Network> networks_;
};

}  // namespace pvb
