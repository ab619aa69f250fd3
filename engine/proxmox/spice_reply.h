// SPICE as the Proxmox API hands it out (PROTOCOL.md section 7), decoded without I/O: the reply of
// POST .../qemu/{vmid}/spiceproxy (the keys of a ready .vv), and whether a qemu guest's display is
// a SPICE one (its config's `vga`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/api_host.h"

namespace pvb {

// The node's SPICE proxy listens here (spiceproxy, its own daemon; not pveproxy's 8006).
constexpr uint16_t kSpiceProxyPort = 3128;

struct SpiceTicket {
  // Every key of the reply, as Proxmox sent it (numbers as decimal text), in its order: the .vv
  // is written from these, with `proxy` replaced (engine/console/spice_vv.h).
  std::vector<std::pair<std::string, std::string>> keys;
  // The ones pvebridge itself uses:
  std::string host;  // the signed proxy ticket "pvespiceproxy:<hex ts>:<vmid>:<node>:...::<sig>"
  uint16_t tls_port = 0;
  std::string proxy;     // "http://pve1.example.com:3128"
  std::string password;  // the one-shot SPICE password (set in QEMU, expires after 30 s)

  // What remote-viewer sends CONNECT to: "<host>:<tls-port>" (the ticket holds no '[').
  std::string connect_target() const { return host + ":" + std::to_string(tls_port); }
  // Never leaves secrets behind in freed memory.
  void wipe_secrets();
};

// spiceproxy's reply: `type` must be "spice"; `host`, `tls-port` (1..65535) and `password` are
// required; every scalar member is kept. Errc::protocol otherwise.
Result<SpiceTicket> decode_spiceproxy(std::string_view body);

// The display type of a `vga` config value ("qxl", "qxl2,memory=32", "type=virtio,memory=16");
// "" for an empty value.
std::string vga_type(std::string_view vga);
// Whether that display is one SPICE serves: qxl* and virtio* (Proxmox's "SPICE" displays).
bool vga_is_spice(std::string_view vga);
// The `vga` value of a qemu config reply (GET .../qemu/{vmid}/config); "" when it has none (the
// default display, std, which has no SPICE).
Result<std::string> decode_vga(std::string_view body);

// "http://pve1:3128" → {pve1, 3128} (the port defaults to 3128; IPv6 in brackets). Errc::protocol
// for anything else.
Result<ApiHost> parse_spice_proxy_url(std::string_view url);

}  // namespace pvb
