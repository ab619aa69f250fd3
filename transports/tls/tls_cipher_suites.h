// The only cipher suites pvebridge offers or accepts: TLS 1.2, ECDHE key exchange, AEAD ciphers.
// IANA names, in our default preference order (AES-GCM first: pveproxy prefers it too, and AES-NI
// makes it the cheap one on the server side).
#pragma once

#include <array>
#include <string_view>

namespace pvb {

inline constexpr std::array<std::string_view, 6> kTlsAeadCipherSuites = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
};

}  // namespace pvb
