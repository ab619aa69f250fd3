#include "tests/mock_pveproxy/server/terminal_console.h"

#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "transports/tcp/uv_stream_transport.h"

namespace pvb::mock {

namespace {

// The pty's master side as a libuv stream. The program's exit shows as EIO on a read: the
// stream then fails, which is the console's end.
class PtyMaster final : public UvStreamTransport {
 public:
  PtyMaster(Loop& loop, int fd) : UvStreamTransport(loop), fd_(fd) {}
  ~PtyMaster() override = default;

  void start() override {
    if (state_ != State::idle) return;
    state_ = State::connecting;
    auto* s = new Stream;
    if (uv_pipe_init(loop().raw(), &s->u.pipe, 0) != 0) {
      delete s;
      fail(Errc::io, "pty", UV_ENOMEM);
      return;
    }
    s->attach(this);
    stream_ = s;
    int r = uv_pipe_open(&s->u.pipe, fd_);
    if (r != 0) {
      fail(Errc::io, "pty", r);
      return;
    }
    post([this] {
      if (state_ == State::connecting) became_open();
    });
  }

 private:
  std::string peer_name() const override { return "the pty"; }
  int fd_;
};

std::string prompt_for(const ConsoleGrant::Terminal& t, uint32_t vmid) {
  if (t.kind == "lxc") return "ct" + std::to_string(vmid) + "$ ";
  if (t.kind == "shell") return t.node + "$ ";
  return "vm" + std::to_string(vmid) + "-" + t.kind + "$ ";
}

// In the child, before exec: a clean signal state and a scripted environment.
[[noreturn]] void exec_shell(const std::string& prompt) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  if (chdir("/") != 0) _exit(127);
  std::string ps1 = "PS1=" + prompt;
  const char* env[] = {"TERM=xterm-256color",
                       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "HOME=/",
                       "LANG=C.UTF-8",
                       "INPUTRC=/dev/null",
                       "HISTFILE=/dev/null",
                       ps1.c_str(),
                       nullptr};
  const char* bash[] = {"/bin/bash", "--norc", "--noprofile", "-i", nullptr};
  execve(bash[0], const_cast<char* const*>(bash), const_cast<char* const*>(env));
  const char* sh[] = {"/bin/sh", "-i", nullptr};
  execve(sh[0], const_cast<char* const*>(sh), const_cast<char* const*>(env));
  _exit(127);
}

}  // namespace

TerminalConsole::TerminalConsole(Loop& loop, ConsoleGrant::Terminal terminal, uint32_t vmid)
    : Transport(loop), terminal_(std::move(terminal)), vmid_(vmid), login_timer_(loop) {
  // What the client wrote and the shell has not taken: unparsed bytes and the pty's queue.
  write_queue().set_below([this] { return in_.size() + (pty_ ? pty_->pending_write_bytes() : 0); });
}

TerminalConsole::~TerminalConsole() {
  write_queue().set_below(nullptr);
  if (pty_) pty_->set_sink(nullptr);
  pty_.reset();
  kill_child();
}

void TerminalConsole::kill_child() {
  if (pid_ <= 0) return;
  // The pty is closed (the session's foreground job got SIGHUP from that); the shell goes now.
  kill(-pid_, SIGHUP);
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void TerminalConsole::start() {
  login_timer_.start(kLoginWindowMs, [this] {
    if (phase_ == Phase::login) end(Error(Errc::timeout, "no login within 10 s"));
  });
  post([this] { emit_connected(); });
}

void TerminalConsole::write(ByteChain& data, bool end_stream) {
  if (phase_ == Phase::done) {
    data.clear();
    return;
  }
  in_.move_from(data);
  process_input();
  write_queue().recheck();
  if (end_stream && phase_ != Phase::done) end(Error());
}

void TerminalConsole::close(CloseMode) {
  if (phase_ == Phase::done) return;
  end(Error());
}

void TerminalConsole::end(Error error) {
  if (phase_ == Phase::done) return;
  phase_ = Phase::done;
  login_timer_.stop();
  if (pty_) {
    pty_->set_sink(nullptr);
    pty_->close(CloseMode::Abort);
    loop().defer_delete(std::move(pty_));
  }
  kill_child();
  finish(std::move(error));
}

void TerminalConsole::process_input() {
  if (phase_ == Phase::login) take_login();
  if (phase_ == Phase::silent) in_.clear();
  if (phase_ == Phase::session) take_messages();
}

void TerminalConsole::take_login() {
  std::optional<size_t> nl = in_.find("\n", 0, 4096);
  if (!nl) {
    if (in_.size() > 4096) end(Error(Errc::protocol, "no login line"));
    return;
  }
  std::string line = in_.to_string(*nl);
  in_.drain(*nl + 1);
  size_t colon = line.find(':');
  bool ok = colon != std::string::npos && terminal_.verify_login &&
            terminal_.verify_login(std::string_view(line).substr(0, colon),
                                   std::string_view(line).substr(colon + 1));
  std::fill(line.begin(), line.end(), '\0');
  login_timer_.stop();
  if (!ok) return end(Error(Errc::console_refused, "login refused"));
  if (terminal_.fault == TermFault::no_ok) {
    phase_ = Phase::silent;
    return;
  }
  if (terminal_.fault == TermFault::garbage) {
    phase_ = Phase::silent;
    out_.append("HTTP/1.1 500 not a terminal\r\n\r\nOK");
    emit_data(out_, false);
    return;
  }
  Error e = spawn_shell();
  if (e.failed()) return end(e);
  phase_ = Phase::session;
  out_.append("OK");
  emit_data(out_, false);
  if (terminal_.fault == TermFault::burst) {
    burst_left_ = kBurstBytes;
    send_burst();
  }
}

void TerminalConsole::send_burst() {
  // 64 KiB at a time, only while the client side reads (the relay pauses us otherwise).
  while (burst_left_ > 0 && reading_enabled() && phase_ == Phase::session) {
    size_t n = std::min<uint64_t>(burst_left_, 64 * 1024);
    auto room = out_.reserve(n, 64 * 1024);
    n = std::min(n, room.size());
    for (size_t i = 0; i < n; ++i) {
      room[i] = static_cast<uint8_t>(i % 64 == 63 ? '\n' : 'a' + (i % 26));  // lines of 64
    }
    out_.commit(n);
    burst_left_ -= n;
    emit_data(out_, false);
    if (!burst_posted_) {
      burst_posted_ = true;
      post([this] {
        burst_posted_ = false;
        send_burst();
      });
      return;
    }
  }
}

Error TerminalConsole::spawn_shell() {
  winsize ws{};
  ws.ws_col = 80;
  ws.ws_row = 20;
  int master = -1;
  std::string prompt = prompt_for(terminal_, vmid_);
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) return Error(Errc::io, std::string("forkpty: ") + std::strerror(errno), errno);
  if (pid == 0) {
    // The session's leader (the controlling process) is not bash but this small process: when
    // a controlling process exits, the kernel hangs the terminal up and throws away the output
    // the master side has not read yet (the tail of a `cat big; exit`). So bash runs as its
    // child, this one lets go of the terminal at once, and waits to be killed: bash's exit then
    // just closes the slave side, and the master reads everything before EIO.
    pid_t shell = fork();
    if (shell == 0) exec_shell(prompt);
    for (int fd = 0; fd < 3; ++fd) ::close(fd);
    int status = 0;
    while (waitpid(shell, &status, 0) < 0 && errno == EINTR) {
    }
    for (;;) pause();
  }
  fcntl(master, F_SETFD, FD_CLOEXEC);
  pid_ = pid;
  master_ = master;
  pty_ = std::make_unique<PtyMaster>(loop(), master);
  pty_->set_sink(this);
  if (!reading_enabled()) pty_->read_disable(true);
  pty_->start();
  return Error();
}

