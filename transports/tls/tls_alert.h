// TLS alert descriptions (RFC 5246 7.2, RFC 8446 6) by name, for error messages a human can act on.
#pragma once

#include <string>

namespace pvb {

// "handshake_failure (40)"; unknown numbers come out as "alert 123".
std::string tls_alert_name(int description);

constexpr int kTlsAlertHandshakeFailure = 40;
constexpr int kTlsAlertProtocolVersion = 70;

}  // namespace pvb
