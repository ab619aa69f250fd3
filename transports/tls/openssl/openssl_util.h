// Small OpenSSL helpers for the backend: the thread's error queue as text, owning pointers,
// PEM parsing from memory, certificate names and descriptions.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/host_name.h"

namespace pvb {

struct OpensslFree {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpensslFree>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, OpensslFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpensslFree>;

// The error that explains a failed call, taken off this thread's OpenSSL error queue (which is
// left empty): the first one libssl raised, else the first one queued. code 0: nothing was queued.
struct OpensslError {
  unsigned long code = 0;
  std::string text;  // "SSL routines - decryption failed or bad record mac (0x0A000119)"
  int lib() const { return ERR_GET_LIB(code); }
  int reason() const { return ERR_GET_REASON(code); }
  bool from_ssl() const { return code != 0 && lib() == ERR_LIB_SSL; }
};
OpensslError take_openssl_error();
std::string openssl_error_text(unsigned long code);

// Certificates in PEM text, in order (at least one). Anything else is an error with OpenSSL's
// reason. Encrypted keys are refused rather than prompting on the terminal.
Result<std::vector<X509Ptr>> openssl_parse_certs(std::string_view pem);
Result<EvpPkeyPtr> openssl_parse_key(std::string_view pem);
std::vector<uint8_t> openssl_der(X509* crt);

// The DNS/IP subjectAltNames and the (last) common name, for check_host_name().
CertNames openssl_cert_names(X509* crt);
// "CN=pve1.example.com, O=PVE Cluster Node", in the certificate's order (as mbedTLS prints it).
std::string openssl_subject(X509* crt);
std::string openssl_issuer(X509* crt);

}  // namespace pvb
