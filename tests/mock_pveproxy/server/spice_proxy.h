// The mock's spiceproxy (Proxmox's port 3128 daemon, PROTOCOL.md section 7) on a port of its own
// (or, in one process, on whatever transports a test hands it): plain HTTP, one CONNECT per
// connection, authenticated by the Host header as PVE::APIServer::AnyEvent does
// (MockApi::verify_spice_connect: the ticket's signature, age and port). A refused ticket gets "401
// invalid ticket" and the connection is closed; a granted one
// "<its HTTP version> 200 OK", and then the channel goes to the guest's SPICE server:
// - with --qemu and --spice-x509-dir, the guest's real QEMU: as qemu-server does, its SPICE
//   password is set over QMP (set_password / expire_password protocol spice, the password's life
//   counted from the spiceproxy call) before we connect to its TLS port; the 200 goes out once
//   that TCP connection is up, then bytes are pumped (the TLS inside is remote-viewer's and
//   QEMU's);
// - without, every byte after the 200 is echoed back, which is what the tests of pvebridge's
//   relay need to see that bytes pass both ways, untouched.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>

#include "engine/core/loop.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/server/qemu_consoles.h"
#include "transports/tcp/tcp_listener.h"

namespace pvb::mock {

class SpiceProxyServer {
 public:
  using LogFn = std::function<void(const std::string&)>;
  // `qemu` (may be null: echo) must outlive the server.
  static Result<std::unique_ptr<SpiceProxyServer>> listen(Loop& loop, MockApi& api, QemuFleet* qemu,
                                                          const std::string& host, uint16_t port,
                                                          LogFn log);
  // Without a listener, for tests in one process: connections come through accept().
  static std::unique_ptr<SpiceProxyServer> unbound(Loop& loop, MockApi& api, QemuFleet* qemu,
                                                   LogFn log);
  ~SpiceProxyServer();  // defined where Connection is complete
  uint16_t port() const { return listener_ ? listener_->port() : 0; }
  void close();
  // Serves one client connection (what the listener accepted, or a MemPipe end).
  void accept(std::unique_ptr<Transport> t);
  uint64_t granted() const { return granted_; }
  uint64_t refused() const { return refused_; }

 private:
  class Connection;
  SpiceProxyServer(Loop& loop, MockApi& api, QemuFleet* qemu, LogFn log);
  void done(Connection* c);

  Loop& loop_;
  MockApi& api_;
  QemuFleet* qemu_;
  LogFn log_;
  std::unique_ptr<TcpListener> listener_;
  std::list<std::unique_ptr<Connection>> connections_;
  uint64_t granted_ = 0;
  uint64_t refused_ = 0;
  AliveToken alive_;
};

}  // namespace pvb::mock
