// The local TCP client of every measurement: the harness itself, on plain blocking sockets (one
// thread is far faster than any bridge it drives), or one epoll loop for many connections.
//
// What comes from a `source` console is checked byte for byte (byte i of the stream is i mod 256,
// see transports/testing/bench_console.h): a lost, repeated or reordered byte fails the
// run. The check is a memcmp against a pattern table, so it costs the client next to nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/error.h"

namespace pvb::bench {

// An open client socket (closed on destruction).
class ClientSocket {
 public:
  // Connects to 127.0.0.1:port with TCP_NODELAY; reads and writes time out after io_timeout_s.
  static Result<ClientSocket> connect_loopback(uint16_t port, double io_timeout_s = 60);
  ClientSocket() = default;
  ClientSocket(ClientSocket&& o) noexcept : fd_(o.fd_), rfb_(o.rfb_) { o.fd_ = -1; }
  ClientSocket& operator=(ClientSocket&& o) noexcept;
  ~ClientSocket() { close(); }

  int fd() const { return fd_; }
  void close();
  // Ends our direction (the peer reads EOF) but keeps reading possible.
  void shutdown_write();

  // The viewer's side of the RFB handshake with an rfb_source or rfb_echo console (through a
  // subject): RFB 3.8, VNC authentication with `password` (None when that is offered),
  // ClientInit shared, ServerInit read, SetEncodings [Raw]; with `stream`, one
  // FramebufferUpdateRequest (an rfb_source streams from then on). Afterwards read_source()
  // checks the rfb_source's update stream (headers included) and echo_round_trips() times update
  // request -> 1x1 update of an rfb_echo.
  Error rfb_handshake(const std::string& password, bool stream);
  bool rfb() const { return rfb_; }

  // Reads exactly `bytes` of the source stream, which is at stream offset `offset` now.
  Error read_source(uint64_t bytes, uint64_t offset = 0);
  // Sends `bytes` bytes (any content: the sink only counts them).
  Error write_bytes(uint64_t bytes);
  // Reads until the peer closes; the bytes are dropped. Returns how many came.
  Result<uint64_t> read_to_end();
  // `count` round trips of `size` bytes (each echo is checked); microseconds each. After
  // rfb_handshake(): FramebufferUpdateRequest (10 bytes) -> 1x1 update (20 bytes), `size` unused.
  Result<std::vector<double>> echo_round_trips(size_t count, size_t size);

 private:
  explicit ClientSocket(int fd) : fd_(fd) {}
  Error read_exactly(void* dst, size_t n, const char* what);
  Error send_all(const void* src, size_t n, const char* what);
  int fd_ = -1;
  bool rfb_ = false;
  uint32_t rfb_requests_ = 0;  // FramebufferUpdateRequests sent
};

// True when `n` bytes at `data` are the source stream at `offset`.
bool is_source_stream(const uint8_t* data, size_t n, uint64_t offset);
// The same for an rfb_source's stream of updates (BenchConsole::kRfbUpdateBytes each: header,
// then the pattern), `offset` counted from the first update.
bool is_rfb_source_stream(const uint8_t* data, size_t n, uint64_t offset);

// Reads `bytes_each` of the source stream from every socket at once (one epoll loop), checking
// every byte. Fails on a wrong byte, an early end, or no progress for `stall_timeout_s`.
Error read_source_many(const std::vector<ClientSocket*>& sockets, uint64_t bytes_each,
                       double stall_timeout_s = 60);

}  // namespace pvb::bench
