// MemPipe: two in-memory transports connected back to back. What one end writes is delivered to
// the other on a later loop iteration, honouring the reader's read_disable, so tests can stack
// TLS/HTTP/WebSocket on it without sockets and observe backpressure deterministically.
#pragma once

#include <memory>
#include <utility>

#include "engine/io/transport.h"

namespace pvb {

class MemPipeEnd;

struct MemPipeOptions {
  // Largest number of bytes handed to the reader per delivery (SIZE_MAX: everything pending).
  size_t max_delivery = SIZE_MAX;
};

// Creates a connected pair. Each end may be destroyed independently; the other then sees a reset.
std::pair<std::unique_ptr<MemPipeEnd>, std::unique_ptr<MemPipeEnd>> make_mem_pipe(
    Loop& loop, MemPipeOptions options = {});

class MemPipeEnd : public Transport {
 public:
  MemPipeEnd(Loop& loop, MemPipeOptions options);
  ~MemPipeEnd() override;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  // Bytes sitting in this end's receive buffer, not consumed by its sink yet.
  size_t buffered_read_bytes() const { return rx_.size(); }

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  friend std::pair<std::unique_ptr<MemPipeEnd>, std::unique_ptr<MemPipeEnd>> make_mem_pipe(
      Loop&, MemPipeOptions);
  void schedule_delivery();  // to the peer
  void deliver();            // moves our out_ into the peer's rx_
  void peer_gone();
  void receive_end_and_maybe_finish();

  MemPipeOptions options_;
  MemPipeEnd* peer_ = nullptr;
  // write_queue(): written, not yet delivered to the peer.
  ByteChain rx_;  // delivered from the peer, not yet consumed by our sink
  bool started_ = false;
  bool out_end_ = false;  // write side ended (end_stream or Flush close) once out_ drains
  bool out_end_sent_ = false;
  bool rx_end_ = false;  // the peer's end_stream has arrived
  bool rx_end_told_ = false;
  bool delivery_scheduled_ = false;
  bool closing_ = false;
};

}  // namespace pvb
