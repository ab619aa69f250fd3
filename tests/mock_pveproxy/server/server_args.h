// The mock-pveproxy command line: where to listen, what cluster to simulate, which certificate to
// serve, every timer of MockOptions (so tests never wait for real timeouts) and the faults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "tests/mock_pveproxy/mock_options.h"
#include "transports/tls/tls_config.h"

namespace pvb::mock {

struct ServerConfig {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  // --also-listen HOST:PORT (repeatable): more listening addresses of the same cluster, as other
  // nodes' pveproxy would be (same inventory, guests, tickets and certificate). restart_api does
  // not touch them. Their connections are logged as "PEER (on :PORT)".
  struct Address {
    std::string host;
    uint16_t port = 0;
  };
  std::vector<Address> also_listen;
  std::string inventory_file;  // empty: the built-in default cluster
  std::string state_dir;       // empty: a private temporary directory, removed at exit
  std::string cert_file;       // both empty: a CA and a leaf are generated at start
  std::string key_file;
  // Send only the leaf, as stock pveproxy does (vncproxy's `cert` still names the CA).
  bool leaf_only = false;
  std::string cluster_ca_file;  // vncproxy's `cert` from this PEM file instead
  bool exit_on_stdin_eof = false;
  // --qemu / --qemu-binary: relay qemu guests' consoles to real QEMUs (empty binary: found in
  // PATH).
  bool qemu = false;
  std::string qemu_binary;
  // --qemu-echo-guest (implies --qemu): each QEMU boots the echo guest; SIGUSR2 types a key.
  bool qemu_echo_guest = false;
  // The fake VMs' screens (tests/fake_vm/fake_vm_screens.h): frozen at this tick; SIGUSR1 dumps
  // each guest's screen to DIR/<vmid>.ppm.
  std::optional<uint64_t> fake_vm_freeze_at;
  uint32_t fake_vm_tick_ms = 1000;  // how often a running screen's activity strip changes
  std::string fake_vm_dump_dir;
  // Every fake VM's key events, appended to this file (reconnect tests: keys arrive in order).
  std::string fake_vm_key_log;
  std::string spice_x509_dir;  // --spice-x509-dir (with --qemu: QEMUs serve SPICE)
  TlsBackendKind tls_backend = kDefaultTlsBackend;
  MockOptions api;  // timers, pveproxy generation, faults
};

struct ParsedArgs {
  ServerConfig config;
  bool help = false;  // --help: print kServerUsage and exit 0
};

// Accepts "--flag value" and "--flag=value". Errc::usage with a one-line message naming the flag.
Result<ParsedArgs> parse_server_args(int argc, const char* const* argv);

extern const char* const kServerUsage;

}  // namespace pvb::mock
