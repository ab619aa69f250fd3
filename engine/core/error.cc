#include "engine/core/error.h"

namespace pvb {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::usage:
      return "usage";
    case Errc::auth:
      return "auth_failed";
    case Errc::tls_verify:
      return "tls_verify";
    case Errc::tls:
      return "tls";
    case Errc::not_tls:
      return "not_tls";
    case Errc::not_found:
      return "guest_not_found";
    case Errc::ambiguous:
      return "guest_ambiguous";
    case Errc::template_guest:
      return "guest_template";
    case Errc::not_running:
      return "guest_not_running";
    case Errc::dns:
      return "dns";
    case Errc::connect:
      return "connect_failed";
    case Errc::timeout:
      return "timeout";
    case Errc::connection_lost:
      return "connection_lost";
    case Errc::http:
      return "http";
    case Errc::protocol:
      return "protocol";
    case Errc::too_large:
      return "too_large";
    case Errc::console_refused:
      return "console_refused";
    case Errc::viewer:
      return "viewer_failed";
    case Errc::no_spice:
      return "no_spice_display";
    case Errc::spice_unreachable:
      return "spice_proxy_unreachable";
    case Errc::no_client:
      return "no_client";
    case Errc::interrupted:
      return "interrupted";
    case Errc::io:
      return "io";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

Error& Error::context(std::string_view where) {
  std::string s(where);
  s += ": ";
  s += detail_;
  detail_ = std::move(s);
  return *this;
}

std::string Error::message() const {
  return detail_.empty() ? errc_name(code_) : detail_;
}

}  // namespace pvb
