// The few primitives the mock's tickets, TOTP and WebSocket accept key need, over mbedTLS.
// Raw digests are returned as byte strings (std::string holding binary).
#pragma once

#include <string>
#include <string_view>

namespace pvb::mock {

std::string hmac_sha256(std::string_view key, std::string_view message);
std::string hmac_sha1(std::string_view key, std::string_view message);
std::string sha1(std::string_view data);

// RFC 4648 base64; pad=false drops the trailing '=' (Perl's hmac_sha256_base64 style).
std::string base64_encode(std::string_view raw, bool pad = true);

// Comparison whose time does not depend on where the inputs differ (signatures, secrets).
bool constant_time_equal(std::string_view a, std::string_view b);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
std::string websocket_accept(std::string_view key);

}  // namespace pvb::mock
