// FakeUnixServer: a Unix stream socket server for the tests of UnixStreamTransport and QmpClient
// that need no QEMU: it accepts connections, keeps what each one sent, writes what the test says,
// and can answer line by line (a scripted QMP server). Raw libuv, independent of the code under
// test.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/loop.h"

namespace pvb::mock::test {

class FakeUnixServer {
 public:
  // Binds `path` and listens; ok() says whether that worked.
  FakeUnixServer(Loop& loop, std::string path);
  ~FakeUnixServer();
  FakeUnixServer(const FakeUnixServer&) = delete;
  FakeUnixServer& operator=(const FakeUnixServer&) = delete;

  bool ok() const { return listening_; }
  size_t connections() const { return connections_.size(); }
  // What connection `i` sent so far, and whether it ended its direction.
  const std::string& received(size_t i) const;
  bool ended(size_t i) const;
  void send(size_t i, std::string_view data);
  void close_connection(size_t i);
  // Stops reading from connection `i` (its sender's writes then back up in the kernel).
  void pause_reading(size_t i);

  // Called for each new connection (its index), and for each complete line (without "\r\n")
  // a connection sent.
  std::function<void(size_t)> on_accept;
  std::function<void(size_t, const std::string&)> on_line;

  struct Connection;  // (public for the close callback)

 private:
  struct Listener;
  void accepted();
  void read(Connection& c, std::string_view data);

  Loop& loop_;
  Listener* listener_ = nullptr;
  bool listening_ = false;
  std::vector<Connection*> connections_;
};

}  // namespace pvb::mock::test
