// The one interface every byte-moving layer implements: TCP, TLS, WebSocket, the in-memory pipes
// used by tests. Overlays (TLS over TCP, WebSocket over TLS) own the transport below them and are
// its sink, so a stack is built by composition and a test can slide a MemPipe or a ChunkLimiter in
// anywhere.
//
// Contract (every implementation, every test relies on it):
// - start() begins connecting / handshaking / reading. Writes made before on_connected are queued
//   and sent once connected.
// - write(data, end_stream) MOVES every slice out of `data` (no copy). end_stream = after these
//   bytes, end our direction (TCP shutdown, TLS close_notify, WebSocket Close).
// - on_data(buf, end_stream): `buf` is the transport's receive buffer. The sink consumes what it
//   can (drain or move_from); whatever it leaves stays and is offered again, in front of newer
//   bytes, on the next on_data. end_stream = the peer ended its direction; no more data follows.
// - read_disable(true/false) is counted: two reasons to pause need two resumes.
// - pending_write_bytes() = bytes accepted by write() and not yet handed to the layer below (or the
//   kernel). Crossing the high mark fires on_write_high (posted, and only if still above when it
//   runs); falling back to the low mark after being above fires on_write_low (always, even if the
//   posted high never fired). Memory is bounded by whoever honours those.
// - close(Flush) sends what is pending then closes; close(Abort) drops it (TCP RST where possible).
//   A Flush toward a peer that does not read gives up once nothing has moved for kFlushGraceMs:
//   the transport aborts and on_closed carries Errc::timeout. Every close ends in bounded time.
// - on_closed(error) comes exactly once, last, always posted or from I/O (never from inside a
//   public call): error.ok() when we closed it ourselves, otherwise why it ended.
// - Callbacks are never made re-entrantly from inside a call the user made; they come from I/O
//   callbacks or from posted tasks. A transport may be destroyed at any time (its libuv handles
//   close asynchronously); destroy it from inside its own callback only via Loop::defer_delete.
#pragma once

#include <cstddef>
#include <memory>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/core/loop.h"
#include "engine/core/watermark_chain.h"

namespace pvb {

class TransportSink {
 public:
  virtual ~TransportSink() = default;
  virtual void on_connected() {}
  virtual void on_data(ByteChain& data, bool end_stream) = 0;
  virtual void on_write_high() {}
  virtual void on_write_low() {}
  virtual void on_closed(const Error& error) = 0;
};

enum class CloseMode { Flush, Abort };

class Transport {
 public:
  static constexpr size_t kDefaultHighMark = 256 * 1024;
  static constexpr size_t kDefaultLowMark = 64 * 1024;
  // How long close(Flush) waits for a peer that takes none of our bytes (see the contract).
  static constexpr uint64_t kFlushGraceMs = 5000;

  explicit Transport(Loop& loop);
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  void set_sink(TransportSink* sink) { sink_ = sink; }
  TransportSink* sink() const { return sink_; }
  Loop& loop() const { return loop_; }

  virtual void start() = 0;
  virtual void write(ByteChain& data, bool end_stream = false) = 0;
  virtual void close(CloseMode mode) = 0;
  // The level of write_queue(): its bytes plus whatever it counts below it.
  size_t pending_write_bytes() const { return write_queue_.level(); }

  // Counted pause/resume of reading.
  void read_disable(bool disable);
  bool reading_enabled() const { return read_disable_count_ == 0; }

  bool connected() const { return connected_; }
  bool closed() const { return closed_; }
  // Why the transport ended (ok if it has not, or was closed by us).
  const Error& failure() const { return failure_; }

  void set_write_watermarks(size_t high, size_t low) { write_queue_.set_marks(high, low); }
  size_t write_high_mark() const { return write_queue_.high(); }
  size_t write_low_mark() const { return write_queue_.low(); }
  bool above_write_high() const { return write_queue_.above() && high_fired_; }

 protected:
  // Implementations: called when reading flips between enabled and disabled.
  virtual void on_read_enable_changed(bool enabled) = 0;

  // Helpers for implementations. The emit_* helpers call the sink directly: use them from I/O
  // callbacks. From inside a public method, use post().
  void emit_connected();
  void emit_data(ByteChain& data, bool end_stream);
  // The pending-write queue: bytes accepted by write() and not handed down yet. It re-checks the
  // marks on every change: "high" is then posted (and re-checked when it runs), "low" delivered
  // directly on every fall to the low mark (never after the transport ended, so clearing the queue
  // while closing reports nothing). An overlay counts its lower transport's bytes as well
  // (WatermarkChain::set_below; see TransportOverlay).
  WatermarkChain& write_queue() { return write_queue_; }
  const WatermarkChain& write_queue() const { return write_queue_; }
  // Ends the transport: records the error, posts on_closed once. Later calls are ignored.
  void finish(Error error);
  // Runs fn later on the loop, unless this transport has been destroyed by then.
  void post(std::function<void()> fn);

 private:
  Loop& loop_;
  TransportSink* sink_ = nullptr;
  void went_high();
  void went_low();

  AliveToken alive_;
  WatermarkChain write_queue_{kDefaultHighMark, kDefaultLowMark};
  bool high_fired_ = false;
  bool high_posted_ = false;
  int read_disable_count_ = 0;
  bool connected_ = false;
  bool closed_ = false;
  Error failure_;
};

}  // namespace pvb
