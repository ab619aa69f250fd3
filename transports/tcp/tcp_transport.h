// TcpTransport: the Transport over a libuv TCP socket, either connected by us (connect()) or
// accepted by a TcpListener. Reading, writing and closing the stream are UvStreamTransport's
// (transports/uv_stream_transport.h); what is TCP's own:
//
// - connect(): DNS via uv_getaddrinfo, then each address in order, all within a timeout.
// - TCP_NODELAY is set on every socket: VNC traffic is many small interactive messages.
// - TCP keepalive, when asked for (TcpKeepalive): a connection that carries no traffic of our own
//   (a SPICE channel, whose TLS is end to end) can only learn that its peer vanished this way.
// - close(Flush): after our FIN, wait up to a second for the peer's (reading and dropping), and
//   drop unread input before closing, so Linux sends no RST that could destroy our last bytes.
//   close(Abort) resets the connection. An EOF with a pending socket error is a reset.
// - SIGPIPE is ignored process-wide once the first socket is made (unless the application set a
//   handler): libuv's writev() would otherwise kill the process when a peer resets.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transports/tcp/uv_stream_transport.h"

namespace pvb {

// A dead peer (a node that went away, a network that silently drops everything) is noticed
// after idle_s without traffic plus `probes` unanswered probes every interval_s, or when data we
// sent stays unacknowledged that long (TCP_USER_TIMEOUT). idle_s 0: off (the kernel's default,
// which never probes).
struct TcpKeepalive {
  uint32_t idle_s = 0;
  uint32_t interval_s = 10;
  uint32_t probes = 6;
  // The whole time to a dead peer's detection, as the kernel counts it.
  uint64_t detection_ms() const {
    return (static_cast<uint64_t>(idle_s) + static_cast<uint64_t>(interval_s) * probes) * 1000;
  }
};

struct TcpConnectOptions {
  std::string host;  // DNS name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 0;
  // DNS + connect, all addresses together. 0 expires at once (useful only to tests).
  uint64_t connect_timeout_ms = 15000;
  TcpKeepalive keepalive = {};  // set on the socket once connected
};

class TcpListener;

class TcpTransport : public UvStreamTransport {
 public:
  // Outgoing connection: resolves via uv_getaddrinfo, tries each address in order (IPv4 and
  // IPv6). Nothing happens until start().
  static std::unique_ptr<TcpTransport> connect(Loop& loop, TcpConnectOptions options);
  // (accepted sockets are made by TcpListener)

  ~TcpTransport() override;

  void start() override;

  // Addresses of the connection once established (kept after it closes); "" / 0 before.
  std::string local_address() const;
  uint16_t local_port() const;
  std::string peer_address() const;
  uint16_t peer_port() const;
  int fd() const;  // -1 if not open

 private:
  friend class TcpListener;
  friend struct TcpTransportTestAccess;  // tests: connect to a given address list
  struct DnsRequest;                     // the uv_getaddrinfo_t, freed in its callback

  TcpTransport(Loop& loop, TcpConnectOptions options);
  // Accepts the next connection of `server` into a new transport; nullptr if accept failed.
  static std::unique_ptr<TcpTransport> accept_from(Loop& loop, uv_stream_t* server);

  // Connecting: resolving (uv_getaddrinfo), then connecting to addresses_[next_address_ - 1].
  void resolved(int status, const struct addrinfo* result);
  void connect_to(std::vector<sockaddr_storage> addresses);  // in order, first success wins
  void try_next_address();
  bool make_socket();
  void connected_cb(int status);
  void connect_timed_out();
  bool deadline_passed();
  void cancel_connect_steps() override;

  // The stream's TCP specifics.
  std::string peer_name() const override;  // "host:port", brackets around IPv6
  void flushed() override;                 // linger for the peer's FIN
  int pending_error_at_eof() const override;
  void drop_unread_input() override;
  void remember_addresses();

  TcpConnectOptions options_;
  bool started_ = false;
  DnsRequest* dns_ = nullptr;
  std::unique_ptr<Timer> connect_timer_;
  std::unique_ptr<Timer> linger_timer_;  // close(Flush): waiting for the peer's FIN
  uint64_t deadline_ms_ = 0;
  std::vector<sockaddr_storage> addresses_;
  size_t next_address_ = 0;
  int last_connect_error_ = 0;

  sockaddr_storage local_{};
  sockaddr_storage peer_{};
};

}  // namespace pvb
