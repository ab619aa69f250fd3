// What the mock cluster holds: nodes, guests and users (with ACLs, API tokens and TOTP).
//
// JSON format (every key not marked optional is required; unknown keys are errors, so typos show):
//   {
//     "cluster": "mockcluster",                     // cluster name reported at login
//     "nodes": [ { "node": "pve1", "status": "online" } ],   // status optional: online|offline
//     "guests": [ {
//         "vmid": 100, "type": "qemu" | "lxc", "node": "pve1",
//         "status": "running" | "stopped",
//         "name": "web01",              // optional: Proxmox omits it for unnamed guests
//         "qmpstatus": "paused",        // optional, qemu only: "paused" for a paused running VM
//         "template": true,             // optional (also 0/1); templates must be stopped
//         "tags": "prod;web",           // optional, ';'-separated as Proxmox sends it
//         "pool": "production",         // optional
//         "lock": "backup",             // optional: start then fails "VM 104 is locked (backup)"
//         "hastate": "started",         // optional
//         "console": "rfb" | "source" | "sink" | "echo",  // optional, default rfb
//         "serial": "0,1",              // optional, qemu: its serial ports (serialN)
//         "maxcpu": 2, "maxmem": 2147483648, "maxdisk": 34359738368   // optional sizes
//     } ],
//     "users": [ {
//         "userid": "alice@pve",        // USER@REALM; root@pam is the superuser (all privileges)
//         "password": "…",
//         "totp": "GEZDGNBV…",          // optional base32 TOTP secret: login needs a second factor
//         "recovery": ["a1b2-…"],       // optional one-time recovery keys (second factor)
//         "acl": [ { "path": "/vms", "privs": ["VM.Audit", "VM.Console"] } ],   // optional
//         "tokens": [ { "tokenid": "pvebridge", "secret": "…",
//                       "privsep": false,          // optional: true = token's own acl ∩ user's
//                       "expire": 0,               // optional unix time, 0 = never
//                       "acl": [ … ] } ]           // optional, used with privsep
//     } ]
//   }
// ACL paths: "/", "/vms", "/vms/<vmid>", "/pool/<pool>", "/nodes", "/nodes/<node>". The most
// specific entry that applies wins (/vms/ID, then the guest's pool, then /vms, then /); privilege
// "*" means all of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb::mock {

enum class GuestKind { qemu, lxc };
std::string_view guest_kind_name(GuestKind kind);  // "qemu" / "lxc"

// What sits behind a guest's console websocket.
enum class ConsoleKind {
  rfb,     // a fake VM speaking RFB 3.8 with VNC authentication
  source,  // benchmark: sends bytes as fast as it can
  sink,    // benchmark: swallows bytes
  echo,    // benchmark: sends back what it gets
  // Benchmark, speaking RFB (None security): the splice's far end (transports/testing/
  // bench_console.h). rfb_source streams large Raw updates, rfb_echo answers each update request.
  rfb_source,
  rfb_echo,
};
std::string_view console_kind_name(ConsoleKind kind);

struct NodeEntry {
  std::string node;
  std::string status = "online";
  bool operator==(const NodeEntry&) const = default;
};

struct GuestEntry {
  uint32_t vmid = 0;
  GuestKind type = GuestKind::qemu;
  std::string node;
  std::string status = "stopped";
  std::string name;
  std::string qmpstatus;  // "" = same as status
  bool is_template = false;
  std::string tags;
  std::string pool;
  std::string lock;
  std::string hastate;
  ConsoleKind console = ConsoleKind::rfb;
  std::vector<int> serial_ports;  // qemu: the serialN its config has (termproxy serial consoles)
  std::string vga;                // qemu: its config's display ("qxl": a SPICE one); "" = std
  uint32_t maxcpu = 2;
  uint64_t maxmem = 2147483648;    // 2 GiB
  uint64_t maxdisk = 34359738368;  // 32 GiB

  bool operator==(const GuestEntry&) const = default;
};

struct AclEntry {
  std::string path;
  std::vector<std::string> privs;
  bool operator==(const AclEntry&) const = default;
};

struct TokenEntry {
  std::string tokenid;
  std::string secret;
  bool privsep = false;
  int64_t expire = 0;
  std::vector<AclEntry> acl;
  bool operator==(const TokenEntry&) const = default;
};

struct UserEntry {
  std::string userid;
  std::string password;
  std::string totp_secret;  // base32, "" = no second factor
  std::vector<std::string> recovery_keys;
  std::vector<AclEntry> acl;
  std::vector<TokenEntry> tokens;

  bool needs_second_factor() const { return !totp_secret.empty() || !recovery_keys.empty(); }
  const TokenEntry* find_token(std::string_view tokenid) const;
  bool operator==(const UserEntry&) const = default;
};

struct Inventory {
  std::string cluster_name = "mockcluster";
  std::vector<NodeEntry> nodes;
  std::vector<GuestEntry> guests;
  std::vector<UserEntry> users;

  const NodeEntry* find_node(std::string_view node) const;
  const GuestEntry* find_guest(uint32_t vmid) const;
  const UserEntry* find_user(std::string_view userid) const;

  // The default cluster: 3 nodes, qemu and lxc guests in every state pvebridge must handle
  // (paused, template, duplicate names, non-ASCII names, unnamed, tags, pools, a lock), the
  // benchmark consoles `source`, `sink` and `echo`, and the users root@pam (with API token
  // root@pam!pvebridge), alice@pve (no VM.Console on 100, cannot see 102) and totp@pve (TOTP).
  // tests/mock_pveproxy/default_inventory.json holds the same data.
  static Inventory builtin_default();

  bool operator==(const Inventory&) const = default;
};

// Parses and checks an inventory (unique vmids and users, known nodes, valid enums, templates
// stopped, base32 TOTP secrets). Errc::usage with "inventory: guests[3]: ..." on failure.
Result<Inventory> parse_inventory_json(std::string_view json);
Result<Inventory> load_inventory_file(const std::string& path);

}  // namespace pvb::mock
