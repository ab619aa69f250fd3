// UnixStreamTransport: the Transport over a libuv pipe connected to a Unix stream socket. This is
// how mock-pveproxy --qemu reaches a real QEMU: its VNC display and its QMP monitor both listen
// on Unix sockets, as on a Proxmox node (/var/run/qemu-server/<vmid>.vnc and .qmp), so the
// console relay never opens a TCP port.
//
// Same contract and structure as TcpTransport (transports/tcp/tcp_transport.h), minus what only
// TCP has (DNS, addresses, resets, TCP_NODELAY):
// - reads land directly in the receive ByteChain; EOF is delivered as end_stream;
// - write() moves slices into a pending chain, sent as uv_write iovecs and pinned in an in-flight
//   chain until libuv's write callback; pending_write_bytes() = queued + in flight;
// - close(Flush) sends what is pending, shuts our direction down, then closes (input read
//   meanwhile is dropped); close(Abort) drops what is pending;
// - a failed connect is Errc::connect whose native() is the libuv error (UV_ENOENT: nothing at
//   that path yet, UV_ECONNREFUSED: nobody listening), so callers can retry while the server
//   starts.
#pragma once

#include <memory>
#include <string>

#include "transports/transport.h"

namespace pvb::mock {

class UnixStreamTransport final : public Transport {
 public:
  // Nothing happens until start(). A path longer than a sockaddr_un holds fails at start().
  static std::unique_ptr<UnixStreamTransport> connect(Loop& loop, std::string path);
  ~UnixStreamTransport() override;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;
  size_t pending_write_bytes() const override;

  const std::string& path() const { return path_; }

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  struct Pipe;  // the uv_pipe_t and its requests, freed in libuv's close callback

  enum class State { idle, connecting, open, flushing, closed };

  UnixStreamTransport(Loop& loop, std::string path);

  void connected_cb(int status);
  void start_reading();
  void stop_reading();
  void read_cb(ssize_t nread);
  void reoffer_leftovers();
  void flush_writes();
  void write_cb(int status);
  void shutdown_cb(int status);
  void begin_flush();
  void fail(Errc code, const std::string& what, int uv_error);
  void release_pipe();
  void finish_closed();

  std::string path_;
  State state_ = State::idle;
  Pipe* pipe_ = nullptr;
  ByteChain rx_;
  ByteChain pending_;
  bool reading_ = false;
  bool write_in_flight_ = false;
  bool end_requested_ = false;
  bool close_requested_ = false;  // close(Flush) while still connecting
  bool shutdown_sent_ = false;
  bool shutdown_done_ = false;
  bool eof_received_ = false;
  bool reoffer_posted_ = false;
};

}  // namespace pvb::mock
