// The TLS transport in the client role (pvebridge's, pinning the server's certificate) fed fuzzed
// ciphertext as a server's answer: ServerHello, Certificate (X.509 parsing), ServerKeyExchange,
// or records after a real handshake. See tls_fuzz.h for the input layout and the invariants.
#include <cstdint>

#include "fuzz/tls_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  return pvb::fuzz::fuzz_tls_input(pvb::TlsRole::client, bytes, size);
}
