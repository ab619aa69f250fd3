// SHA-256 certificate fingerprints: what a user pins (`--fingerprint AA:BB:...`, as Proxmox's web
// UI shows it) and what the TLS transport reports for trust-on-first-use.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/error.h"

namespace pvb {

using Sha256Fingerprint = std::array<uint8_t, 32>;

// Accepts "AA:BB:..." (colons between every byte) or 64 plain hex digits, any case, surrounding
// spaces ignored. Anything else (wrong length, stray characters, mixed separators) is Errc::usage.
Result<Sha256Fingerprint> parse_fingerprint(std::string_view text);

// Upper-case hex bytes separated by colons: "AA:BB:...".
std::string format_fingerprint(const Sha256Fingerprint& fp);

// SHA-256 over a certificate's DER encoding (implemented with the crypto library we link).
Sha256Fingerprint sha256_fingerprint(std::span<const uint8_t> der);

}  // namespace pvb
