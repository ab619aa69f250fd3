// Internal to MockApi's implementation files: shared helpers and the upgrade context.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/mock_api_routes.h"

namespace pvb::mock {

// Set when the vncwebsocket request is a websocket upgrade (accept_vncwebsocket); the handler
// fills in the grant when everything passed.
struct MockApi::UpgradeContext {
  std::optional<ConsoleGrant> grant;
};

// Proxmox's 403 message: "Permission check failed (/vms/100, VM.Console)".
inline std::string permission_message(std::string_view path, std::string_view privilege) {
  return "Permission check failed (" + std::string(path) + ", " + std::string(privilege) + ")";
}

// qmpstatus of a guest state: running, paused or stopped.
inline std::string qmpstatus(const GuestState& s) {
  if (!s.running) return "stopped";
  return s.paused ? "paused" : "running";
}

// "VM" for qemu, "CT" for lxc, as Proxmox names them in messages.
inline std::string_view guest_word(GuestKind kind) {
  return kind == GuestKind::qemu ? "VM" : "CT";
}

}  // namespace pvb::mock
