// The engine's ListenerFactory on loopback TCP: each accepted connection is handed over with its
// peer address and, on Linux, the user id of the process that connected (socket_owner.h).
#pragma once

#include "engine/core/loop.h"
#include "engine/io/listener.h"

namespace pvb {

class TcpListenerFactory final : public ListenerFactory {
 public:
  explicit TcpListenerFactory(Loop& loop) : loop_(loop) {}
  Result<std::unique_ptr<Listener>> listen(const std::string& host, uint16_t port,
                                           AcceptFn on_accept) override;

 private:
  Loop& loop_;
};

}  // namespace pvb
