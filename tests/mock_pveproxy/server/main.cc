// mock-pveproxy: a stand-in for Proxmox VE's pveproxy (REST API over HTTPS and console
// websockets relayed to a fake VM) for tests, demos and benchmarks. See --help and
// tests/mock_pveproxy/server/README.md.
//
// Exit status: 0 after SIGINT/SIGTERM (or the end of stdin with --exit-on-stdin-eof), 2 for bad
// arguments or a bad inventory, 1 when it cannot start (certificate, listening).
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/loop.h"
#include "engine/core/platform.h"
#include "engine/core/random.h"
#include "tests/fake_vm/fake_vm_screens.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/server/api_restart.h"
#include "tests/mock_pveproxy/server/mock_server.h"
#include "tests/mock_pveproxy/server/qemu_consoles.h"
#include "tests/mock_pveproxy/server/ready_line.h"
#include "tests/mock_pveproxy/server/server_args.h"
#include "tests/mock_pveproxy/server/spice_proxy.h"
#include "transports/tcp/tcp_listener.h"
#include "transports/testing/server_identity.h"
#include "transports/testing/stdin_eof_watch.h"

namespace pvb::mock {
namespace {

void log_line(const std::string& line) {
  std::fprintf(stderr, "mock-pveproxy: %s\n", line.c_str());
}

int fail(const Error& e, const char* what) {
  log_line(std::string(what) + ": " + e.message());
  return e.code() == Errc::usage ? 2 : 1;
}

std::string describe_options(const MockOptions& o, bool qemu) {
  std::string s = "Proxmox VE " + std::string(o.pve_version());
  if (qemu) s += ", qemu guests on real QEMU";
  for (const Fault& f : o.faults) s += ", fault " + std::string(fault_name(f.kind));
  return s;
}

int run(int argc, char** argv) {
  // Peers vanish mid-write; that is an error to handle, not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  Result<ParsedArgs> parsed = parse_server_args(argc, argv);
  if (!parsed.ok()) {
    log_line(parsed.error().message());
    return 2;
  }
  if (parsed->help) {
    std::fputs(kServerUsage, stdout);
    return 0;
  }
  ServerConfig& config = parsed->config;

  Result<Inventory> inventory = config.inventory_file.empty()
                                    ? Result<Inventory>(Inventory::builtin_default())
                                    : load_inventory_file(config.inventory_file);
  if (!inventory.ok()) return fail(inventory.error(), "inventory");
  Result<ServerIdentity> identity = config.cert_file.empty()
                                        ? generate_server_identity()
                                        : load_server_identity(config.cert_file, config.key_file);
  if (!identity.ok()) return fail(identity.error(), "certificate");
  Result<StateDir> state_dir = StateDir::open(config.state_dir);
  if (!state_dir.ok()) return fail(state_dir.error(), "state directory");
  Result<std::string> ca_file = state_dir->write_file("ca.pem", identity->ca_pem);
  if (!ca_file.ok()) return fail(ca_file.error(), "state directory");

  TlsServerConfig tls_config;
  tls_config.backend = config.tls_backend;
  tls_config.cert_chain_pem = identity->chain_pem;
  if (config.leaf_only) {
    Result<std::string> leaf = leaf_only_pem(identity->chain_pem);
    if (!leaf.ok()) return fail(leaf.error(), "--leaf-only");
    tls_config.cert_chain_pem = std::move(*leaf);
  }
  tls_config.key_pem = identity->key_pem;
  Result<std::shared_ptr<TlsContext>> tls = TlsContext::create_server(tls_config);
  if (!tls.ok()) return fail(tls.error(), "TLS");

  config.api.cert_pem = identity->cluster_ca_pem;  // vncproxy's `cert`: the cluster CA
  if (!config.cluster_ca_file.empty()) {
    Result<std::string> ca = load_cluster_ca(config.cluster_ca_file);
    if (!ca.ok()) return fail(ca.error(), "--cluster-ca");
    config.api.cert_pem = std::move(*ca);
  }
  if (!config.spice_x509_dir.empty()) {
    // spiceproxy's `ca`: what remote-viewer verifies QEMU's SPICE certificate with.
    std::string path = config.spice_x509_dir + "/ca-cert.pem";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return fail(Error(Errc::usage, "cannot read " + path), "--spice-x509-dir");
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) config.api.spice_ca_pem.append(buf, n);
    std::fclose(f);
  }
  Loop loop;
  // --qemu: declared before the server, so its QEMUs outlive every console relaying to them.
  std::unique_ptr<QemuFleet> qemu;
  if (config.qemu) {
    QemuFleetOptions qemu_options;
    const std::string wanted =
        config.qemu_binary.empty() ? "qemu-system-x86_64" : config.qemu_binary;
    qemu_options.binary = find_executable(wanted);
    qemu_options.spice_x509_dir = config.spice_x509_dir;
    qemu_options.echo_guest = config.qemu_echo_guest;
    if (qemu_options.binary.empty()) {
      return fail(Error(Errc::io, wanted + " not found or not executable (Debian: apt-get install "
                                           "qemu-system-x86)"),
                  "--qemu");
    }
    Result<std::unique_ptr<QemuFleet>> fleet = QemuFleet::create(loop, qemu_options, log_line);
    if (!fleet.ok()) return fail(fleet.error(), "--qemu");
    qemu = std::move(*fleet);
    qemu->install();
  }
  MockApi api(std::move(*inventory), config.api, system_clock(), system_random());
  MockServer server(loop, api, *tls, system_clock(), system_random(), log_line);
  // Faults below HTTP (resets, TLS alerts, renegotiation, a changing certificate).
  Result<std::unique_ptr<ConnectionFaults>> connection_faults =
      ConnectionFaults::create(api.options(), tls_config, log_line);
  if (!connection_faults.ok()) return fail(connection_faults.error(), "--fault");
  server.set_connection_faults(std::move(*connection_faults));
  // Listener 0 is --listen (this node's pveproxy; restart_api closes and reopens it), 1.. the
  // --also-listen addresses (other nodes of the cluster). With more than one, each connection's
  // log name says which port it came to.
  std::vector<ServerConfig::Address> addresses = {{config.listen_host, config.listen_port}};
  addresses.insert(addresses.end(), config.also_listen.begin(), config.also_listen.end());
  std::vector<std::unique_ptr<TcpListener>> listeners(addresses.size());
  auto open_listener = [&](size_t index) -> Error {
    const bool tagged = addresses.size() > 1;
    Result<std::unique_ptr<TcpListener>> l = TcpListener::listen(
        loop, addresses[index].host, addresses[index].port,
        [&server, index, tagged, &addresses](std::unique_ptr<TcpTransport> t) {
          std::string peer = t->peer_address() + ":" + std::to_string(t->peer_port());
          if (tagged) peer += " (on :" + std::to_string(addresses[index].port) + ")";
          server.accept(std::move(t), std::move(peer), static_cast<int>(index));
        });
    if (!l.ok()) return l.error();
    listeners[index] = std::move(*l);
    addresses[index].port = listeners[index]->port();  // a restart listens on the same port
    return Error();
  };
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (Error e = open_listener(i); e.failed()) return fail(e, "listen");
  }
  std::unique_ptr<ApiRestart> restart;
  if (std::optional<RestartSpec> spec = api.options().restart_api()) {
    ApiRestart::Hooks hooks;
    hooks.go_down = [&, rst = spec->rst] {
      listeners[0]->close();
      listeners[0].reset();
      auto [connections, consoles] = server.drop_listener(0, rst);
      log_line("restart_api: dropped " + std::to_string(connections) + " API connection(s) and " +
               std::to_string(consoles) + " console(s)" + (rst ? " by TCP reset" : "") + "; port " +
               std::to_string(addresses[0].port) + " refuses connections");
      if (api.options().expire_auth()) {
        api.expire_auth();
        log_line(
            "restart_api: every login ticket expired, every API token revoked "
            "(fault expire_auth)");
      }
    };
    hooks.come_up = [&] { return open_listener(0); };
    hooks.log = log_line;
    restart = std::make_unique<ApiRestart>(loop, *spec, std::move(hooks));
    server.set_on_console_open([&restart](const ConsoleGrant&) { restart->console_opened(); });
  }
  // The node's SPICE proxy (3128 on Proxmox) on a free port of the same address.
  Result<std::unique_ptr<SpiceProxyServer>> spice_proxy =
      SpiceProxyServer::listen(loop, api, qemu.get(), config.listen_host, 0, log_line);
  if (!spice_proxy.ok()) return fail(spice_proxy.error(), "listen (spiceproxy)");

