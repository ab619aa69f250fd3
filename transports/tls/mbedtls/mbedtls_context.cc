#include "transports/tls/mbedtls/mbedtls_context.h"

#include <algorithm>
#include <array>

#include "transports/tls/mbedtls/mbedtls_engine.h"
#include "transports/tls/tls_cipher_suites.h"

namespace pvb {
namespace {

struct SuiteId {
  std::string_view iana;
  int id;
};
constexpr std::array<SuiteId, 6> kSuiteIds = {{
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
     MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
     MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
}};

// X25519 first (fast), then the NIST curves certificates use; a server certificate on a curve not
// listed here is refused by mbedTLS.
const mbedtls_ecp_group_id kCurves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                        MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
                                        MBEDTLS_ECP_DP_NONE};

// Accepts IANA names and mbedTLS's dashed spelling of the same suites.
std::string normalize_suite_name(std::string_view name) {
  std::string s(name);
  for (char& c : s) {
    if (c == '-') c = '_';
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

Result<std::vector<int>> cipher_ids(const std::vector<std::string>& names) {
  std::vector<int> ids;
  if (names.empty()) {
    for (std::string_view iana : kTlsAeadCipherSuites) {
      for (const SuiteId& s : kSuiteIds) {
        if (s.iana == iana) ids.push_back(s.id);
      }
    }
  }
  for (const std::string& name : names) {
    const std::string want = normalize_suite_name(name);
    auto it = std::find_if(kSuiteIds.begin(), kSuiteIds.end(),
                           [&](const SuiteId& s) { return s.iana == want; });
    if (it == kSuiteIds.end()) {
      std::string allowed;
      for (std::string_view iana : kTlsAeadCipherSuites) {
        allowed += allowed.empty() ? "" : ", ";
        allowed += iana;
      }
      return Error(Errc::usage, "cipher suite " + name +
                                    " is not allowed (TLS 1.2 ECDHE with AEAD only: " + allowed +
                                    ")");
    }
    ids.push_back(it->id);
  }
  ids.push_back(0);
  return ids;
}

// mbedTLS wants PEM text with its terminating NUL counted in the length.
int parse_pem_certs(mbedtls_x509_crt* chain, const std::string& pem) {
  return mbedtls_x509_crt_parse(chain, reinterpret_cast<const unsigned char*>(pem.c_str()),
                                pem.size() + 1);
}

}  // namespace

std::string mbedtls_suite_iana_name(int id) {
  for (const SuiteId& s : kSuiteIds) {
    if (s.id == id) return std::string(s.iana);
  }
  const char* name = mbedtls_ssl_get_ciphersuite_name(id);
  return name ? name : "unknown";
}

MbedtlsContext::MbedtlsContext(TlsRole role) : role_(role) {
  mbedtls_ssl_config_init(&conf_);
  mbedtls_x509_crt_init(&ca_chain_);
  mbedtls_x509_crt_init(&own_chain_);
  mbedtls_pk_init(&own_key_);
  mbedtls_ssl_ticket_init(&tickets_);
}

MbedtlsContext::~MbedtlsContext() {
  sessions_.clear();
  mbedtls_ssl_ticket_free(&tickets_);
  mbedtls_pk_free(&own_key_);
  mbedtls_x509_crt_free(&own_chain_);
  mbedtls_x509_crt_free(&ca_chain_);
  mbedtls_ssl_config_free(&conf_);
}

Error MbedtlsContext::init_common(const std::vector<std::string>& cipher_suites) {
  if (Error e =
          random_.seed(role_ == TlsRole::client ? "pvebridge tls client" : "pvebridge tls server");
      e.failed()) {
    return e;
  }
  const int endpoint = role_ == TlsRole::client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER;
  int ret = mbedtls_ssl_config_defaults(&conf_, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0)
    return Error(Errc::internal, "TLS configuration failed: " + mbedtls_error_text(ret), ret);
  mbedtls_ssl_conf_rng(&conf_, &MbedtlsRandom::generate, random_.drbg());
  // TLS 1.2 is both the floor we accept and the ceiling mbedTLS 2.28 can speak.
  mbedtls_ssl_conf_min_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_max_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  auto ids = cipher_ids(cipher_suites);
  if (!ids.ok()) return ids.error();
  cipher_ids_ = std::move(ids.value());
  mbedtls_ssl_conf_ciphersuites(&conf_, cipher_ids_.data());
  mbedtls_ssl_conf_curves(&conf_, kCurves);
  // A peer's renegotiation attempt is refused with a no_renegotiation alert.
  mbedtls_ssl_conf_renegotiation(&conf_, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  mbedtls_ssl_conf_legacy_renegotiation(&conf_, MBEDTLS_SSL_LEGACY_NO_RENEGOTIATION);
  return Error();
}

Error MbedtlsContext::init_client(const TlsClientConfig& config) {
  client_ = config;
  if (Error e = init_common(config.cipher_suites); e.failed()) return e;
  switch (config.verify) {
    case TlsVerify::system_ca: {
      int ret = mbedtls_x509_crt_parse_file(&ca_chain_, config.system_ca_file.c_str());
      // A positive result counts certificates that failed to parse; the rest are usable.
      if (ret < 0 || ca_chain_.raw.p == nullptr) {
        return Error(Errc::io,
                     "cannot load the system CA bundle " + config.system_ca_file + ": " +
                         mbedtls_error_text(ret),
                     ret);
      }
      break;
    }
    case TlsVerify::ca_file: {
      if (config.ca_file.empty() && config.ca_pem.empty()) {
        return Error(Errc::usage, "CA verification needs a CA file");
      }
      if (!config.ca_file.empty()) {
        int ret = mbedtls_x509_crt_parse_file(&ca_chain_, config.ca_file.c_str());
        if (ret != 0) {
          return Error(Errc::io,
                       "cannot load CA file " + config.ca_file + ": " +
                           (ret < 0 ? mbedtls_error_text(ret)
                                    : std::to_string(ret) + " certificate(s) failed to parse"),
                       ret);
        }
      }
      if (!config.ca_pem.empty()) {
        int ret = parse_pem_certs(&ca_chain_, config.ca_pem);
        if (ret != 0) {
          return Error(Errc::usage,
                       "cannot parse the CA certificate: " +
                           (ret < 0 ? mbedtls_error_text(ret)
                                    : std::to_string(ret) + " certificate(s) failed to parse"),
                       ret);
        }
      }
      break;
    }
    case TlsVerify::pinned:
      if (config.pins.empty())
        return Error(Errc::usage, "fingerprint pinning needs at least one fingerprint");
      break;
    case TlsVerify::insecure:
      break;
  }
  switch (config.verify) {
    case TlsVerify::system_ca:
    case TlsVerify::ca_file:
      mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_REQUIRED);
      mbedtls_ssl_conf_ca_chain(&conf_, &ca_chain_, nullptr);
      break;
    case TlsVerify::pinned:
      // OPTIONAL: mbedTLS still verifies and calls our callback, which fails the handshake on a pin
      // mismatch; REQUIRED would insist on a CA chain we do not have.
      mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_OPTIONAL);
      break;
    case TlsVerify::insecure:
      mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_NONE);
      break;
  }
  mbedtls_ssl_conf_session_tickets(&conf_, config.session_cache
                                               ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                               : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
  return Error();
}

Error MbedtlsContext::init_server(const TlsServerConfig& config) {
  if (Error e = init_common(config.cipher_suites); e.failed()) return e;
  int ret = parse_pem_certs(&own_chain_, config.cert_chain_pem);
  if (ret != 0) {
    return Error(Errc::usage, "cannot parse the server certificate: " + mbedtls_error_text(ret),
                 ret);
  }
  ret = mbedtls_pk_parse_key(&own_key_,
                             reinterpret_cast<const unsigned char*>(config.key_pem.c_str()),
                             config.key_pem.size() + 1, nullptr, 0);
  if (ret != 0)
    return Error(Errc::usage, "cannot parse the server key: " + mbedtls_error_text(ret), ret);
  ret = mbedtls_pk_check_pair(&own_chain_.pk, &own_key_);
  if (ret != 0) {
    return Error(Errc::usage,
                 "the server key does not match its certificate: " + mbedtls_error_text(ret), ret);
  }
  ret = mbedtls_ssl_conf_own_cert(&conf_, &own_chain_, &own_key_);
  if (ret != 0)
    return Error(Errc::internal, "TLS configuration failed: " + mbedtls_error_text(ret), ret);
  mbedtls_ssl_conf_authmode(&conf_, MBEDTLS_SSL_VERIFY_NONE);
  if (config.session_tickets) {
    ret = mbedtls_ssl_ticket_setup(&tickets_, &MbedtlsRandom::generate, random_.drbg(),
                                   MBEDTLS_CIPHER_AES_256_GCM, 24 * 3600);
    if (ret != 0)
      return Error(Errc::internal, "TLS ticket setup failed: " + mbedtls_error_text(ret), ret);
    mbedtls_ssl_conf_session_tickets_cb(&conf_, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse,
                                        &tickets_);
  }
  return Error();
}

Result<std::unique_ptr<TlsEngine>> MbedtlsContext::new_engine(std::string_view server_name) {
  if (role_ == TlsRole::client && server_name.empty() &&
      (client_.verify == TlsVerify::system_ca || client_.verify == TlsVerify::ca_file)) {
    return Error(Errc::usage, "a TLS client verifying a CA chain needs the server name");
  }
  auto engine = std::make_unique<MbedtlsEngine>(shared_from_this(), std::string(server_name));
  if (Error e = engine->init(); e.failed()) return e;
  return std::unique_ptr<TlsEngine>(std::move(engine));
}

bool MbedtlsContext::resume_session(const std::string& server_name,
                                    mbedtls_ssl_context* ssl) const {
  if (!client_.session_cache || server_name.empty()) return false;
  auto it = sessions_.find(server_name);
  if (it == sessions_.end()) return false;
  return mbedtls_ssl_set_session(ssl, &it->second->s) == 0;
}

void MbedtlsContext::remember_session(const std::string& server_name,
                                      const mbedtls_ssl_context* ssl) {
  if (role_ != TlsRole::client || !client_.session_cache || server_name.empty()) return;
  auto session = std::make_unique<Session>();
  if (mbedtls_ssl_get_session(ssl, &session->s) != 0) return;
  sessions_[server_name] = std::move(session);
}

void MbedtlsContext::forget_sessions(std::string_view server_name) {
  if (server_name.empty()) {
    sessions_.clear();
    return;
  }
  auto it = sessions_.find(server_name);
  if (it != sessions_.end()) sessions_.erase(it);
}

}  // namespace pvb
