// The engine against fake seams, in one process and without a socket: the mock pveproxy's server
// (its API brain and HTTP/WebSocket side, tests/mock_pveproxy) on MemPipes, reached through the
// engine's own Dialer (StackDialer over MemPipe ends), and a ListenerFactory whose "clients" are
// MemPipe ends the test hands in. Shows that the engine's logic is written only against its seams.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/listener.h"
#include "engine/proxmox/proxmox_client.h"
#include "tests/mock_pveproxy/server/spice_proxy.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "transports/stack/stack_dialer.h"
#include "transports/testing/fault_injector.h"

namespace pvb::seams {

// Every host dials into the same in-process mock, except those listed in `unreachable`, whose
// connections fail (as an unreachable node does) before a byte is exchanged. Plain streams
// (Dialer::open_stream) to port 3128 reach the mock's spiceproxy, which echoes what follows its
// 200 (no QEMU); to any other port they fail like an unreachable host.
class InProcessCluster {
 public:
  // `options`: the mock's timers, faults and fixed VNC password.
  explicit InProcessCluster(mock::MockOptions options = {});
  ~InProcessCluster();
  mock::test::Harness& mock() { return mock_; }
  mock::SpiceProxyServer& spiceproxy() { return *spiceproxy_; }
  size_t streams = 0;  // plain streams the dialer made
  Loop& loop() { return mock_.loop; }
  Dialer& dialer() { return dialer_; }
  std::vector<std::string> unreachable;
  size_t connections = 0;  // transports the dialer made
  // A fault for the connection numbered n (from 1, in the order the dialer makes them), if any:
  // the connection gets a FaultInjector with that plan.
  std::function<std::optional<FaultPlan>(size_t n)> fault_for;

  // A client with root's API token for `hosts` (default: pve1:8006).
  std::unique_ptr<ProxmoxClient> client(std::vector<ApiHost> hosts = {{"pve1", 8006}});
  // A client that logs in as root@pam with its password (a ticket that can expire).
  std::unique_ptr<ProxmoxClient> password_client();

 private:
  std::unique_ptr<Transport> connect(const ApiHost& host);
  std::unique_ptr<Transport> open_stream(const ApiHost& host);

  mock::test::Harness mock_;
  std::unique_ptr<mock::SpiceProxyServer> spiceproxy_;
  StackDialer dialer_;
};

// Listeners that accept what the test hands them.
class FakeListeners final : public ListenerFactory {
 public:
  struct Listening {
    std::string host;
    uint16_t port = 0;
    AcceptFn on_accept;
    bool closed = false;
  };
  Result<std::unique_ptr<Listener>> listen(const std::string& host, uint16_t port,
                                           AcceptFn on_accept) override;
  // The listener opened last (null before any).
  Listening* last() { return listening_.empty() ? nullptr : listening_.back().get(); }

 private:
  std::vector<std::unique_ptr<Listening>> listening_;
};

// One [virt-viewer] key of a .vv file ("" when absent), read the way remote-viewer reads it
// (GKeyFile).
std::string vv_value(const std::string& path, const char* key);

// Runs `loop` until pred() (bounded by the loop running out of work).
bool run_until(Loop& loop, const std::function<bool()>& pred);

}  // namespace pvb::seams