  bool stopping = false;
  auto stop = [&] {
    if (stopping) return;
    stopping = true;
    for (auto& l : listeners) {
      if (l) l->close();
    }
    (*spice_proxy)->close();
    server.shut_down();
    loop.stop();
  };
  SignalWatcher sigint(loop, SIGINT, [&](int) { stop(); });
  SignalWatcher sigterm(loop, SIGTERM, [&](int) { stop(); });
  // The fake VMs' screens: frozen, stepped (SIGUSR2) and dumped (SIGUSR1) for tests that compare
  // what a viewer shows with what the guest holds.
  fake_vm_screens().set_freeze_at(config.fake_vm_freeze_at);
  fake_vm_screens().set_tick_ms(config.fake_vm_tick_ms);
  SignalWatcher sigusr1(loop, SIGUSR1, [&](int) {
    if (config.fake_vm_dump_dir.empty()) {
      log_line("SIGUSR1 without --fake-vm-dump-dir: no screen written");
      return;
    }
    Error e = fake_vm_screens().dump_all(config.fake_vm_dump_dir, loop.now_ms());
    if (e.failed()) log_line("fake VM screens: " + e.message());
    if (qemu) qemu->dump_screens(config.fake_vm_dump_dir);
  });
  // Armed before the step, so the update that carries the new picture counts toward the cut.
  // QEMUs running the echo guest step too: a key typed into each.
  SignalWatcher sigusr2(loop, SIGUSR2, [&](int) {
    server.arm_console_cuts();
    fake_vm_screens().step_all();
    if (qemu) qemu->type_step();
  });
  int key_log = -1;
  if (!config.fake_vm_key_log.empty()) {
    key_log =
        ::open(config.fake_vm_key_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (key_log < 0) {
      std::fprintf(stderr, "mock-pveproxy: cannot open --fake-vm-key-log %s\n",
                   config.fake_vm_key_log.c_str());
      return 1;
    }
    set_fake_vm_key_listener([key_log](uint32_t vmid, uint32_t keysym, bool down) {
      char line[48];
      const int n =
          std::snprintf(line, sizeof line, "%u %s 0x%08x\n", vmid, down ? "down" : "up", keysym);
      // One write per line, O_APPEND: a reader never sees half a line.
      if (::write(key_log, line, static_cast<size_t>(n)) != n) {
        log_line("cannot write the fake VM key log");
      }
    });
  }
  std::unique_ptr<StdinEofWatch> stdin_watch;
  if (config.exit_on_stdin_eof) stdin_watch = std::make_unique<StdinEofWatch>(loop, stop);

  std::string where;
  for (const auto& l : listeners) {
    where += (where.empty() ? "" : ", ") + l->address() + ":" + std::to_string(l->port());
  }
  log_line("listening on " + where + " (" + describe_options(api.options(), qemu != nullptr) + ")");
  // Ready only now: whoever reads the line may connect (or signal us) at once.
  ReadyInfo ready{
      listeners[0]->port(), identity->fingerprint, *ca_file, (*spice_proxy)->port(), {}};
  if (listeners.size() > 1) {
    for (const auto& l : listeners) ready.ports.push_back(l->port());
  }
  std::printf("%s\n", ready_line(ready, api.inventory()).c_str());
  std::fflush(stdout);
  loop.run();
  set_fake_vm_key_listener(nullptr);
  if (key_log >= 0) ::close(key_log);
  log_line("stopped");
  return 0;
}

}  // namespace
}  // namespace pvb::mock

int main(int argc, char** argv) {
  return pvb::mock::run(argc, argv);
}
