// How a command reaches its Proxmox hosts: the TLS trust each host gets (the fixed one of
// --fingerprint, --ca-file or --insecure; otherwise trust on first use, engine/trust/host_trust.h,
// with known_hosts in $XDG_DATA_HOME/pvebridge), and the way there (an HTTP proxy's CONNECT
// tunnel, or TCP straight).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/loop.h"
#include "engine/proxmox/proxmox_client.h"
#include "engine/trust/host_trust.h"
#include "frontends/cli/options.h"
#include "frontends/cli/output.h"
#include "transports/stack/stack_dialer.h"
#include "transports/tcp/tcp_transport.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

class ServerAccess {
 public:
  // Errc::usage for an unusable --fingerprint / --ca-file, or a known_hosts that cannot be used.
  static Result<std::unique_ptr<ServerAccess>> create(const CliOptions& o, Output& out);

  // Unstarted transports (TLS over TCP, or over a proxy tunnel) for the API client and the console
  // WebSockets. `this` and `loop` must outlive every transport made.
  HostConnector connector(Loop& loop);
  // Unstarted plain streams (no TLS: TCP, or the HTTP proxy's tunnel when one applies to the
  // host), for SPICE's proxy on port 3128. They carry SPICE channels whose TLS is end to end, so
  // nothing of ours passes on them that would notice a node gone silent: TCP keepalive does
  // (30 s idle, then 6 probes 10 s apart: a vanished node ends the channel within 90 s).
  static constexpr TcpKeepalive kStreamKeepalive{30, 10, 6};
  HostConnector stream_connector(Loop& loop);

  // client.connect(); when trust on first use refused a host, the user is asked (on a terminal)
  // and, once it is trusted, the client connects again. done gets the final outcome.
  void connect(Loop& loop, ProxmoxClient& client, std::function<void(Error)> done);

  // A console to `host` is open (ConsoleOptions::on_console_open): with trust on first use, offers
  // to trust the cluster CA its vncproxy reply named instead of the host's pinned certificate
  // (HostTrust::offer_cluster_ca; asked once per host, on a terminal and not with --json).
  // `server`: the WebSocket's transport, made by connector().
  void offer_cluster_ca(const ApiHost& host, const std::string& ca_pem, const Transport& server);

 private:
  ServerAccess(const CliOptions& o, Output& out);
  // The host's TLS context: the fixed one, or one made from the host's trust (renewed whenever
  // trust on first use changed it; kept otherwise, so connections resume the TLS session).
  std::shared_ptr<TlsContext> tls_for(const ApiHost& host);

  Output& out_;
  TlsBackendKind backend_;
  std::vector<ApiHost> hosts_;
  ProxySettings proxy_;
  uint64_t timeout_ms_;
  std::shared_ptr<TlsContext> fixed_;  // --fingerprint, --ca-file, --insecure
  std::unique_ptr<HostTrust> trust_;   // otherwise
  struct HostContext {
    std::shared_ptr<const TlsTrust> trust;  // what context was made from
    std::shared_ptr<TlsContext> context;
  };
  std::map<std::string, HostContext> contexts_;  // by authority
};

}  // namespace pvb
