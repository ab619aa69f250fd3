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

namespace {

// A backend's context for `role`, initialised from `config` by that role's init.
template <class Backend, class Config>
Result<std::shared_ptr<TlsContext>> make_context(TlsRole role, const Config& config,
                                                 Error (Backend::*init)(const Config&)) {
  auto ctx = std::make_shared<Backend>(role);
  if (Error e = ((*ctx).*init)(config); e.failed()) return e;
  return std::shared_ptr<TlsContext>(std::move(ctx));
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::create_client(const TlsClientConfig& config) {
  switch (config.backend) {
    case TlsBackendKind::mbedtls:
      return make_context(TlsRole::client, config, &MbedtlsContext::init_client);
    case TlsBackendKind::openssl:
      return make_context(TlsRole::client, config, &OpensslContext::init_client);
  }
  return Error(Errc::internal, "unknown TLS backend");
}

Result<std::shared_ptr<TlsContext>> TlsContext::create_server(const TlsServerConfig& config) {
  switch (config.backend) {
    case TlsBackendKind::mbedtls:
      return make_context(TlsRole::server, config, &MbedtlsContext::init_server);
    case TlsBackendKind::openssl:
      return make_context(TlsRole::server, config, &OpensslContext::init_server);
  }
  return Error(Errc::internal, "unknown TLS backend");
}

}  // namespace pvb
