// The way up to a Proxmox host, as one seam: a REST exchange and a console WebSocket to a given
// host, each over whatever stack the frontend built (TCP or an HTTP proxy's tunnel, TLS with the
// host's trust), and a plain byte stream (no TLS) to any host:port, for SPICE: the node's
// spiceproxy on 3128 is plain HTTP CONNECT, and the SPICE channels carry their own TLS. The engine
// never names a socket or a TLS library; tests hand it in-memory pipes.
#pragma once

#include <memory>

#include "engine/io/api_host.h"
#include "engine/io/http_exchange.h"
#include "engine/io/transport.h"
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
  // An unstarted plain byte stream to `host` (TCP, or a tunnel through the user's HTTP proxy
  // when one applies to that host): on_connected once it is open, on_closed(error) when it could
  // not be. No TLS. Null when no transport could be made.
  virtual std::unique_ptr<Transport> open_stream(const ApiHost& host) = 0;
};

}  // namespace pvb
