// UnixStreamTransport: the Transport over a libuv pipe connected to a Unix stream socket. This is
// how mock-pveproxy --qemu reaches a real QEMU: its VNC display and its QMP monitor both listen
// on Unix sockets, as on a Proxmox node (/var/run/qemu-server/<vmid>.vnc and .qmp), so the
// console relay never opens a TCP port.
//
// Reading, writing and closing the stream are UvStreamTransport's
// (transports/uv_stream_transport.h), shared with TcpTransport; what is a Unix socket's own:
// - connect to a path; a failed connect is Errc::connect whose native() is the libuv error
//   (UV_ENOENT: nothing at that path yet, UV_ECONNREFUSED: nobody listening), so callers can retry
//   while the server starts;
// - close(Flush) closes as soon as our direction is shut down (no linger: a Unix socket never
//   turns unread bytes into a reset); close(Abort) just closes.
#pragma once

#include <memory>
#include <string>

#include "transports/tcp/uv_stream_transport.h"

namespace pvb::mock {

class UnixStreamTransport final : public UvStreamTransport {
 public:
  // Nothing happens until start(). A path longer than a sockaddr_un holds fails at start().
  static std::unique_ptr<UnixStreamTransport> connect(Loop& loop, std::string path);
  ~UnixStreamTransport() override;

  void start() override;

  const std::string& path() const { return path_; }

 private:
  UnixStreamTransport(Loop& loop, std::string path);

  void connected_cb(int status);
  std::string peer_name() const override { return path_; }

  std::string path_;
};

}  // namespace pvb::mock
