// The client's verification sequence, the same for every backend: pinned (the leaf's fingerprint
// against the pins; neither the chain nor the name matter), or a CA (the library's verdict on the
// chain, then our host-name check, the same for every backend: DNS names with RFC 6125 wildcards,
// IP literals against IP SANs), each refusal handed to TlsClientConfig::on_rejected before the
// handshake fails with it. A backend supplies only what its library knows: the leaf's DER, its
// verdict on the chain, the names in the leaf, and the chain as the server sent it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/host_name.h"
#include "transports/tls/tls_config.h"

namespace pvb {

class TlsVerification {
 public:
  // `config` outlives this (it is the context's).
  TlsVerification(const TlsClientConfig& config, std::string server_name)
      : config_(config), server_name_(std::move(server_name)) {}

  TlsVerify mode() const { return config_.verify; }
  // Pinned: true if the leaf is one of the pins; otherwise the mismatch is recorded.
  bool check_pin(std::span<const uint8_t> leaf_der);
  // A CA: the library refused the chain (`why`: its words; `code`: its error code, or 0).
  void refuse_chain(std::string_view why, std::string_view issuer, std::string_view subject,
                    int code = 0);
  // A CA, the chain trusted: true if the leaf names the server; otherwise the mismatch is recorded.
  bool check_name(const CertNames& leaf_names);
  // Records a refusal a backend found by itself (no certificate at all).
  void refuse(Error why) { error_ = std::move(why); }
  // Hands the recorded refusal to on_rejected (when set), with the chain the server sent.
  void report(std::vector<std::vector<uint8_t>> chain_der_leaf_first) const;

  // Why the peer was refused; ok while it was not.
  const Error& error() const { return error_; }

 private:
  const TlsClientConfig& config_;
  std::string server_name_;
  Error error_;
};

}  // namespace pvb
