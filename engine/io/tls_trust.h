// Whom a TLS client connection trusts, as plain data: the engine's trust decisions (known_hosts,
// pins, the cluster CA) produce it, and the TLS transports turn it into a context of their backend.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/fingerprint.h"

namespace pvb {

enum class TlsVerify {
  system_ca,  // chain to the system trust store, then our host name check (default)
  ca_file,    // chain to the CA(s) in ca_file / ca_pem, then our host name check
  pinned,     // the leaf's SHA-256 must equal one of `pins`; chain and name are not checked
  insecure,   // nothing is checked (the CLI warns)
};

// What the client's verification refused, as TlsTrust::on_rejected hears it.
struct TlsRejection {
  std::string server_name;                      // the name the connection was made for
  std::vector<std::vector<uint8_t>> chain_der;  // as the server sent it, leaf first
  Error reason;  // Errc::tls_verify: the error the handshake then fails with
};

struct TlsTrust {
  TlsVerify verify = TlsVerify::system_ca;
  std::string system_ca_file = "/etc/ssl/certs/ca-certificates.crt";
  // TlsVerify::ca_file: a PEM file, and/or PEM text (e.g. the cluster CA that vncproxy returns).
  std::string ca_file;
  std::string ca_pem;
  // TlsVerify::pinned: any one matching the leaf is enough (each Proxmox node has its own cert).
  std::vector<Sha256Fingerprint> pins;
  // Told during the handshake whenever our verification refuses the server (every mode but
  // insecure), just before the handshake fails with that Errc::tls_verify. It carries what the
  // failed connection otherwise loses, the server's chain: trust on first use shows the user that
  // certificate and asks, then connects again with a new trust. It must only record (never
  // prompt, never touch the connection): it runs inside the TLS library's verify callback.
  std::function<void(const TlsRejection&)> on_rejected;
};

}  // namespace pvb
