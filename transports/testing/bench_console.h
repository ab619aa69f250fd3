// BenchConsole: the far end of the throughput benchmark (behind the mock's console websocket, or
// bench-far-end's bare TCP/TLS), as a Transport so the relay treats it like the fake VM. Made to
// cost nothing per byte:
// - source: an endless stream where byte i is (i mod 256), made of slices of one shared,
//   read-only 64 KiB block (no copy, no per-byte work), emitted as fast as the relay reads
//   (it stops while reading is disabled, which is how backpressure reaches it);
// - sink: counts what it is given and drops it;
// - echo: hands back what it is given (the slices move, nothing is copied) when reading is
//   enabled; what waits is its pending_write_bytes(), like a VM that stopped reading its socket.
// An end of stream written to it is answered with an end of stream (after the echo drains).
#pragma once

#include <cstdint>

#include "engine/core/byte_chain.h"
#include "engine/io/transport.h"

namespace pvb {

class BenchConsole final : public Transport {
 public:
  // The source emits this much per loop iteration at most, then lets other I/O run.
  static constexpr size_t kSourceBurst = 256 * 1024;
  static constexpr size_t kPatternBytes = 64 * 1024;  // a multiple of 256: the pattern continues

  enum class Kind { source, sink, echo };
  BenchConsole(Loop& loop, Kind kind);
  ~BenchConsole() override = default;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  Kind kind() const { return kind_; }
  uint64_t bytes_in() const { return bytes_in_; }    // written to it
  uint64_t bytes_out() const { return bytes_out_; }  // emitted by it

  // Byte `offset` of the source's stream.
  static uint8_t source_byte(uint64_t offset) { return static_cast<uint8_t>(offset & 0xFF); }

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  void schedule_emit();
  void emit();

  Kind kind_;
  Slice pattern_;  // source: the shared block
  // write_queue(): echo: received, not yet handed back.
  ByteChain out_;  // emitted and not taken by the sink (re-offered first)
  bool started_ = false;
  bool emit_posted_ = false;
  bool end_written_ = false;  // an end of stream was written to us
  bool end_emitted_ = false;
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace pvb
