#include "transports/tls/tls_alert.h"

namespace pvb {

std::string tls_alert_name(int description) {
  const char* name = nullptr;
  switch (description) {
    case 0:
      name = "close_notify";
      break;
    case 10:
      name = "unexpected_message";
      break;
    case 20:
      name = "bad_record_mac";
      break;
    case 21:
      name = "decryption_failed";
      break;
    case 22:
      name = "record_overflow";
      break;
    case 30:
      name = "decompression_failure";
      break;
    case 40:
      name = "handshake_failure";
      break;
    case 42:
      name = "bad_certificate";
      break;
    case 43:
      name = "unsupported_certificate";
      break;
    case 44:
      name = "certificate_revoked";
      break;
    case 45:
      name = "certificate_expired";
      break;
    case 46:
      name = "certificate_unknown";
      break;
    case 47:
      name = "illegal_parameter";
      break;
    case 48:
      name = "unknown_ca";
      break;
    case 49:
      name = "access_denied";
      break;
    case 50:
      name = "decode_error";
      break;
    case 51:
      name = "decrypt_error";
      break;
    case 70:
      name = "protocol_version";
      break;
    case 71:
      name = "insufficient_security";
      break;
    case 80:
      name = "internal_error";
      break;
    case 86:
      name = "inappropriate_fallback";
      break;
    case 90:
      name = "user_canceled";
      break;
    case 100:
      name = "no_renegotiation";
      break;
    case 109:
      name = "missing_extension";
      break;
    case 110:
      name = "unsupported_extension";
      break;
    case 112:
      name = "unrecognized_name";
      break;
    case 116:
      name = "certificate_required";
      break;
    case 120:
      name = "no_application_protocol";
      break;
    default:
      break;
  }
  if (!name) return "alert " + std::to_string(description);
  return std::string(name) + " (" + std::to_string(description) + ")";
}

}  // namespace pvb
