// Certificates as trust on first use shows and checks them: a one-screen summary of a DER
// certificate, PEM <-> DER, and "would this chain verify with that CA as the only anchor?" (so a
// CA is offered only when trusting it works). Backend-neutral; implemented with mbedTLS in
// mbedtls/mbedtls_cert_inspect.cc, whatever backend the connections use.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/fingerprint.h"

namespace pvb {

struct CertSummary {
  std::string subject;     // "CN=pve1.example.com, O=PVE Cluster Node"
  std::string issuer;      // the same for the issuer
  std::string not_before;  // "2024-05-01" (UTC)
  std::string not_after;
  bool is_ca = false;        // basicConstraints CA:TRUE
  bool self_issued = false;  // issuer name == subject name (a root, when it is a CA)
  Sha256Fingerprint fingerprint{};
};

// Errc::protocol when `der` is not one X.509 certificate.
Result<CertSummary> summarize_certificate(std::span<const uint8_t> der);

// "-----BEGIN CERTIFICATE-----\n<base64, 64 per line>\n-----END CERTIFICATE-----\n"
std::string certificate_pem(std::span<const uint8_t> der);
// Every certificate of a PEM text, in order; Errc::usage if there is none or one is broken.
Result<std::vector<std::vector<uint8_t>>> certificates_from_pem(std::string_view pem);

// Whether `chain` (DER, leaf first, as a server sent it) verifies with `ca` as the one trust anchor
// (signatures, validity, CA constraints) and the leaf is for `server_name` (the same host name
// check as the connections; empty: not checked). ok, or Errc::tls_verify saying why not.
Error verify_chain_with_ca(const std::vector<std::vector<uint8_t>>& chain,
                           std::span<const uint8_t> ca, std::string_view server_name);

}  // namespace pvb
