// The mbedTLS implementation of TlsContext: one ssl_config, CA chain, DRBG, own certificate and
// ticket keys (server), and the client's per-host session cache. Shared by every connection of the
// role; used from one loop thread.
#pragma once

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "transports/tls/mbedtls/mbedtls_random.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

class MbedtlsContext : public TlsContext, public std::enable_shared_from_this<MbedtlsContext> {
 public:
  // Made by TlsContext::create_client / create_server, which call the init of their role.
  explicit MbedtlsContext(TlsRole role);
  Error init_client(const TlsClientConfig& config);
  Error init_server(const TlsServerConfig& config);
  ~MbedtlsContext() override;

  TlsRole role() const override { return role_; }
  TlsBackendKind backend() const override { return TlsBackendKind::mbedtls; }
  Result<std::unique_ptr<TlsEngine>> new_engine(std::string_view server_name) override;
  void forget_sessions(std::string_view server_name = {}) override;

  // For engines.
  const mbedtls_ssl_config* conf() const { return &conf_; }
  const TlsClientConfig& client_config() const { return client_; }
  // Puts the cached session for server_name into ssl (if any); false if there was none.
  bool resume_session(const std::string& server_name, mbedtls_ssl_context* ssl) const;
  void remember_session(const std::string& server_name, const mbedtls_ssl_context* ssl);

 private:
  struct Session {
    Session() { mbedtls_ssl_session_init(&s); }
    ~Session() { mbedtls_ssl_session_free(&s); }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    mbedtls_ssl_session s;
  };

  Error init_common(const std::vector<std::string>& cipher_suites);

  TlsRole role_;
  TlsClientConfig client_;
  MbedtlsRandom random_;
  mbedtls_ssl_config conf_;
  mbedtls_x509_crt ca_chain_;
  mbedtls_x509_crt own_chain_;
  mbedtls_pk_context own_key_;
  mbedtls_ssl_ticket_context tickets_;
  std::vector<int> cipher_ids_;  // 0-terminated; mbedTLS keeps the pointer
  std::map<std::string, std::unique_ptr<Session>, std::less<>> sessions_;
};

}  // namespace pvb
