// MockApi terminal endpoints (PROTOCOL.md section 6): termproxy for guests (lxc console, qemu
// serial) and for a node's shell, the node shell's vncwebsocket, and a guest's config (where a
// client finds a VM's serial ports). The terminal itself runs in the I/O layer
// (server/terminal_console.h); the grant tells it what to run and how to check the login.
#include <algorithm>

#include "engine/core/json_writer.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/mock_api_internal.h"
#include "tests/mock_pveproxy/mock_crypto.h"
#include "tests/mock_pveproxy/permissions.h"

namespace pvb::mock {

MockResponse MockApi::guest_config(const GuestEntry& g) {
  JsonWriter w;
  w.begin_object();
  if (g.type == GuestKind::qemu) {
    if (!g.name.empty()) w.key("name").value(g.name);
    w.key("cores").value(int64_t{g.maxcpu});
    w.key("memory").value(std::to_string(g.maxmem / (1024 * 1024)));
    for (int n : g.serial_ports) w.key("serial" + std::to_string(n)).value("socket");
    if (!g.vga.empty()) w.key("vga").value(g.vga);
  } else {
    if (!g.name.empty()) w.key("hostname").value(g.name);
    w.key("cores").value(int64_t{g.maxcpu});
    w.key("tty").value(int64_t{2});
  }
  w.key("digest").value("0123456789abcdef0123456789abcdef01234567");
  w.end_object();
  return data_reply(w.str());
}

MockResponse MockApi::open_terminal(const std::string& node, uint32_t vmid,
                                    const std::string& acl_path, const std::string& kind,
                                    const AuthId& who) {
  std::optional<uint16_t> port =
      state_.free_port(options_.console_port_first, options_.console_port_last);
  if (!port) {
    return error_reply(500, "unable to find free port (" +
                                std::to_string(options_.console_port_first) + "-" +
                                std::to_string(options_.console_port_last) + ")");
  }
  std::string authid = who.full();
  std::string ticket = authority_.vnc_ticket(authid, acl_path, *port, "");
  std::string id = vmid ? std::to_string(vmid) : "";
  const TaskRecord& task =
      state_.add_task(node, vmid ? "vncproxy" : "vncshell", id, authid, kNever, "");
  ConsoleRecord console;
  console.port = *port;
  console.vmid = vmid;
  console.authid = authid;
  console.ticket = ticket;
  console.issued_ms = state_.now_ms();
  console.upid = task.upid;
  console.terminal = true;
  console.acl_path = acl_path;
  console.node = node;
  console.terminal_kind = kind;
  state_.open_console(console);
  ++counters_.vncproxy;

  JsonWriter w;
  w.begin_object();
  w.key("user").value(authid);
  w.key("ticket").value(ticket);
  w.key("port").value(std::to_string(*port));  // a string, as Proxmox sends it
  w.key("upid").value(task.upid);
  w.end_object();
  return data_reply(w.str());
}

MockResponse MockApi::termproxy(const MockRequest& request, const GuestEntry& g,
                                const AuthId& who) {
  std::string vmid = std::to_string(g.vmid);
  if (!state_.guest(g.vmid).running) {
    return error_reply(500, std::string(guest_word(g.type)) + " " + vmid + " not running");
  }
  std::string kind = "lxc";
  if (g.type == GuestKind::qemu) {
    const std::string* serial = find_field(request.params, "serial");
    kind = serial ? *serial : "serial0";
    int n = kind.back() - '0';
    if (std::find(g.serial_ports.begin(), g.serial_ports.end(), n) == g.serial_ports.end()) {
      return error_reply(500, "serial interface '" + kind + "' is not configured");
    }
  }
  return open_terminal(g.node, g.vmid, "/vms/" + vmid, kind, who);
}

MockResponse MockApi::node_termproxy(const RouteMatch& route, const AuthId& who) {
  std::string acl_path = "/nodes/" + route.node;
  if (!has_privilege(inventory_, who, acl_path, "Sys.Console")) {
    return error_reply(403, permission_message(acl_path, "Sys.Console"));
  }
  return open_terminal(route.node, 0, acl_path, "shell", who);
}

MockResponse MockApi::node_vncwebsocket(const MockRequest& request, const RouteMatch& route,
                                        const AuthId& who, UpgradeContext* upgrade) {
  std::string acl_path = "/nodes/" + route.node;
  if (!has_privilege(inventory_, who, acl_path, "Sys.Console")) {
    return error_reply(403, permission_message(acl_path, "Sys.Console"));
  }
  auto port = static_cast<uint16_t>(*parse_pve_integer(*find_field(request.params, "port")));
  const std::string& ticket = *find_field(request.params, "vncticket");
  std::string authid = who.full();
  bool ticket_ok =
      !options_.reject_ticket() && authority_.verify_vnc_ticket(ticket, authid, acl_path, port);
  MockResponse reply;
  if (ticket_ok) {
    JsonWriter w;
    w.begin_object().key("port").value(std::to_string(port)).end_object();
    reply = data_reply(w.str());
  } else {
    reply = error_reply(500, "permission denied - invalid PVEVNC ticket");
  }
  if (upgrade == nullptr) return reply;
  if (!request.headers.get("Upgrade")) return reply;
  if (reply.status != 200) return reply;
  ConsoleRecord* console = state_.find_console(port);
  if (console == nullptr || console->connected || !console->terminal ||
      console->acl_path != acl_path || console->ticket != ticket) {
    return error_reply(500, "failed to connect: Connection refused");
  }
  // The upgrade headers as for a guest's console (pveproxy's checks, its messages).
  std::string key(request.headers.get("Sec-WebSocket-Key").value_or(""));
  std::string protocols(request.headers.get("Sec-WebSocket-Protocol").value_or(""));
  if (protocols.find("binary") == std::string::npos || key.empty()) {
    return bare_reply(501, "missing websocket-protocol header");
  }
  state_.connect_console(port);
  ConsoleGrant grant;
  grant.node = route.node;
  grant.vmid = 0;
  grant.port = port;
  grant.authid = authid;
  grant.ws_protocol = "binary";
  grant.ws_accept = websocket_accept(key);
  attach_terminal(grant, *console);
  upgrade->grant = std::move(grant);
  return bare_reply(101, "Switching Protocols");
}

void MockApi::attach_terminal(ConsoleGrant& grant, const ConsoleRecord& console) {
  ConsoleGrant::Terminal t;
  t.kind = console.terminal_kind;
  t.node = console.node;
  t.fault = options_.term_fault();
  uint16_t port = console.port;
  t.verify_login = [this, port](std::string_view user, std::string_view ticket) {
    return verify_terminal_login(port, user, ticket);
  };
  grant.terminal = std::move(t);
}

bool MockApi::verify_terminal_login(uint16_t port, std::string_view user, std::string_view ticket) {
  const ConsoleRecord* c = state_.find_console(port);
  if (c == nullptr || !c->terminal || user != c->authid) return false;
  // Servers before the April 2026 updates (guests) and pve-manager 9.0.13 (node shells) refuse
  // API tokens here.
  if (options_.term_fault() == TermFault::refuse_token &&
      user.find('!') != std::string_view::npos) {
    return false;
  }
  return authority_.verify_vnc_ticket(ticket, user, c->acl_path, port);
}

}  // namespace pvb::mock
