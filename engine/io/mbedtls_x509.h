// X.509 certificates through mbedTLS, for the certificate descriptions (server_certificate.h) and
// the mbedTLS TLS backend: error text, names, subject and issuer, verification flags as text.
#pragma once

#include <mbedtls/x509_crt.h>

#include <string>

#include "engine/core/host_name.h"

namespace pvb {

// "SSL - Verification of the message MAC failed (-0x7180)"
std::string mbedtls_error_text(int ret);

// The DNS/IP subjectAltNames and common name of a certificate (mbedTLS 2.28 keeps SAN entries of
// types it does not interpret, iPAddress among them, with their context tag).
CertNames mbedtls_cert_names(const mbedtls_x509_crt& crt);
// "CN=pve1.example.com, O=PVE Cluster Node"
std::string mbedtls_subject(const mbedtls_x509_crt& crt);
std::string mbedtls_issuer(const mbedtls_x509_crt& crt);
// mbedtls_x509_crt_verify_info as one line: "The certificate validity has expired; ..."
std::string mbedtls_verify_flags_text(uint32_t flags);

}  // namespace pvb
