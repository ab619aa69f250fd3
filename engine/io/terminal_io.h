// The user's own terminal as the engine sees it (a terminal console's local end): standard input
// and standard output as Transports (input: on_data and end_stream at EOF; output: write() with
// the write watermarks, so a paused terminal is seen as backpressure), and the terminal's mode and
// size. pvebridge implements it over POSIX file descriptors (transports/tty/); tests hand the
// session in-memory pipes and a scripted size.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "engine/core/error.h"
#include "engine/io/transport.h"

namespace pvb {

struct TerminalSize {
  unsigned cols = 0;
  unsigned rows = 0;
  bool operator==(const TerminalSize&) const = default;
};

class TerminalIo {
 public:
  virtual ~TerminalIo() = default;

  // Standard input is a terminal: raw mode, escapes and resizes apply. Otherwise it is a pipe or
  // a file: its bytes are sent as they are.
  virtual bool interactive() const = 0;
  // Raw mode on the terminal (no echo, no line editing, no signals from ^C, no output
  // processing). restore_mode() puts back exactly what was there; both may be called any number
  // of times, and the implementation restores on its own on every way out it can catch.
  virtual Error enter_raw_mode() = 0;
  virtual void restore_mode() = 0;
  // The terminal's size now (nullopt when there is no terminal or it does not say).
  virtual std::optional<TerminalSize> size() const = 0;
  // Called on the loop after each size change (SIGWINCH).
  virtual void set_resize_handler(std::function<void()> handler) = 0;

  // Not started: the session sets itself as their sink and starts them. Output that closes with
  // Errc::connection_lost means its reader went away (a closed pipe).
  virtual Transport& input() = 0;
  virtual Transport& output() = 0;
};

}  // namespace pvb
