// The TLS transport in the server role (the mock pveproxy's) fed fuzzed ciphertext as a client's
// bytes: ClientHello and the rest of the handshake, or records after a real handshake. See
// tls_fuzz.h for the input layout and the invariants.
#include <cstdint>

#include "fuzz/tls_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  return pvb::fuzz::fuzz_tls_input(pvb::TlsRole::server, bytes, size);
}
