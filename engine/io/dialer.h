// The way up to a Proxmox host, as one seam: a REST exchange and a console WebSocket to a given
// host, each over whatever stack the frontend built (TCP or an HTTP proxy's tunnel, TLS with the
// host's trust). The engine never names a socket or a TLS library; tests hand it in-memory pipes.
#pragma once

#include <memory>

#include "engine/io/api_host.h"
#include "engine/io/http_exchange.h"
#include "engine/io/websocket.h"

namespace pvb {

class Dialer {
 public:
  virtual ~Dialer() = default;
  // A REST exchange with `host` (its connections are made on demand and kept alive).
  virtual std::unique_ptr<HttpExchange> open_http(const ApiHost& host) = 0;
  // An unstarted WebSocket to `host`: on_connected once the upgrade succeeded. Null when no
  // transport could be made.
  virtual std::unique_ptr<WebSocketStream> open_websocket(const ApiHost& host,
                                                          WebSocketRequest request) = 0;
};

}  // namespace pvb
