// Test certificates: ECDSA P-256 keys, self-signed or issued by a generated CA, with DNS and IP
// subjectAltNames. Used by the TLS tests and by the mock pveproxy (which makes its own at start:
// a P-256 key and a signature take a few milliseconds).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/fingerprint.h"

namespace pvb {

struct GeneratedCert {
  std::string cert_pem;
  std::string key_pem;
  std::vector<uint8_t> der;
  Sha256Fingerprint fingerprint{};
};

struct CertSpec {
  // Default member initializers everywhere so designated initializers may leave any field out.
  std::string common_name{};
  std::vector<std::string> dns_sans{};
  std::vector<std::string> ip_sans{};  // v4 or v6 literals
  bool is_ca = false;
  const GeneratedCert* issuer = nullptr;  // null = self-signed
  int valid_days = 30;
  // Seconds from now to notBefore (negative = in the past). The validity runs valid_days from
  // there, so an expired certificate is {.valid_days = 1, .not_before_offset = -2 * 86400}.
  int64_t not_before_offset = -3600;
};

Result<GeneratedCert> generate_cert(const CertSpec& spec);

}  // namespace pvb
