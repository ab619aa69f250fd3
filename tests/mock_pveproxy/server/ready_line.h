// The one JSON line mock-pveproxy prints when it is ready: where it listens, how to trust it, and
// the credentials of its inventory, so a test or a person can connect without reading the JSON
// file:
//   {"port":40123,"fingerprint":"AA:BB:…","ca_file":"/tmp/…/ca.pem","user":"root@pam",
//    "password":"…","api_token":"root@pam!pvebridge=…","totp_user":"totp@pve",
//    "totp_password":"…","totp_secret":"GEZD…"}
// Fields the inventory cannot fill (no token, no TOTP user) are null.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/io/fingerprint.h"
#include "tests/mock_pveproxy/inventory.h"

namespace pvb::mock {

struct ReadyInfo {
  uint16_t port = 0;
  Sha256Fingerprint fingerprint{};
  std::string ca_file;
  uint16_t spice_proxy_port = 0;  // the mock spiceproxy (0: none)
  // With --also-listen: every listening port, `port` first ("ports":[...]; empty: not printed).
  std::vector<uint16_t> ports;
};

// Without the trailing newline. `user` is root@pam when the inventory has it, else its first user;
// `api_token` is that user's first token, `totp_user` the first user with a TOTP secret.
std::string ready_line(const ReadyInfo& info, const Inventory& inventory);

}  // namespace pvb::mock
