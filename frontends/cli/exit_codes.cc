#include "frontends/cli/exit_codes.h"

namespace pvb {

int exit_code_for(Errc code) {
  switch (code) {
    case Errc::ok:
      return kExitOk;
    case Errc::usage:
    case Errc::io:
      return kExitUsage;
    case Errc::auth:
      return kExitAuth;
    case Errc::tls_verify:
      return kExitTlsVerify;
    case Errc::not_found:
    case Errc::ambiguous:
    case Errc::template_guest:
      return kExitGuest;
    case Errc::not_running:
      return kExitNotRunning;
    case Errc::dns:
    case Errc::connect:
    case Errc::timeout:
    case Errc::connection_lost:
    case Errc::tls:
    case Errc::not_tls:
    case Errc::http:
    case Errc::protocol:
    case Errc::too_large:
      return kExitNetwork;
    case Errc::console_refused:
      return kExitConsole;
    case Errc::viewer:
      return kExitViewer;
    case Errc::no_client:
      return kExitNoClient;
    case Errc::no_spice:
      return kExitNoSpice;
    case Errc::spice_unreachable:
      return kExitSpiceProxy;
    case Errc::interrupted:
      return kExitSigint;
    case Errc::internal:
      return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace pvb
