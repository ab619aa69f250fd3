// PosixTerminal: the TerminalIo of this process (standard input and output), on POSIX: termios
// for raw mode, TIOCGWINSZ for the size, SIGWINCH for changes. The one place that knows terminal
// specifics; the engine sees only engine/io/terminal_io.h.
//
// Raw mode is undone by restore_mode(), by the destructor, and by an atexit handler, so the
// user's terminal is sane again on every way out the process takes (normal end, errors, the
// signals pvebridge handles). The descriptors' O_NONBLOCK flags (libuv sets them) are put back
// as well, so the shell after us does not inherit a non-blocking terminal.
#pragma once

#include <memory>

#include "engine/core/loop.h"
#include "engine/io/terminal_io.h"
#include "transports/tty/stdio_transport.h"

namespace pvb {

class PosixTerminal final : public TerminalIo {
 public:
  PosixTerminal(Loop& loop, int in_fd = 0, int out_fd = 1);
  ~PosixTerminal() override;

  bool interactive() const override { return interactive_; }
  Error enter_raw_mode() override;
  void restore_mode() override;
  std::optional<TerminalSize> size() const override;
  void set_resize_handler(std::function<void()> handler) override;
  Transport& input() override { return *input_; }
  Transport& output() override { return *output_; }

 private:
  Loop& loop_;
  int in_fd_;
  int out_fd_;
  bool interactive_;
  std::unique_ptr<StdioTransport> input_;
  std::unique_ptr<StdioTransport> output_;
  std::unique_ptr<SignalWatcher> winch_;
};

}  // namespace pvb
