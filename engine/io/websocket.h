// The console's upstream as the engine sees it: a Transport carrying the console's bytes (a
// WebSocket to pveproxy in production) that can also ping, for keepalive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "engine/io/http_exchange.h"
#include "engine/io/transport.h"

namespace pvb {

// What the engine asks for; the dialer adds the Host header, the key and the subprotocol.
struct WebSocketRequest {
  std::string path;     // origin-form target: "/api2/json/nodes/.../vncwebsocket?port=...&..."
  HttpHeaders headers;  // Cookie or Authorization
  // Payload bytes per frame we send (pveproxy's rules: PROTOCOL.md section 4).
  size_t max_frame_payload = 16 * 1024 - 8;
  uint64_t handshake_timeout_ms = 15000;
};

class WebSocketStream : public Transport {
 public:
  using Transport::Transport;

  // Sends a Ping (payload up to 125 bytes); false when not open or already closing.
  virtual bool send_ping(std::span<const uint8_t> payload) = 0;
  // Called with the payload of every Pong received.
  virtual void set_pong_handler(std::function<void(ByteChain&)> handler) = 0;
  // The transport under the WebSocket (TLS in production): what verified the server.
  virtual const Transport& lower() const = 0;
};

}  // namespace pvb
