// What the harness does with the Proxmox API itself, in process, with the project's own client:
// - the vncproxy call for the peer bridges (Node, Python): they get the WebSocket URL and the
//   authentication header on stdin and do the rest themselves;
// - the setup floor: the network work of `pvebridge connect` (TLS handshake, API round trips,
//   the WebSocket's TLS handshake and upgrade, the listener) timed inside an already running
//   process, so `pvebridge`'s setup time can be compared with what the network alone costs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "transports/tls/tls_config.h"

namespace pvb::bench {

// From mock-pveproxy's ready line.
struct MockServerInfo {
  uint16_t port = 0;
  std::string ca_file;
  std::string user;
  std::string password;
  std::string api_token;
};
Result<MockServerInfo> parse_mock_ready_line(const std::string& line);

struct PeerConsole {
  std::string url;  // wss://localhost:PORT/api2/json/nodes/.../vncwebsocket?port=..&vncticket=..
  std::vector<std::pair<std::string, std::string>> headers;  // the Authorization header
};

// vncproxy for the guest named `guest_name`, with the API token, as pvebridge would ask it.
Result<PeerConsole> open_peer_console(const MockServerInfo& mock, const std::string& guest_name);

// `runs` times: from nothing to a listening console of `guest_name`, in this process, each run
// with a fresh TLS context (so a full handshake, like a new pvebridge process). Seconds each.
Result<std::vector<double>> time_console_setup(const MockServerInfo& mock, TlsBackendKind backend,
                                               bool ticket_login, const std::string& guest_name,
                                               size_t runs);

}  // namespace pvb::bench
