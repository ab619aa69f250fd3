// Calls back once standard input reaches end of file (or fails), so a test that started a test
// program (mock-pveproxy, fake-vm) with a pipe on its stdin never leaves it running: when the test
// process dies, the pipe closes. Its own library (pvb_stdin_eof_watch), linked by both programs.
#pragma once

#include <functional>

#include "engine/core/loop.h"

namespace pvb {

class StdinEofWatch {
 public:
  // Pipes, sockets and terminals are watched; anything else (a regular file, /dev/null) is at its
  // end already, so on_eof is posted at once.
  StdinEofWatch(Loop& loop, std::function<void()> on_eof);
  ~StdinEofWatch();
  StdinEofWatch(const StdinEofWatch&) = delete;
  StdinEofWatch& operator=(const StdinEofWatch&) = delete;

 private:
  struct Handle;  // the libuv stream, freed in its close callback
  Handle* h_ = nullptr;
  AliveToken alive_;
};

}  // namespace pvb
