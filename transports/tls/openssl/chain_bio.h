// A BIO over two ByteChains: OpenSSL reads the ciphertext fed to an engine straight out of the
// pooled blocks it arrived in, and the records it writes are appended to the engine's output chain.
// One copy each way, the library's own (counted in tls_copy_stats()); a pair of BIO_s_mem would add
// a second copy of every byte fed in. The BIO never touches a socket and never reports end of file:
// "no input yet" is a retryable read, so SSL calls come back with SSL_ERROR_WANT_READ.
#pragma once

#include <openssl/bio.h>

#include "engine/core/byte_chain.h"

namespace pvb {

struct ChainBioEnds {
  ByteChain in;   // ciphertext fed, not yet read by OpenSSL
  ByteChain out;  // ciphertext written by OpenSSL, not yet taken
};

// A new BIO reading from ends->in and appending to ends->out (which must outlive it); null if
// OpenSSL could not make one. The caller owns the reference (SSL_set_bio takes it over).
BIO* new_chain_bio(ChainBioEnds* ends);

}  // namespace pvb
