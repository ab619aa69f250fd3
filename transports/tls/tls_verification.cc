#include "transports/tls/tls_verification.h"

#include <algorithm>

#include "engine/io/fingerprint.h"

namespace pvb {

bool TlsVerification::check_pin(std::span<const uint8_t> leaf_der) {
  const Sha256Fingerprint got = sha256_fingerprint(leaf_der);
  const auto& pins = config_.pins;
  if (std::find(pins.begin(), pins.end(), got) != pins.end()) return true;
  // "expected A (or B or C)"
  std::string expected = pins.empty() ? "a pinned certificate" : format_fingerprint(pins.front());
  for (size_t i = 1; i < pins.size(); ++i) {
    expected += i == 1 ? " (or " : " or ";
    expected += format_fingerprint(pins[i]);
  }
  if (pins.size() > 1) expected += ")";
  error_ = Error(Errc::tls_verify, "certificate fingerprint mismatch: expected " + expected +
                                       ", got " + format_fingerprint(got));
  return false;
}

void TlsVerification::refuse_chain(std::string_view why, std::string_view issuer,
                                   std::string_view subject, int code) {
  error_ = Error(Errc::tls_verify,
                 "certificate not trusted: " + std::string(why) + ", issuer " +
                     std::string(issuer) + ", subject " + std::string(subject),
                 code);
}

bool TlsVerification::check_name(const CertNames& leaf_names) {
  Error name = check_host_name(server_name_, leaf_names);
  if (name.ok()) return true;
  error_ = std::move(name);
  return false;
}

void TlsVerification::report(std::vector<std::vector<uint8_t>> chain_der_leaf_first) const {
  if (!config_.on_rejected) return;
  TlsRejection rejection;
  rejection.server_name = server_name_;
  rejection.chain_der = std::move(chain_der_leaf_first);
  rejection.reason = error_;
  config_.on_rejected(rejection);
}

}  // namespace pvb
