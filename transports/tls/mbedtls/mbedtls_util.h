// Small mbedTLS helpers shared by the backend and the certificate generator: error text, a seeded
// random generator, certificate names and descriptions.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/x509_crt.h>

#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "transports/tls/host_name.h"

namespace pvb {

// "SSL - Verification of the message MAC failed (-0x7180)"
std::string mbedtls_error_text(int ret);

// CTR-DRBG seeded from the platform entropy sources (getrandom). Not movable: mbedTLS keeps
// pointers into it.
class MbedtlsRandom {
 public:
  MbedtlsRandom();
  ~MbedtlsRandom();
  MbedtlsRandom(const MbedtlsRandom&) = delete;
  MbedtlsRandom& operator=(const MbedtlsRandom&) = delete;

  Error seed(std::string_view personalization);
  // For mbedTLS's f_rng parameters, with drbg() as p_rng.
  static int generate(void* drbg, unsigned char* out, size_t n);
  mbedtls_ctr_drbg_context* drbg() { return &drbg_; }

 private:
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
};

// The DNS/IP subjectAltNames and common name of a certificate (mbedTLS 2.28 keeps SAN entries of
// types it does not interpret, iPAddress among them, with their context tag).
CertNames mbedtls_cert_names(const mbedtls_x509_crt& crt);
// "CN=pve1.example.com, O=PVE Cluster Node"
std::string mbedtls_subject(const mbedtls_x509_crt& crt);
std::string mbedtls_issuer(const mbedtls_x509_crt& crt);
// mbedtls_x509_crt_verify_info as one line: "The certificate validity has expired; ..."
std::string mbedtls_verify_flags_text(uint32_t flags);

}  // namespace pvb
