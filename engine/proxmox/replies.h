// Decoding of every Proxmox API reply pvebridge reads. Pure functions over the response body (no
// I/O), lenient where Proxmox is inconsistent (integers sent as strings, booleans as 0/1), strict
// where a wrong value would be dangerous (ports, tickets). Each is a fuzz target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/json.h"
#include "engine/proxmox/guest.h"

namespace pvb {

struct LoginReply {
  std::string username;
  std::string ticket;
  std::string csrf_token;
  bool need_tfa = false;  // ticket is then the "PVE:!tfa!..." challenge
};

struct GuestStatus {
  std::string status;     // running, stopped
  std::string qmpstatus;  // running, paused, ... (qemu only)
  std::string name;
  std::string lock;
};

struct TaskStatus {
  bool running = true;
  std::string exitstatus;  // when stopped: "OK", "WARNINGS: 2", or the error text
  bool succeeded() const {
    // A protocol fact on the data (PROTOCOL.md section 2), not on a message of ours.
    return !running && (exitstatus == "OK" || exitstatus.rfind("WARNINGS", 0) == 0);
  }
};

struct VncTicket {
  uint16_t port = 0;
  std::string ticket;
  std::optional<std::string> password;
  std::string user;
  std::string upid;
  std::string cert;
  // What the viewer must send for VNC authentication: the password if present, else the ticket.
  const std::string& vnc_password() const { return password ? *password : ticket; }
};

// Every Proxmox reply body is {"data": ...}: its "data" member (JSON null is returned as such; a
// missing member is Errc::protocol naming the reply).
Result<JsonElement> proxmox_reply_data(const JsonDocument& doc);

Result<LoginReply> decode_login(std::string_view body);
Result<std::vector<Guest>> decode_resources(std::string_view body);
Result<GuestStatus> decode_guest_status(std::string_view body);
Result<std::string> decode_upid(std::string_view body);
Result<TaskStatus> decode_task_status(std::string_view body);
Result<VncTicket> decode_vncproxy(std::string_view body);
Result<std::string> decode_version(std::string_view body);
// A 400 "Parameter verification failed." body names each refused parameter in its `errors`
// object ({"data":null,"errors":{"generate-password":"property is not defined in schema ..."}}).
// True when `name` is one of them.
bool param_error_names(std::string_view body, std::string_view name);

// termproxy's reply: port, ticket, user, upid (PROTOCOL.md section 6).
struct TermTicket {
  uint16_t port = 0;
  std::string ticket;
  std::string user;  // who the ticket was issued to (the token id for a token)
  std::string upid;
};
Result<TermTicket> decode_termproxy(std::string_view body);
// The serial ports a qemu guest's config (GET .../qemu/{vmid}/config) has: N of each "serialN"
// key (0..3), ascending.
Result<std::vector<int>> decode_serial_ports(std::string_view body);

}  // namespace pvb
