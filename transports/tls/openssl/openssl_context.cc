#include "transports/tls/openssl/openssl_context.h"

#include <algorithm>
#include <array>

#include "transports/tls/openssl/openssl_engine.h"
#include "transports/tls/tls_cipher_suites.h"

namespace pvb {
namespace {

struct SuiteName {
  std::string_view iana;
  const char* openssl;  // the name SSL_CTX_set_cipher_list / SSL_CTX_set_ciphersuites know
  bool tls13;
};
constexpr std::array<SuiteName, 9> kSuiteNames = {{
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", false},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", false},
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", true},
    {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", true},
    {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", true},
}};

// Every TLS 1.3 suite OpenSSL enables by default is AEAD; we only reorder them like the TLS 1.2
// list (AES-128-GCM first: what a server with AES-NI should pick).
constexpr const char* kDefaultTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// X25519 first (fast), then the NIST curves certificates use (as the mbedTLS backend).
constexpr const char* kGroups = "X25519:P-256:P-384:P-521";

// Accepts IANA names and the dashed spelling of the same names (as the mbedTLS backend does).
std::string normalize_suite_name(std::string_view name) {
  std::string s(name);
  for (char& c : s) {
    if (c == '-') c = '_';
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

const SuiteName* find_suite(std::string_view iana) {
  auto it = std::find_if(kSuiteNames.begin(), kSuiteNames.end(),
                         [&](const SuiteName& s) { return s.iana == iana; });
  return it == kSuiteNames.end() ? nullptr : &*it;
}

void add_to_list(std::string& list, const char* name) {
  if (!list.empty()) list += ':';
  list += name;
}

// Colon-separated OpenSSL lists, one per version; empty = that version was not asked for.
struct SuiteLists {
  std::string tls12;
  std::string tls13;
};

Result<SuiteLists> suite_lists(const std::vector<std::string>& names) {
  SuiteLists lists;
  if (names.empty()) {
    for (std::string_view iana : kTlsAeadCipherSuites)
      add_to_list(lists.tls12, find_suite(iana)->openssl);
    lists.tls13 = kDefaultTls13Suites;
    return lists;
  }
  for (const std::string& name : names) {
    const SuiteName* suite = find_suite(normalize_suite_name(name));
    if (suite == nullptr) {
      std::string allowed;
      for (const SuiteName& s : kSuiteNames) {
        allowed += allowed.empty() ? "" : ", ";
        allowed += s.iana;
      }
      return Error(Errc::usage,
                   "cipher suite " + name +
                       " is not allowed (TLS 1.2 ECDHE with AEAD, or TLS 1.3: " + allowed + ")");
    }
    add_to_list(suite->tls13 ? lists.tls13 : lists.tls12, suite->openssl);
  }
  return lists;
}

Error config_error(std::string_view what) {
  OpensslError e = take_openssl_error();
  return Error(Errc::internal, "TLS configuration failed: " + std::string(what) + ": " + e.text,
               static_cast<int>(e.code));
}

}  // namespace

Error OpensslContext::init_common(const std::vector<std::string>& cipher_suites) {
  ERR_clear_error();
  auto lists = suite_lists(cipher_suites);
  if (!lists.ok()) return lists.error();
  ctx_.reset(SSL_CTX_new(role_ == TlsRole::client ? TLS_client_method() : TLS_server_method()));
  if (!ctx_) return config_error("SSL_CTX_new");
  SSL_CTX* ctx = ctx_.get();
  // TLS 1.2 is our floor; TLS 1.3 is what this backend adds. A version none of whose suites was
  // named is off.
  min_version_ = lists->tls12.empty() ? TLS1_3_VERSION : TLS1_2_VERSION;
  max_version_ = lists->tls13.empty() ? TLS1_2_VERSION : TLS1_3_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min_version_) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max_version_) != 1) {
    return config_error("protocol versions");
  }
  // An empty TLS 1.2 list would be refused even with TLS 1.2 off: give it the default then.
  std::string tls12 = lists->tls12;
  if (tls12.empty()) {
    for (std::string_view iana : kTlsAeadCipherSuites)
      add_to_list(tls12, find_suite(iana)->openssl);
  }
  if (SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1)
    return config_error("TLS 1.2 cipher suites");
  const std::string tls13 = lists->tls13.empty() ? kDefaultTls13Suites : lists->tls13;
  if (SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1)
    return config_error("TLS 1.3 cipher suites");
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) return config_error("key exchange groups");
  // A peer's renegotiation attempt (HelloRequest, or a ClientHello after the handshake) is
  // answered with a no_renegotiation warning and the connection carries on.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Read whole records (several, when they are there) in one BIO call instead of header, then body.
  SSL_CTX_set_read_ahead(ctx, 1);
  return Error();
}

