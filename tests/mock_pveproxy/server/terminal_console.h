// The node side of a termproxy console (PROTOCOL.md section 6), behind the console relay like the
// fake VM: it reads the client's first message "<user>:<ticket>\n" (within 10 s), checks it with
// the grant's verify_login, answers "OK", then runs a real program in a real pseudo-terminal and
// speaks termproxy's messages: "0:<n>:<bytes>" input, "1:<cols>:<rows>:" resize (the pty's size,
// so the program gets SIGWINCH), "2" keepalive; other bytes are skipped one at a time.
//
// The program is bash (--norc, interactive, job control) in a scripted environment:
// TERM=xterm-256color, PS1 "<what>$ " (ct200$, vm100-serial0$, pve1$), LANG=C.UTF-8, cwd /,
// an 80x20 pty. So clients see real terminal behaviour: echo, line editing, `stty size`, ^C
// reaching the foreground job. The program's exit ends the console (the relay then closes the
// connection, as pveproxy does).
//
// The term fault (MockOptions::term_fault) makes it misbehave: no_ok, garbage (something else
// than OK), close_mid_output (drop the connection after the first output), burst (64 MiB of
// output right after OK, as fast as the client takes it), refuse_token (checked by the API).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "engine/core/loop.h"
#include "engine/io/transport.h"
#include "tests/mock_pveproxy/mock_api.h"

namespace pvb::mock {

class TerminalConsole final : public Transport, private TransportSink {
 public:
  static constexpr uint64_t kLoginWindowMs = 10000;
  static constexpr uint64_t kBurstBytes = 64ull << 20;

  TerminalConsole(Loop& loop, ConsoleGrant::Terminal terminal, uint32_t vmid);
  ~TerminalConsole() override;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  // The shell's process id once it runs (tests), else -1.
  pid_t child_pid() const { return pid_; }

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  enum class Phase { login, silent, session, done };

  // The pty's sink.
  void on_data(ByteChain& data, bool end_stream) override;
  void on_write_low() override { write_queue().recheck(); }
  void on_closed(const Error& error) override;

  void process_input();
  void take_login();
  void take_messages();
  Error spawn_shell();
  void send_burst();
  void drain_pty();
  void resize(unsigned cols, unsigned rows);
  void end(Error error);
  void kill_child();

  ConsoleGrant::Terminal terminal_;
  uint32_t vmid_;
  Phase phase_ = Phase::login;
  ByteChain in_;   // client bytes not parsed yet
  ByteChain out_;  // bytes for the client not taken yet
  int master_ = -1;
  pid_t pid_ = -1;
  std::unique_ptr<Transport> pty_;
  Timer login_timer_;
  uint64_t output_bytes_ = 0;
  uint64_t burst_left_ = 0;
  bool burst_posted_ = false;
};

}  // namespace pvb::mock
