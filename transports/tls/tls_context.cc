#include "transports/tls/mbedtls/mbedtls_context.h"
#include "transports/tls/openssl/openssl_context.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

TlsCopyStats& tls_copy_stats() {
  static thread_local TlsCopyStats stats;
  return stats;
}

TlsHandshakeStats& tls_handshake_stats() {
  static thread_local TlsHandshakeStats stats;
  return stats;
}

std::optional<Sha256Fingerprint> TlsEngine::peer_fingerprint() const {
  const auto chain = peer_chain_der();
  if (chain.empty()) return std::nullopt;
  return sha256_fingerprint(chain.front());
}

Result<std::shared_ptr<TlsContext>> TlsContext::create_client(const TlsClientConfig& config) {
  switch (config.backend) {
    case TlsBackendKind::mbedtls:
      return MbedtlsContext::create_client(config);
    case TlsBackendKind::openssl:
      return OpensslContext::create_client(config);
  }
  return Error(Errc::internal, "unknown TLS backend");
}

Result<std::shared_ptr<TlsContext>> TlsContext::create_server(const TlsServerConfig& config) {
  switch (config.backend) {
    case TlsBackendKind::mbedtls:
      return MbedtlsContext::create_server(config);
    case TlsBackendKind::openssl:
      return OpensslContext::create_server(config);
  }
  return Error(Errc::internal, "unknown TLS backend");
}

}  // namespace pvb
