// The TLS suite runs against every pair of backends: each test is instantiated for an mbedTLS and
// an OpenSSL pair and for the two mixed pairs (OpenSSL client to mbedTLS server and the reverse),
// so the same behaviour is checked for both implementations and their interoperation at once.
// Where the libraries legitimately differ (the version two OpenSSL ends agree on, library error
// codes, the alert a refusing client sends), the test asks the pair what to expect.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tls_test_util.h"

namespace pvb::tls_test {

struct BackendPair {
  TlsBackendKind client;
  TlsBackendKind server;
  // TLS 1.3 needs both ends on OpenSSL (mbedTLS 2.28 stops at TLS 1.2).
  bool tls13() const {
    return client == TlsBackendKind::openssl && server == TlsBackendKind::openssl;
  }
  std::string version() const { return tls13() ? "TLSv1.3" : "TLSv1.2"; }
  // What our servers pick by default for an ECDSA certificate.
  std::string default_suite() const {
    return tls13() ? "TLS_AES_128_GCM_SHA256" : "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
  }
};

inline const char* backend_name(TlsBackendKind kind) {
  switch (kind) {
    case TlsBackendKind::mbedtls:
      return "mbedtls";
    case TlsBackendKind::openssl:
      return "openssl";
  }
  return "unknown";
}

inline std::string pair_name(const BackendPair& p) {
  if (p.client == p.server) return backend_name(p.client);
  return std::string(backend_name(p.client)) + "_to_" + backend_name(p.server);
}

inline std::string pair_param_name(const ::testing::TestParamInfo<BackendPair>& info) {
  return pair_name(info.param);
}

inline std::string backend_param_name(const ::testing::TestParamInfo<TlsBackendKind>& info) {
  return backend_name(info.param);
}

inline auto all_backend_pairs() {
  return ::testing::Values(BackendPair{TlsBackendKind::mbedtls, TlsBackendKind::mbedtls},
                           BackendPair{TlsBackendKind::openssl, TlsBackendKind::openssl},
                           BackendPair{TlsBackendKind::openssl, TlsBackendKind::mbedtls},
                           BackendPair{TlsBackendKind::mbedtls, TlsBackendKind::openssl});
}

inline auto all_backends() {
  return ::testing::Values(TlsBackendKind::mbedtls, TlsBackendKind::openssl);
}

inline std::shared_ptr<TlsContext> server_on(TlsBackendKind backend, const GeneratedCert& leaf,
                                             const GeneratedCert* ca = nullptr,
                                             std::vector<std::string> ciphers = {}) {
  TlsServerConfig config;
  config.backend = backend;
  config.cert_chain_pem = chain_pem(leaf, ca);
  config.key_pem = leaf.key_pem;
  config.cipher_suites = std::move(ciphers);
  auto ctx = TlsContext::create_server(config);
  if (!ctx.ok()) {
    ADD_FAILURE() << "create_server(" << backend_name(backend) << "): " << ctx.error().message();
    return nullptr;
  }
  EXPECT_EQ(ctx.value()->backend(), backend);
  return ctx.value();
}

inline std::shared_ptr<TlsContext> client_on(TlsBackendKind backend, TlsClientConfig config) {
  config.backend = backend;
  auto ctx = client_context(config);
  if (ctx) {
    EXPECT_EQ(ctx->backend(), backend);
  }
  return ctx;
}

// A test body with the pair's contexts at hand.
class BackendPairTest : public ::testing::TestWithParam<BackendPair> {
 protected:
  BackendPair pair() const { return GetParam(); }
  std::shared_ptr<TlsContext> client(TlsClientConfig config) const {
    return client_on(pair().client, std::move(config));
  }
  std::shared_ptr<TlsContext> server(const GeneratedCert& leaf, const GeneratedCert* ca = nullptr,
                                     std::vector<std::string> ciphers = {}) const {
    return server_on(pair().server, leaf, ca, std::move(ciphers));
  }
  // The usual pair: a client trusting the test CA, a server with the leaf and that CA.
  std::shared_ptr<TlsContext> trusting_client() const { return client(ca_config(pki().ca)); }
  std::shared_ptr<TlsContext> leaf_server() const { return server(pki().leaf, &pki().ca); }
};

}  // namespace pvb::tls_test
