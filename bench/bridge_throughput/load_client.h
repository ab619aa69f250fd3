// The local TCP client of every measurement: the harness itself, on plain blocking sockets (one
// thread is far faster than any bridge it drives), or one epoll loop for many connections.
//
// What comes from a `source` console is checked byte for byte (byte i of the stream is i mod 256,
// see transports/testing/bench_console.h): a lost, repeated or reordered byte fails the
// run. The check is a memcmp against a pattern table, so it costs the client next to nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/error.h"

namespace pvb::bench {

// An open client socket (closed on destruction).
class ClientSocket {
 public:
  // Connects to 127.0.0.1:port with TCP_NODELAY; reads and writes time out after io_timeout_s.
  static Result<ClientSocket> connect_loopback(uint16_t port, double io_timeout_s = 60);
  ClientSocket() = default;
  ClientSocket(ClientSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ClientSocket& operator=(ClientSocket&& o) noexcept;
  ~ClientSocket() { close(); }

  int fd() const { return fd_; }
  void close();
  // Ends our direction (the peer reads EOF) but keeps reading possible.
  void shutdown_write();

  // Reads exactly `bytes` of the source stream, which is at stream offset `offset` now.
  Error read_source(uint64_t bytes, uint64_t offset = 0);
  // Sends `bytes` bytes (any content: the sink only counts them).
  Error write_bytes(uint64_t bytes);
  // Reads until the peer closes; the bytes are dropped. Returns how many came.
  Result<uint64_t> read_to_end();
  // `count` round trips of `size` bytes (each echo is checked); microseconds each.
  Result<std::vector<double>> echo_round_trips(size_t count, size_t size);

 private:
  explicit ClientSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// True when `n` bytes at `data` are the source stream at `offset`.
bool is_source_stream(const uint8_t* data, size_t n, uint64_t offset);

// Reads `bytes_each` of the source stream from every socket at once (one epoll loop), checking
// every byte. Fails on a wrong byte, an early end, or no progress for `stall_timeout_s`.
Error read_source_many(const std::vector<ClientSocket*>& sockets, uint64_t bytes_each,
                       double stall_timeout_s = 60);

}  // namespace pvb::bench
