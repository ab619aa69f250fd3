// What a TLS context is made from. Backend-neutral: the same configuration drives the mbedTLS
// and the OpenSSL backend.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/tls_trust.h"

namespace pvb {

// Which TLS library implements a context. mbedTLS 2.28 (Debian 12) speaks TLS 1.2 only; OpenSSL 3
// speaks TLS 1.2 and 1.3 and its AES-GCM is an order of magnitude faster (DEPENDENCIES.md).
enum class TlsBackendKind { mbedtls, openssl };

// The backend programs use unless told otherwise: OpenSSL, whose AES-GCM runs ~14x faster than
// Debian's mbedTLS on the same core (bench/README: tls_backend_throughput), so the cipher does not
// cap a console. mbedTLS stays the reference implementation, chosen with `--tls-backend mbedtls`.
inline constexpr TlsBackendKind kDefaultTlsBackend = TlsBackendKind::openssl;

// "mbedtls" / "openssl": the names `--tls-backend` takes and logs print. Inline: the option
// parsers name backends without linking the TLS libraries.
inline std::string_view tls_backend_name(TlsBackendKind kind) {
  return kind == TlsBackendKind::openssl ? "openssl" : "mbedtls";
}
inline std::optional<TlsBackendKind> parse_tls_backend(std::string_view name) {
  if (name == "mbedtls") return TlsBackendKind::mbedtls;
  if (name == "openssl") return TlsBackendKind::openssl;
  return std::nullopt;
}

// The trust (engine/io/tls_trust.h) plus what only the TLS library needs.
struct TlsClientConfig : TlsTrust {
  TlsBackendKind backend = TlsBackendKind::mbedtls;
  // Empty: the default AEAD list (ECDHE with AES-GCM and ChaCha20-Poly1305). Otherwise a subset of
  // it, by IANA name ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"), in preference order.
  // The OpenSSL backend also takes TLS 1.3 names (see openssl/openssl_context.h).
  std::vector<std::string> cipher_suites;
  // Resume sessions (tickets) per server name, so a REST connection and the WebSocket to the same
  // node do one full handshake between them.
  bool session_cache = true;
};

struct TlsServerConfig {
  TlsBackendKind backend = TlsBackendKind::mbedtls;
  std::string cert_chain_pem;  // leaf first, then intermediates
  std::string key_pem;
  // Same rules as the client's; the server picks by its own order (AES-GCM first by default).
  std::vector<std::string> cipher_suites;
  bool session_tickets = true;
};

}  // namespace pvb
