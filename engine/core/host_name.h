// Our own check of the name we connected to against the peer certificate's names. mbedTLS 2.28
// ignores iPAddress subjectAltNames, and Proxmox nodes are reached by IP all the time, so the check
// is ours for every backend: DNS names with RFC 6125 wildcards, IP literals against iPAddress SANs
// by binary address, the common name only when the certificate has no SAN at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb {

// The names a certificate presents, as the backend extracted them.
struct CertNames {
  bool has_san = false;                   // a subjectAltName extension exists (any entry types)
  std::vector<std::string> dns;           // dNSName entries
  std::vector<std::vector<uint8_t>> ips;  // iPAddress entries: 4 or 16 bytes
  std::string common_name;                // the subject's (last) CN, empty if none
};

// An IP literal as network-order bytes (4 or 16); nullopt for anything else. Accepts "[v6]".
std::optional<std::vector<uint8_t>> parse_ip_literal(std::string_view host);
bool is_ip_literal(std::string_view host);
std::string format_ip(const std::vector<uint8_t>& address);

// RFC 6125 matching of one DNS pattern: case-insensitive, one trailing dot ignored, a wildcard only
// as the whole left-most label of a pattern with at least two more labels ("*.example.com"), and
// it stands for exactly one non-empty label.
bool dns_name_matches(std::string_view pattern, std::string_view host);

// ok, or Errc::tls_verify "host name mismatch: connected to X, certificate is for A, B".
Error check_host_name(std::string_view host, const CertNames& names);

}  // namespace pvb
