#include "transports/tty/posix_terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

namespace pvb {

namespace {

// What to put back at exit. Process-wide: there is one standard input.
struct SavedState {
  bool have_termios = false;
  int termios_fd = -1;
  termios saved{};
  int flags_fd[2] = {-1, -1};
  int flags[2] = {0, 0};
  bool atexit_registered = false;
};
SavedState g_saved;

void restore_saved() {
  if (g_saved.have_termios) {
    tcsetattr(g_saved.termios_fd, TCSAFLUSH, &g_saved.saved);
    g_saved.have_termios = false;
  }
}

void restore_flags() {
  for (int i = 0; i < 2; ++i) {
    if (g_saved.flags_fd[i] >= 0) fcntl(g_saved.flags_fd[i], F_SETFL, g_saved.flags[i]);
  }
}

void restore_at_exit() {
  restore_saved();
  restore_flags();
}

}  // namespace

PosixTerminal::PosixTerminal(Loop& loop, int in_fd, int out_fd)
    : loop_(loop), in_fd_(in_fd), out_fd_(out_fd), interactive_(isatty(in_fd) == 1) {
  g_saved.flags_fd[0] = in_fd;
  g_saved.flags[0] = fcntl(in_fd, F_GETFL);
  g_saved.flags_fd[1] = out_fd;
  g_saved.flags[1] = fcntl(out_fd, F_GETFL);
  if (!g_saved.atexit_registered) {
    g_saved.atexit_registered = true;
    std::atexit(restore_at_exit);
  }
  input_ = std::make_unique<StdioTransport>(loop, in_fd, StdioTransport::Direction::read);
  output_ = std::make_unique<StdioTransport>(loop, out_fd, StdioTransport::Direction::write);
}

PosixTerminal::~PosixTerminal() {
  restore_mode();
  winch_.reset();
  input_.reset();
  output_.reset();
  restore_flags();
}

Error PosixTerminal::enter_raw_mode() {
  if (!interactive_) return Error();
  if (g_saved.have_termios) return Error();
  termios t{};
  if (tcgetattr(in_fd_, &t) != 0) {
    return Error(Errc::io, "cannot read the terminal's settings (tcgetattr)", errno);
  }
  g_saved.saved = t;
  g_saved.termios_fd = in_fd_;
  // As ssh does: every byte goes to the remote side as typed (^C, ^Z, ^S included), and its
  // output reaches the screen unprocessed.
  t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXANY | IXOFF);
  t.c_oflag &= ~OPOST;
  t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t.c_cflag &= ~(CSIZE | PARENB);
  t.c_cflag |= CS8;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(in_fd_, TCSADRAIN, &t) != 0) {
    return Error(Errc::io, "cannot put the terminal in raw mode (tcsetattr)", errno);
  }
  g_saved.have_termios = true;
  return Error();
}

void PosixTerminal::restore_mode() {
  restore_saved();
}

std::optional<TerminalSize> PosixTerminal::size() const {
  winsize ws{};
  for (int fd : {in_fd_, out_fd_}) {
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
      return TerminalSize{ws.ws_col, ws.ws_row};
    }
  }
  return std::nullopt;
}

void PosixTerminal::set_resize_handler(std::function<void()> handler) {
  winch_ = std::make_unique<SignalWatcher>(loop_, SIGWINCH,
                                           [handler = std::move(handler)](int) { handler(); });
  winch_->unref();
}

}  // namespace pvb
