#include "engine/core/host_name.h"
#include "engine/core/text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace pvb {
namespace {

std::string_view without_trailing_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

std::string presented_names(const CertNames& names) {
  std::string out;
  auto add = [&out](const std::string& s) {
    if (!out.empty()) out += ", ";
    out += s;
  };
  if (names.has_san) {
    for (const std::string& d : names.dns) add(d);
    for (const auto& ip : names.ips) add(format_ip(ip));
    if (out.empty()) out = "(no DNS or IP names in its subjectAltName)";
  } else if (!names.common_name.empty()) {
    add("CN=" + names.common_name);
  } else {
    out = "(no names at all)";
  }
  return out;
}

}  // namespace

std::optional<std::vector<uint8_t>> parse_ip_literal(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host.size() > 45) return std::nullopt;
  const std::string s(host);
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return std::vector<uint8_t>(buf, buf + 4);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return std::vector<uint8_t>(buf, buf + 16);
  return std::nullopt;
}

bool is_ip_literal(std::string_view host) {
  return parse_ip_literal(host).has_value();
}

std::string format_ip(const std::vector<uint8_t>& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.size() == 4 && inet_ntop(AF_INET, address.data(), text, sizeof text)) return text;
  if (address.size() == 16 && inet_ntop(AF_INET6, address.data(), text, sizeof text)) return text;
  return "(malformed address of " + std::to_string(address.size()) + " bytes)";
}

bool dns_name_matches(std::string_view pattern, std::string_view host) {
  pattern = without_trailing_dot(pattern);
  host = without_trailing_dot(host);
  if (pattern.empty() || host.empty() || host.find('*') != std::string_view::npos) return false;
  if (pattern.substr(0, 2) != "*.") {
    // A '*' anywhere else is not a wildcard we honour ("f*.example.com", "a.*.com").
    if (pattern.find('*') != std::string_view::npos) return false;
    return ascii_iequals(pattern, host);
  }
  const std::string_view suffix = pattern.substr(1);  // ".example.com"
  // At least two labels after the wildcard: "*.com" would match a whole top-level domain.
  if (std::count(suffix.begin(), suffix.end(), '.') < 2 ||
      suffix.find('*') != std::string_view::npos)
    return false;
  const size_t first_dot = host.find('.');
  if (first_dot == 0 || first_dot == std::string_view::npos) return false;
  return ascii_iequals(host.substr(first_dot), suffix);
}

Error check_host_name(std::string_view host, const CertNames& names) {
  bool matched = false;
  if (auto ip = parse_ip_literal(host)) {
    // IP literals only ever match iPAddress SANs, byte for byte.
    matched = std::find(names.ips.begin(), names.ips.end(), *ip) != names.ips.end();
  } else if (names.has_san) {
    matched = std::any_of(names.dns.begin(), names.dns.end(),
                          [&](const std::string& d) { return dns_name_matches(d, host); });
  } else {
    matched = dns_name_matches(names.common_name, host);
  }
  if (matched) return Error();
  return Error(Errc::tls_verify, "host name mismatch: connected to " + std::string(host) +
                                     ", certificate is for " + presented_names(names));
}

}  // namespace pvb