Error OpensslContext::init_client(const TlsClientConfig& config) {
  client_ = config;
  if (Error e = init_common(config.cipher_suites); e.failed()) return e;
  SSL_CTX* ctx = ctx_.get();
  switch (config.verify) {
    case TlsVerify::system_ca:
      if (SSL_CTX_load_verify_file(ctx, config.system_ca_file.c_str()) != 1) {
        OpensslError e = take_openssl_error();
        return Error(Errc::io,
                     "cannot load the system CA bundle " + config.system_ca_file + ": " + e.text,
                     static_cast<int>(e.code));
      }
      break;
    case TlsVerify::ca_file:
      if (config.ca_file.empty() && config.ca_pem.empty()) {
        return Error(Errc::usage, "CA verification needs a CA file");
      }
      if (!config.ca_file.empty() && SSL_CTX_load_verify_file(ctx, config.ca_file.c_str()) != 1) {
        OpensslError e = take_openssl_error();
        return Error(Errc::io, "cannot load CA file " + config.ca_file + ": " + e.text,
                     static_cast<int>(e.code));
      }
      if (!config.ca_pem.empty()) {
        auto certs = openssl_parse_certs(config.ca_pem);
        if (!certs.ok()) {
          return Error(Errc::usage, "cannot parse the CA certificate: " + certs.error().detail(),
                       certs.error().native());
        }
        X509_STORE* store = SSL_CTX_get_cert_store(ctx);
        for (const X509Ptr& crt : certs.value()) {
          if (X509_STORE_add_cert(store, crt.get()) != 1) return config_error("CA store");
        }
      }
      break;
    case TlsVerify::pinned:
      if (config.pins.empty())
        return Error(Errc::usage, "fingerprint pinning needs at least one fingerprint");
      break;
    case TlsVerify::insecure:
      break;
  }
  // Our callback replaces OpenSSL's chain verification in every mode (see OpensslEngine::verify).
  // VERIFY_PEER makes its refusal fatal, with the alert that fits the reason; only the insecure
  // mode, which refuses nothing, runs without it.
  SSL_CTX_set_verify(ctx, config.verify == TlsVerify::insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                     nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, &OpensslEngine::verify_certificate, nullptr);
  if (config.session_cache) {
    // Sessions are handed to us (TLS 1.3 tickets arrive after the handshake) and kept per server
    // name in sessions_, not in OpenSSL's internal cache.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &OpensslEngine::on_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }
  return Error();
}

Error OpensslContext::init_server(const TlsServerConfig& config) {
  if (Error e = init_common(config.cipher_suites); e.failed()) return e;
  SSL_CTX* ctx = ctx_.get();
  auto chain = openssl_parse_certs(config.cert_chain_pem);
  if (!chain.ok()) {
    return Error(Errc::usage, "cannot parse the server certificate: " + chain.error().detail(),
                 chain.error().native());
  }
  auto key = openssl_parse_key(config.key_pem);
  if (!key.ok()) {
    return Error(Errc::usage, "cannot parse the server key: " + key.error().detail(),
                 key.error().native());
  }
  X509* leaf = chain.value().front().get();
  if (X509_check_private_key(leaf, key.value().get()) != 1) {
    OpensslError e = take_openssl_error();
    return Error(Errc::usage, "the server key does not match its certificate: " + e.text,
                 static_cast<int>(e.code));
  }
  if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
    OpensslError e = take_openssl_error();
    return Error(Errc::usage, "the server certificate is refused: " + e.text,
                 static_cast<int>(e.code));
  }
  for (size_t i = 1; i < chain.value().size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain.value()[i].get()) != 1)
      return config_error("certificate chain");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.value().get()) != 1) return config_error("server key");
  // We pick by our order (AES-GCM first), whatever the client prefers.
  SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // Resumption by stateless tickets only (the ticket keys are the SSL_CTX's own, random): no
  // server-side session store to grow, as with the mbedTLS backend.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (config.session_tickets) {
    SSL_CTX_set_num_tickets(ctx, 1);  // our clients keep one session per server name
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  return Error();
}

Result<std::unique_ptr<TlsEngine>> OpensslContext::new_engine(std::string_view server_name) {
  if (role_ == TlsRole::client && server_name.empty() &&
      (client_.verify == TlsVerify::system_ca || client_.verify == TlsVerify::ca_file)) {
    return Error(Errc::usage, "a TLS client verifying a CA chain needs the server name");
  }
  auto engine = std::make_unique<OpensslEngine>(shared_from_this(), std::string(server_name));
  if (Error e = engine->init(); e.failed()) return e;
  return std::unique_ptr<TlsEngine>(std::move(engine));
}

void OpensslContext::resume_session(const std::string& server_name, SSL* ssl) {
  if (!client_.session_cache || server_name.empty()) return;
  auto it = sessions_.find(server_name);
  if (it == sessions_.end()) return;
  SSL_SESSION* session = it->second.get();
  if (SSL_SESSION_is_resumable(session) == 1) SSL_set_session(ssl, session);
  if (SSL_SESSION_is_resumable(session) != 1 ||
      SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION) {
    sessions_.erase(it);
  }
}

void OpensslContext::remember_session(const std::string& server_name, SSL_SESSION* session) {
  SslSessionPtr owned(session);
  if (role_ != TlsRole::client || !client_.session_cache || server_name.empty()) return;
  sessions_[server_name] = std::move(owned);
}

void OpensslContext::forget_sessions(std::string_view server_name) {
  if (server_name.empty()) {
    sessions_.clear();
    return;
  }
  auto it = sessions_.find(server_name);
  if (it != sessions_.end()) sessions_.erase(it);
}

}  // namespace pvb
