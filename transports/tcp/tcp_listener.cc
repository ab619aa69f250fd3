#include "transports/tcp/tcp_listener.h"

#include <netinet/in.h>

namespace pvb {

struct TcpListener::Handle {
  uv_tcp_t tcp;
  Loop* loop = nullptr;
  // Lives here rather than in the listener so that on_accept may destroy the listener.
  AcceptFn on_accept;
  bool open = true;
};

namespace {

bool is_loopback(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in&>(ss).sin_addr.s_addr);
    return (a >> 24) == 127;
  }
  const in6_addr& a6 = reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(&a6);
}

std::string endpoint(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

Result<std::unique_ptr<TcpListener>> TcpListener::listen(Loop& loop, const std::string& host,
                                                         uint16_t port, AcceptFn on_accept,
                                                         TcpListenOptions options) {
  // A name is never looked up: what we bind must be exactly what was checked.
  const std::string literal = host == "localhost" ? "127.0.0.1" : host;
  sockaddr_storage ss{};
  if (uv_ip4_addr(literal.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(literal.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    return Error(Errc::usage, "cannot listen on " + endpoint(host, port) +
                                  ": not an IP address (give 127.0.0.1 or ::1)");
  }
  if (options.loopback_only && !is_loopback(ss)) {
    return Error(Errc::usage, "refusing to listen on " + endpoint(host, port) +
                                  ": only loopback addresses (127.0.0.0/8, ::1) are allowed, so "
                                  "the console is not reachable from other machines");
  }

  auto* h = new Handle;
  h->loop = &loop;
  h->on_accept = std::move(on_accept);
  if (int r = uv_tcp_init(loop.raw(), &h->tcp); r != 0) {
    delete h;
    return Error(Errc::io, "cannot listen on " + endpoint(literal, port) + ": " + uv_strerror(r),
                 r);
  }
  h->tcp.data = h;
  std::unique_ptr<TcpListener> listener(new TcpListener);
  listener->handle_ = h;  // from here on, the listener's destructor closes the handle

  auto on_connection = [](uv_stream_t* server, int status) {
    auto* hh = static_cast<Handle*>(server->data);
    if (status != 0 || !hh->open) return;
    std::unique_ptr<TcpTransport> t = TcpTransport::accept_from(*hh->loop, server);
    if (t) hh->on_accept(std::move(t));
  };
  int r = uv_tcp_bind(&h->tcp, reinterpret_cast<const sockaddr*>(&ss), 0);
  // libuv may report a bind error (EADDRINUSE) only at listen time.
  if (r == 0)
    r = uv_listen(reinterpret_cast<uv_stream_t*>(&h->tcp), options.backlog, on_connection);
  if (r != 0) {
    return Error(Errc::io, "cannot listen on " + endpoint(literal, port) + ": " + uv_strerror(r),
                 r);
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&h->tcp, reinterpret_cast<sockaddr*>(&bound), &len);
  char name[INET6_ADDRSTRLEN] = {};
  uv_ip_name(reinterpret_cast<const sockaddr*>(&bound), name, sizeof name);
  listener->address_ = name;
  listener->port_ =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(bound).sin_port
                                       : reinterpret_cast<const sockaddr_in6&>(bound).sin6_port);
  return listener;
}

TcpListener::~TcpListener() {
  close();
}

void TcpListener::close() {
  if (!handle_) return;
  Handle* h = handle_;
  handle_ = nullptr;
  h->open = false;
  // on_accept may be running right now (close from inside it): it is freed with the handle.
  uv_close(reinterpret_cast<uv_handle_t*>(&h->tcp),
           [](uv_handle_t* x) { delete static_cast<Handle*>(x->data); });
}

}  // namespace pvb
