#include "tests/mock_pveproxy/server/vm_console.h"

#include "tests/fake_vm/fake_vm_screens.h"
#include "tests/mock_pveproxy/server/terminal_console.h"
#include "transports/testing/bench_console.h"
#include "transports/testing/mem_pipe.h"

namespace pvb::mock {

namespace {
QemuConsoleSource* g_qemu_console_source = nullptr;
std::function<void(uint32_t, uint32_t, bool)>& key_listener() {
  static std::function<void(uint32_t, uint32_t, bool)> listener;
  return listener;
}
}  // namespace

void set_fake_vm_key_listener(std::function<void(uint32_t, uint32_t, bool)> listener) {
  key_listener() = std::move(listener);
}

void set_qemu_console_source(QemuConsoleSource* source) {
  g_qemu_console_source = source;
}

std::string vm_desktop_name(const ConsoleGrant& grant) {
  return grant.name.empty() ? "vm" + std::to_string(grant.vmid) : grant.name;
}

VmConsole make_vm_console(Loop& loop, const ConsoleGrant& grant, bool stalled, Clock& clock,
                          Random& random) {
  VmConsole vm;
  if (grant.terminal && !stalled) {
    vm.transport = std::make_unique<TerminalConsole>(loop, *grant.terminal, grant.vmid);
    return vm;
  }
  if (stalled || grant.console != ConsoleKind::rfb) {
    BenchConsole::Kind kind = BenchConsole::Kind::sink;
    if (!stalled && grant.console == ConsoleKind::source) kind = BenchConsole::Kind::source;
    if (!stalled && grant.console == ConsoleKind::echo) kind = BenchConsole::Kind::echo;
    if (!stalled && grant.console == ConsoleKind::rfb_source) kind = BenchConsole::Kind::rfb_source;
    if (!stalled && grant.console == ConsoleKind::rfb_echo) kind = BenchConsole::Kind::rfb_echo;
    vm.transport = std::make_unique<BenchConsole>(loop, kind);
    return vm;
  }
  if (g_qemu_console_source != nullptr && grant.type == GuestKind::qemu) {
    vm.transport = g_qemu_console_source->open_console(loop, grant, clock);
    return vm;
  }
  auto [relay_end, vm_end] = make_mem_pipe(loop);
  RfbServerOptions options;
  options.vnc_auth = true;
  options.desktop_name = vm_desktop_name(grant);
  // A viewer polls with incremental requests; an unchanging screen is re-sent at most 10 times
  // a second instead of as fast as the viewer asks.
  options.incremental_delay_ms = 100;
  options.password = [password = grant.vnc_password, expires = grant.vnc_password_expires,
                      &clock]() -> std::optional<std::string> {
    if (clock.unix_seconds() > expires) return std::nullopt;
    return password;
  };
  if (key_listener()) {
    options.on_key = [vmid = grant.vmid](uint32_t keysym, bool down) {
      if (key_listener()) key_listener()(vmid, keysym, down);
    };
  }
  // One screen per guest, shared by its consoles: a reconnecting viewer sees the same, still
  // ticking picture (and mock-pveproxy can freeze, step and dump it).
  options.screen =
      fake_vm_screens().screen(grant.vmid, options.desktop_name, options.width, options.height);
  vm.rfb = std::make_unique<RfbServer>(std::move(vm_end), std::move(options), random);
  vm.transport = std::move(relay_end);
  return vm;
}

}  // namespace pvb::mock
