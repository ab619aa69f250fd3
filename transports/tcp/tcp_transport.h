// TcpTransport: the Transport over a libuv TCP socket, either connected by us (connect()) or
// accepted by a TcpListener.
//
// - Reads land directly in the receive ByteChain (libuv's alloc callback reserves at least 4 KiB of
//   it, the read callback commits); EOF is delivered as end_stream and we may still write.
// - write() moves the slices into a pending chain; they go out as uv_write iovecs and stay pinned
//   in an in-flight chain until libuv's write callback. pending_write_bytes() = queued + in flight.
// - TCP_NODELAY is set on every socket: VNC traffic is many small interactive messages.
// - close(Flush) sends what is pending, shuts down our direction, closes; incoming bytes are read
//   and dropped meanwhile (so two sides flushing towards each other cannot deadlock, and closing a
//   socket with unread bytes does not turn into an RST). close(Abort) resets the connection.
// - SIGPIPE is ignored process-wide once the first socket is made (unless the application set a
//   handler): libuv's writev() would otherwise kill the process when a peer resets.
// - libuv handles and requests live in heap blocks freed by libuv's own callbacks, so the
//   transport may be destroyed at any time (from inside its own callbacks via Loop::defer_delete).
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transports/transport.h"

namespace pvb {

struct TcpConnectOptions {
  std::string host;  // DNS name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 0;
  // DNS + connect, all addresses together. 0 expires at once (useful only to tests).
  uint64_t connect_timeout_ms = 15000;
};

class TcpListener;

class TcpTransport : public Transport {
 public:
  // Outgoing connection: resolves via uv_getaddrinfo, tries each address in order (IPv4 and
  // IPv6). Nothing happens until start().
  static std::unique_ptr<TcpTransport> connect(Loop& loop, TcpConnectOptions options);
  // (accepted sockets are made by TcpListener)

  ~TcpTransport() override;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;
  size_t pending_write_bytes() const override;

  // Addresses of the connection once established (kept after it closes); "" / 0 before.
  std::string local_address() const;
  uint16_t local_port() const;
  std::string peer_address() const;
  uint16_t peer_port() const;
  int fd() const;  // -1 if not open

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  friend class TcpListener;
  friend struct TcpTransportTestAccess;  // tests: connect to a given address list
  struct Socket;      // the uv_tcp_t and its requests, freed in libuv's close callback
  struct DnsRequest;  // the uv_getaddrinfo_t, freed in its callback

  enum class State {
    idle,        // not started
    resolving,   // waiting for uv_getaddrinfo
    connecting,  // uv_tcp_connect to addresses_[next_address_ - 1]
    open,        // connected (or accepted)
    flushing,    // close(Flush): sending what is pending, then shutdown, then close
    closed,
  };

  TcpTransport(Loop& loop, TcpConnectOptions options);
  // Accepts the next connection of `server` into a new transport; nullptr if accept failed.
  static std::unique_ptr<TcpTransport> accept_from(Loop& loop, uv_stream_t* server);

  // Connecting.
  void resolved(int status, const struct addrinfo* result);
  void connect_to(std::vector<sockaddr_storage> addresses);  // in order, first success wins
  void try_next_address();
  void connected_cb(int status);
  void connect_timed_out();
  bool deadline_passed();
  void became_open();

  // Reading.
  void start_reading();
  void stop_reading();
  void read_cb(ssize_t nread);
  void reoffer_leftovers();

  // Writing and closing.
  void flush_writes();
  void write_cb(int status);
  void shutdown_cb(int status);
  void begin_flush();
  void linger_or_finish();
  void finish_flushed_close();
  void fail(Errc code, const std::string& what, int uv_error);
  void release_socket(bool reset);
  void cancel_connect_steps();

  std::string endpoint_name() const;  // "host:port" for messages, brackets around IPv6
  void remember_addresses();

  TcpConnectOptions options_;
  State state_ = State::idle;
  bool started_ = false;
  Socket* socket_ = nullptr;
  DnsRequest* dns_ = nullptr;
  std::unique_ptr<Timer> connect_timer_;
  std::unique_ptr<Timer> linger_timer_;  // close(Flush): waiting for the peer's FIN
  uint64_t deadline_ms_ = 0;
  std::vector<sockaddr_storage> addresses_;
  size_t next_address_ = 0;
  int last_connect_error_ = 0;

  ByteChain rx_;       // received, not yet consumed by the sink
  ByteChain pending_;  // written, not yet handed to uv_write
  bool reading_ = false;
  bool bulk_reads_ = false;    // the last reads filled their room: read into 64 KiB blocks
  size_t last_read_room_ = 0;  // room handed to the latest read
  bool write_in_flight_ = false;
  bool end_requested_ = false;    // end_stream written or close(Flush): shutdown once flushed
  bool close_requested_ = false;  // close(Flush) before the connection was open
  bool shutdown_sent_ = false;
  bool shutdown_done_ = false;
  bool eof_received_ = false;
  bool reoffer_posted_ = false;

  sockaddr_storage local_{};
  sockaddr_storage peer_{};
};

}  // namespace pvb
