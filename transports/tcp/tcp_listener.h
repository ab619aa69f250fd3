// TcpListener: accepts TCP connections on one address and hands each over as a TcpTransport, not
// yet started (the caller sets the sink and calls start()).
//
// By default only loopback addresses may be listened on: the console bridge exposes an
// unauthenticated VNC stream, so it must never be reachable from another machine by accident.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/core/error.h"
#include "engine/core/loop.h"
#include "transports/tcp/tcp_transport.h"

namespace pvb {

struct TcpListenOptions {
  bool loopback_only = true;
  int backlog = 16;
};

class TcpListener {
 public:
  using AcceptFn = std::function<void(std::unique_ptr<TcpTransport>)>;

  // Binds host:port (port 0 = random). host is an IPv4 or IPv6 literal, or "localhost"
  // (127.0.0.1, never looked up). With loopback_only, anything but 127.0.0.0/8 or ::1 is refused
  // with Errc::usage and a clear message, before binding. Accepted transports are handed over not
  // yet started (caller sets the sink and calls start()).
  static Result<std::unique_ptr<TcpListener>> listen(Loop& loop, const std::string& host,
                                                     uint16_t port, AcceptFn on_accept,
                                                     TcpListenOptions options = {});
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return address_; }
  // Stop accepting (also in the destructor). Safe from inside on_accept.
  void close();

 private:
  struct Handle;  // the uv_tcp_t and the accept callback, freed in libuv's close callback
  TcpListener() = default;

  Handle* handle_ = nullptr;
  std::string address_;
  uint16_t port_ = 0;
};

}  // namespace pvb
