// What sits behind a granted console, per ConsoleGrant::console: the fake VM (an RfbServer at
// the far end of an in-memory pipe, with the per-console VNC password that expires like QEMU's)
// or a benchmark console, or (mock-pveproxy --qemu) a real QEMU's VNC socket. The relay only ever
// sees `transport`.
#pragma once

#include <functional>
#include <memory>

#include "engine/core/clock.h"
#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "engine/io/transport.h"
#include "tests/fake_vm/rfb_server.h"
#include "tests/mock_pveproxy/mock_api.h"

namespace pvb::mock {

struct VmConsole {
  std::unique_ptr<Transport> transport;  // the relay's VM side, not started
  // rfb: the fake VM on the pipe's other end. Start it after `transport` (a MemPipe end started
  // after its peer wrote does not fetch what is already waiting).
  std::unique_ptr<RfbServer> rfb;
};

// mock-pveproxy --qemu: where the rfb consoles of qemu guests come from instead of the fake VM
// (a real QEMU per guest, see qemu_consoles.h).
class QemuConsoleSource {
 public:
  virtual ~QemuConsoleSource() = default;
  // The relay's VM side for `grant`, not started.
  virtual std::unique_ptr<Transport> open_console(Loop& loop, const ConsoleGrant& grant,
                                                  Clock& clock) = 0;
};

// Installs the process's source (null: none, the default: every console is the fake VM's). A
// process-wide setting, as --qemu is one for the whole mock: the program sets it before serving
// and clears it before the source goes away.
void set_qemu_console_source(QemuConsoleSource* source);

// Hears every key event a fake VM console receives (guest, keysym, down), in arrival order. A
// process-wide setting like the one above (mock-pveproxy --fake-vm-key-log); empty: none.
void set_fake_vm_key_listener(std::function<void(uint32_t, uint32_t, bool)> listener);

// The desktop name QEMU reports for a Proxmox guest: its name, or "vm<vmid>" without one.
std::string vm_desktop_name(const ConsoleGrant& grant);

// With a QemuConsoleSource installed, a qemu guest's rfb console comes from it (vm.rfb is then
// null). `stalled`: the stall_ws fault — a VM side that swallows everything and never says a word,
// whatever the guest's console kind. `clock` decides when the VNC password has expired
// (the fake VM refuses it once clock time > grant.vnc_password_expires).
VmConsole make_vm_console(Loop& loop, const ConsoleGrant& grant, bool stalled, Clock& clock,
                          Random& random);

}  // namespace pvb::mock
