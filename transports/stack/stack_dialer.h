// StackDialer: the engine's Dialer over a HostConnector, the function that makes the stream to a
// host (TCP or an HTTP proxy's tunnel, then TLS with the host's trust, in pvebridge; MemPipe ends
// in tests). REST goes through a RestClient on it, consoles through a WsTransport on it.
#pragma once

#include <functional>
#include <memory>

#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "engine/io/dialer.h"

namespace pvb {

// Makes an unstarted transport to a host; null when none can be made.
using HostConnector = std::function<std::unique_ptr<Transport>(const ApiHost&)>;

class StackDialer final : public Dialer {
 public:
  // `rng` masks the WebSocket frames; it and `loop` must outlive every exchange and stream made.
  // `stream_connector` makes the plain streams of open_stream() (no TLS); none: open_stream()
  // gives null.
  StackDialer(Loop& loop, HostConnector connector, Random& rng,
              HostConnector stream_connector = nullptr);

  std::unique_ptr<HttpExchange> open_http(const ApiHost& host) override;
  std::unique_ptr<WebSocketStream> open_websocket(const ApiHost& host,
                                                  WebSocketRequest request) override;
  std::unique_ptr<Transport> open_stream(const ApiHost& host) override;

 private:
  Loop& loop_;
  HostConnector connector_;
  Random& rng_;
  HostConnector stream_connector_;
};

}  // namespace pvb