void TerminalConsole::take_messages() {
  while (!in_.empty() && phase_ == Phase::session) {
    uint8_t type = in_.at(0);
    if (type == '2') {  // keepalive
      in_.drain(1);
      continue;
    }
    if (type != '0' && type != '1') {
      in_.drain(1);  // termproxy skips bad bytes one at a time
      continue;
    }
    // "T:" then numbers separated by ':'
    if (in_.size() < 2) return;
    if (in_.at(1) != ':') {
      in_.drain(1);
      continue;
    }
    size_t pos = 2;
    auto number = [&](uint64_t& v) -> int {  // 1 ok, 0 need more, -1 bad
      size_t start = pos;
      v = 0;
      while (pos < in_.size() && in_.at(pos) >= '0' && in_.at(pos) <= '9' && pos - start < 10) {
        v = v * 10 + (in_.at(pos) - '0');
        ++pos;
      }
      if (pos == in_.size()) return pos - start < 10 ? 0 : -1;
      if (pos == start || in_.at(pos) != ':') return -1;
      ++pos;
      return 1;
    };
    uint64_t a = 0, b = 0;
    int r = number(a);
    if (r == 0) return;
    if (r < 0) {
      in_.drain(1);
      continue;
    }
    if (type == '1') {
      r = number(b);
      if (r == 0) return;
      if (r < 0) {
        in_.drain(1);
        continue;
      }
      in_.drain(pos);
      resize(static_cast<unsigned>(a), static_cast<unsigned>(b));
      continue;
    }
    if (in_.size() < pos + a) return;  // the whole input message first
    in_.drain(pos);
    ByteChain bytes;
    bytes.move_from(in_, a);
    if (pty_) pty_->write(bytes);
  }
}

void TerminalConsole::resize(unsigned cols, unsigned rows) {
  if (master_ < 0 || cols == 0 || rows == 0 || cols > 65535 || rows > 65535) return;
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(cols);
  ws.ws_row = static_cast<unsigned short>(rows);
  ioctl(master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the foreground job
}

void TerminalConsole::on_read_enable_changed(bool enabled) {
  if (pty_) pty_->read_disable(!enabled);
  if (enabled && burst_left_ > 0) post([this] { send_burst(); });
}

void TerminalConsole::on_data(ByteChain& data, bool end_stream) {
  if (phase_ != Phase::session) {
    data.clear();
    return;
  }
  output_bytes_ += data.size();
  out_.move_from(data);
  emit_data(out_, false);
  if (terminal_.fault == TermFault::close_mid_output && output_bytes_ > 0) {
    return end(Error(Errc::connection_lost, "close_mid_output fault"));
  }
  if (end_stream) {
    drain_pty();
    end(Error());
  }
}

void TerminalConsole::drain_pty() {
  // libuv reports a hang-up after a short read as the end of the stream, but a pty hands out at
  // most a few KiB per read: what the program wrote last may still be waiting. Read it all (the
  // kernel holds a bounded amount) until EIO says the slave side is closed and empty.
  if (master_ < 0) return;
  uint8_t buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out_.append(buf, static_cast<size_t>(n));
    output_bytes_ += static_cast<uint64_t>(n);
  }
  if (!out_.empty()) emit_data(out_, false);
}

void TerminalConsole::on_closed(const Error&) {
  // EIO once the program exited and the pty has no more readers: the console is over.
  if (phase_ == Phase::session) drain_pty();
  end(Error());
}

}  // namespace pvb::mock
