// What sits behind a granted console, per ConsoleGrant::console: the fake VM (an RfbServer at
// the far end of an in-memory pipe, with the per-console VNC password that expires like QEMU's)
// or a benchmark console. The relay only ever sees `transport`.
#pragma once

#include <memory>

#include "engine/core/clock.h"
#include "engine/core/loop.h"
#include "engine/core/rng.h"
#include "tests/fake_vm/rfb_server.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "transports/transport.h"

namespace pvb::mock {

struct VmConsole {
  std::unique_ptr<Transport> transport;  // the relay's VM side, not started
  // rfb: the fake VM on the pipe's other end. Start it after `transport` (a MemPipe end started
  // after its peer wrote does not fetch what is already waiting).
  std::unique_ptr<RfbServer> rfb;
};

// The desktop name QEMU reports for a Proxmox guest: its name, or "vm<vmid>" without one.
std::string vm_desktop_name(const ConsoleGrant& grant);

// `stalled`: the stall_ws fault — a VM side that swallows everything and never says a word,
// whatever the guest's console kind. `clock` decides when the VNC password has expired
// (the fake VM refuses it once clock time > grant.vnc_password_expires).
VmConsole make_vm_console(Loop& loop, const ConsoleGrant& grant, bool stalled, Clock& clock,
                          Random& random);

}  // namespace pvb::mock
