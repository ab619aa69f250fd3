// The OpenSSL 3 implementation of TlsContext: one SSL_CTX per role (versions, suites, groups, CA
// store or own certificate and ticket keys) and the client's per-host session cache. Shared by
// every connection of the role; used from one loop thread.
//
// Versions: TLS 1.2 and 1.3. A cipher_suites list in the config may name TLS 1.2 suites (the
// AEAD list of tls_cipher_suites.h) and TLS 1.3 ones (TLS_AES_128_GCM_SHA256,
// TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256); a version none of whose suites is named
// is switched off, so the connection always uses a suite that was asked for.
#pragma once

#include <openssl/ssl.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "transports/tls/openssl/openssl_util.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

class OpensslContext : public TlsContext, public std::enable_shared_from_this<OpensslContext> {
 public:
  // Made by TlsContext::create_client / create_server, which call the init of their role.
  explicit OpensslContext(TlsRole role) : role_(role) {}
  Error init_client(const TlsClientConfig& config);
  Error init_server(const TlsServerConfig& config);

  TlsRole role() const override { return role_; }
  TlsBackendKind backend() const override { return TlsBackendKind::openssl; }
  Result<std::unique_ptr<TlsEngine>> new_engine(std::string_view server_name) override;
  void forget_sessions(std::string_view server_name = {}) override;

  // For engines.
  SSL_CTX* ssl_ctx() const { return ctx_.get(); }
  const TlsClientConfig& client_config() const { return client_; }
  int min_version() const { return min_version_; }
  int max_version() const { return max_version_; }
  // Puts the cached session for server_name into ssl, if there is a resumable one. A TLS 1.3
  // session leaves the cache as it is used: its ticket is single-use (RFC 8446 C.4), and the
  // server sends a fresh one on the resumed connection.
  void resume_session(const std::string& server_name, SSL* ssl);
  // Keeps `session` (takes over the caller's reference) as server_name's newest.
  void remember_session(const std::string& server_name, SSL_SESSION* session);

 private:
  Error init_common(const std::vector<std::string>& cipher_suites);

  TlsRole role_;
  TlsClientConfig client_;
  SslCtxPtr ctx_;
  int min_version_ = TLS1_2_VERSION;
  int max_version_ = TLS1_3_VERSION;
  std::map<std::string, SslSessionPtr, std::less<>> sessions_;
};

}  // namespace pvb
