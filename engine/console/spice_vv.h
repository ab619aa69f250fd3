// The .vv of a SPICE console: the keys Proxmox's spiceproxy answered (type=spice, host = the
// signed proxy ticket, tls-port, password, ca, host-subject, hotkeys, ...), as Proxmox means them
// to be written, with `proxy` pointing where pvebridge decided (the host the API was reached on,
// --spice-proxy, or the relay on loopback) and the user's title and full screen. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "engine/proxmox/spice_reply.h"

namespace pvb {

struct SpiceVvSpec {
  std::string proxy;  // "http://pve1.example.com:3128", "http://127.0.0.1:40123"
  std::string title;  // empty: Proxmox's own
  bool fullscreen = false;
  bool delete_this_file = true;
};

std::string build_spice_vv_file(const SpiceTicket& ticket, const SpiceVvSpec& spec);

// A value Proxmox already wrote in GKeyFile form (its `ca` holds "\n" as two characters):
// backslashes stay; raw line breaks become "\n", other control characters are dropped, and a
// lone trailing backslash (which GLib would refuse) too.
std::string keyfile_value_as_sent(std::string_view value);

}  // namespace pvb
