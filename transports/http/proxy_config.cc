#include "transports/http/proxy_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "engine/core/base64.h"
#include "engine/core/text.h"
#include "engine/core/url.h"

namespace pvb {
namespace {

Error bad_proxy(std::string_view why) {
  return Error(Errc::usage, "invalid proxy URL: " + std::string(why));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// 4 or 16 network-order bytes for an IPv4 or IPv6 literal (brackets allowed); empty otherwise.
std::vector<uint8_t> ip_bytes(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  uint8_t buf[16];
  if (inet_pton(AF_INET, h.c_str(), buf) == 1) return {buf, buf + 4};
  if (inet_pton(AF_INET6, h.c_str(), buf) == 1) return {buf, buf + 16};
  return {};
}

bool same_prefix(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, unsigned bits) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size() && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const auto mask = static_cast<uint8_t>(0xFF << (8 - take));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

// Drops a ":port" from an entry: "name:1", "[v6]:1"; a bare IPv6 literal keeps its colons.
std::string_view without_port(std::string_view entry) {
  if (entry.front() == '[') {
    auto close = entry.find(']');
    return close == std::string_view::npos ? entry : entry.substr(1, close - 1);
  }
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    return entry.substr(0, colon);
  }
  return entry;
}

}  // namespace

std::string ProxyUrl::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string ProxyUrl::basic_authorization() const {
  return "Basic " + base64_encode(username + ":" + password);
}

Result<ProxyUrl> parse_proxy_url(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) return bad_proxy("empty URL");
  std::string_view rest = text;
  if (auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    const std::string scheme = lower(rest.substr(0, scheme_end));
    if (scheme != "http") {
      return bad_proxy("'" + printable(scheme) +
                       "://' is not supported: pvebridge speaks to HTTP proxies (CONNECT), "
                       "give http://HOST:PORT");
    }
    rest.remove_prefix(scheme_end + 3);
  }
  // The authority ends at the first '/', '?' or '#'; only an empty path ("/") may follow.
  const auto end = rest.find_first_of("/?#");
  if (end != std::string_view::npos) {
    if (rest.substr(end) != "/") return bad_proxy("a proxy URL has no path or query");
    rest = rest.substr(0, end);
  }
  ProxyUrl url;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    auto user = url_decode(userinfo.substr(0, colon), false);
    auto pass = colon == std::string_view::npos ? std::optional<std::string>("")
                                                : url_decode(userinfo.substr(colon + 1), false);
    if (!user || !pass) return bad_proxy("malformed %-escape in the credentials");
    url.username = std::move(*user);
    url.password = std::move(*pass);
    if (url.username.empty()) return bad_proxy("credentials without a user name");
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad_proxy("missing ']' after an IPv6 address");
    url.host = std::string(rest.substr(1, close - 1));
    if (ip_bytes(url.host).size() != 16) {
      return bad_proxy("'" + printable(url.host) + "' is not an IPv6 address");
    }
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_proxy("junk after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return bad_proxy("empty port");
    }
  } else {
    const auto colon = rest.rfind(':');
    url.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return bad_proxy("empty port");
    }
    if (url.host.find(':') != std::string::npos) {
      return bad_proxy("an IPv6 proxy address needs brackets: http://[fd00::3]:3128");
    }
  }
  if (url.host.empty()) return bad_proxy("no host in '" + printable(url.authority()) + "'");
  for (unsigned char c : url.host) {
    if (c <= 0x20 || c == 0x7f || c == '@' || c == '[' || c == ']' || c == '%') {
      return bad_proxy("invalid host name '" + printable(url.host) + "'");
    }
  }
  url.host = lower(url.host);
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return bad_proxy("invalid port '" + printable(port_text) + "'");
    }
    url.port = static_cast<uint16_t>(port);
  }
  return url;
}

NoProxy NoProxy::parse(std::string_view list) {
  NoProxy np;
  while (!list.empty()) {
    const auto sep = list.find_first_of(", \t");
    std::string_view entry = list.substr(0, sep);
    list.remove_prefix(sep == std::string_view::npos ? list.size() : sep + 1);
    if (entry.empty()) continue;
    if (entry == "*") {
      np.all_ = true;
      continue;
    }
    // CIDR "10.0.0.0/8", "fd00::/8".
    if (auto slash = entry.find('/'); slash != std::string_view::npos) {
      std::vector<uint8_t> address = ip_bytes(entry.substr(0, slash));
      std::string_view bits_text = entry.substr(slash + 1);
      unsigned bits = 0;
      auto [p, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
      if (!address.empty() && ec == std::errc() && p == bits_text.data() + bits_text.size() &&
          bits <= address.size() * 8) {
        np.networks_.push_back({std::move(address), bits});
      }
      continue;  // a malformed network exempts nothing
    }
    std::string_view host = without_port(entry);
    if (std::vector<uint8_t> address = ip_bytes(host); !address.empty()) {
      const auto bits = static_cast<unsigned>(address.size() * 8);
      np.networks_.push_back({std::move(address), bits});
      continue;
    }
    if (host.starts_with("*.")) host.remove_prefix(1);
    while (!host.empty() && host.front() == '.') host.remove_prefix(1);
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (!host.empty()) np.domains_.push_back(lower(host));
  }
  return np;
}

bool NoProxy::matches(std::string_view host) const {
  if (all_) return true;
  if (std::vector<uint8_t> address = ip_bytes(host); !address.empty()) {
    return std::any_of(networks_.begin(), networks_.end(), [&](const Network& n) {
      return same_prefix(n.address, address, n.prefix_bits);
    });
  }
  std::string name = lower(host);
  while (!name.empty() && name.back() == '.') name.pop_back();
  return std::any_of(domains_.begin(), domains_.end(), [&](const std::string& d) {
    if (name == d) return true;
    return name.size() > d.size() && name.ends_with(d) && name[name.size() - d.size() - 1] == '.';
  });
}

}  // namespace pvb
