// A seeded mbedTLS random generator for the backend and the certificate generator (the X.509
// helpers they share with the certificate descriptions are in engine/io/mbedtls_x509.h).
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include <string>
#include <string_view>

#include "engine/core/error.h"
#include "engine/io/mbedtls_x509.h"

namespace pvb {

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

}  // namespace pvb
