// One-time passwords as Proxmox's TOTP second factor uses them: RFC 4226 HOTP with RFC 6238 time
// steps (HMAC-SHA1, 30-second step, 6 digits), secrets written in RFC 4648 base32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pvb::mock {

// Decodes base32 (A-Z, 2-7), case-insensitively; '=' padding and spaces are ignored, as
// authenticator apps show secrets in groups. nullopt on any other character or on leftover bits
// that are not zero (a truncated secret).
std::optional<std::string> base32_decode(std::string_view text);

// RFC 4226 dynamic truncation of HMAC-SHA1(key, counter), reduced to `digits` decimal digits.
uint32_t hotp(std::string_view key, uint64_t counter, int digits);

struct TotpParams {
  int digits = 6;
  int64_t step_s = 30;
  int window_steps = 1;  // accept codes this many steps before or after now
};

// The code for unix time `now`, zero-padded to params.digits.
std::string totp_code(std::string_view key, int64_t now, const TotpParams& params = {});

// True when `code` (exactly params.digits decimal digits) matches a step within the window.
bool totp_verify(std::string_view key, std::string_view code, int64_t now,
                 const TotpParams& params = {});

}  // namespace pvb::mock
