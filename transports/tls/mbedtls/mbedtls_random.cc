#include "transports/tls/mbedtls/mbedtls_random.h"

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>

#include <cstdio>
#include <cstring>

namespace pvb {

MbedtlsRandom::MbedtlsRandom() {
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
}

MbedtlsRandom::~MbedtlsRandom() {
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
}

Error MbedtlsRandom::seed(std::string_view personalization) {
  int ret = mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_,
                                  reinterpret_cast<const unsigned char*>(personalization.data()),
                                  personalization.size());
  if (ret != 0)
    return Error(Errc::internal,
                 "seeding the TLS random generator failed: " + mbedtls_error_text(ret), ret);
  return Error();
}

int MbedtlsRandom::generate(void* drbg, unsigned char* out, size_t n) {
  return mbedtls_ctr_drbg_random(drbg, out, n);
}

}  // namespace pvb
