#include "transports/testing/bench_console.h"

#include <cassert>

namespace pvb {

BenchConsole::BenchConsole(Loop& loop, Kind kind) : Transport(loop), kind_(kind) {
  if (kind_ == Kind::source) {
    ByteChain block;
    std::span<uint8_t> room = block.reserve(kPatternBytes);
    for (size_t i = 0; i < kPatternBytes; ++i) room[i] = source_byte(i);
    block.commit(kPatternBytes);
    pattern_ = block.front();
  }
}

void BenchConsole::start() {
  if (started_) return;
  started_ = true;
  post([this] {
    if (closed()) return;
    emit_connected();
    schedule_emit();
  });
}

void BenchConsole::write(ByteChain& data, bool end_stream) {
  if (closed() || end_written_) {
    data.clear();
    return;
  }
  bytes_in_ += data.size();
  if (kind_ == Kind::echo) {
    write_queue().move_from(data);
  } else {
    data.clear();
  }
  if (end_stream) end_written_ = true;
  if (kind_ == Kind::echo || end_stream) schedule_emit();
}

void BenchConsole::close(CloseMode) {
  out_.clear();
  finish(Error());
  write_queue().clear();  // after finish: nothing is reported from inside close()
}

void BenchConsole::on_read_enable_changed(bool enabled) {
  if (enabled) schedule_emit();
}

void BenchConsole::schedule_emit() {
  if (emit_posted_ || !started_ || closed()) return;
  emit_posted_ = true;
  post([this] {
    emit_posted_ = false;
    emit();
  });
}

void BenchConsole::emit() {
  if (closed() || !connected() || !reading_enabled()) return;
  if (kind_ == Kind::source && !end_written_) {
    while (out_.size() < kSourceBurst) out_.append_slice(pattern_);
  } else if (kind_ == Kind::echo) {
    write_queue().move_to(out_);
  }
  const bool end_now = end_written_ && !end_emitted_ && write_queue().empty();
  if (out_.empty() && !end_now) return;
  const size_t before = out_.size();
  if (end_now) end_emitted_ = true;
  emit_data(out_, end_now);
  bytes_out_ += before - out_.size();
  // The source goes on next iteration, so that reads and writes of other connections interleave.
  if (kind_ == Kind::source && !end_written_ && reading_enabled()) schedule_emit();
}

}  // namespace pvb
