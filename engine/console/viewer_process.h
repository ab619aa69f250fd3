// Launches the VNC viewer (remote-viewer by default) as a child process with uv_spawn: no shell,
// the .vv path last on its command line (or "-" with the file on standard input), and an
// environment from which every variable pvebridge read a secret from has been removed. Its standard
// error is ours, not the terminal's: GTK's warnings would otherwise land between our own lines.
// We keep its last bytes (bounded) to show when it fails, and hand each line to a callback
// (--verbose shows them all).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/loop.h"

namespace pvb {

struct ViewerOptions {
  std::string program = "remote-viewer";
  std::vector<std::string> args;  // before the .vv argument (e.g. --kiosk)
  // Environment variables never passed to the viewer.
  std::vector<std::string> drop_env_prefixes = {"PVE_", "PVEBRIDGE_"};
  std::vector<std::string> drop_env_names;
  // How much of the viewer's standard error is kept (the last bytes) for stderr_tail().
  size_t stderr_keep_bytes = 16 * 1024;
  // Each line the viewer writes to standard error, as it comes (lines longer than
  // stderr_keep_bytes arrive in pieces). Not called after the viewer exited.
  std::function<void(std::string_view line)> on_stderr_line;
};

class ViewerProcess {
 public:
  // exit_status is the child's exit code, term_signal the signal that killed it (0 if none).
  using ExitFn = std::function<void(int64_t exit_status, int term_signal)>;

  // Starts `options.program` with `vv_argument` as its last argument. When `stdin_content` is not
  // empty it is written to the child's standard input, which is then closed (remote-viewer reads a
  // .vv from "-"). A missing program is Errc::viewer naming the package to install.
  static Result<std::unique_ptr<ViewerProcess>> spawn(Loop& loop, const ViewerOptions& options,
                                                      const std::string& vv_argument,
                                                      std::string stdin_content, ExitFn on_exit);
  ~ViewerProcess();
  ViewerProcess(const ViewerProcess&) = delete;
  ViewerProcess& operator=(const ViewerProcess&) = delete;

  int pid() const;
  bool running() const;
  // Sends SIGTERM after grace_ms (0 = now), unless the viewer exits first.
  void terminate_after(uint64_t grace_ms);
  // The last `max_lines` complete lines of what the viewer wrote to standard error (from the
  // last stderr_keep_bytes of it), joined with '\n'. Complete once the exit callback runs.
  std::string stderr_tail(size_t max_lines) const;

 private:
  struct State;
  explicit ViewerProcess(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace pvb
