// StdioTransport: one direction of the process's standard input or output as a Transport, for a
// terminal console's local end. A terminal or a pipe (or socket) is a libuv stream: reads and
// writes never block the loop, and a reader that does not keep up (a paused terminal, a slow
// pipe) shows up as pending_write_bytes() above the high mark. A regular file (or /dev/null) is
// read and written with plain read(2)/write(2) from loop tasks (they do not block on such files).
//
// A write to a pipe nobody reads any more fails with Errc::connection_lost; other failures are
// Errc::io.
//
// Unlike a socket there is nothing to shut down: close(Flush) waits until the pending bytes are
// written, then ends; the descriptor itself stays open (it belongs to the process).
#pragma once

#include <memory>

#include "engine/io/transport.h"

namespace pvb {

class StdioTransport final : public Transport {
 public:
  enum class Direction { read, write };
  StdioTransport(Loop& loop, int fd, Direction direction);
  ~StdioTransport() override;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  struct Handle;  // the libuv handle and the bytes it holds; freed in libuv's close callback

  void start_reading();
  void read_file_chunk();
  void flush_writes();
  void write_cb(int status);
  void fail_io(const std::string& what, int uv_error);
  void release();

  int fd_;
  Direction direction_;
  bool is_file_ = false;
  Handle* handle_ = nullptr;
  ByteChain rx_;
  bool started_ = false;
  bool reading_ = false;
  bool eof_ = false;
  bool file_read_posted_ = false;
  bool flushing_ = false;
};

}  // namespace pvb
