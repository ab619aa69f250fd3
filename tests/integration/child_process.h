// A child process for end-to-end tests: explicit argv and environment, stdout and stderr captured
// through pipes, line reads with a deadline (a test never hangs: a missing line fails the test),
// signals, and a bounded wait for the exit status.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pvb::testing {

class ChildProcess {
 public:
  // env: the complete environment (nothing inherited unless copied in).
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
               bool pipe_stdin = true);
  ~ChildProcess();  // SIGKILLs a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Next stdout line (without '\n'), or nullopt on EOF or after timeout_ms.
  std::optional<std::string> read_line(int timeout_ms = 10000);
  // Reads stdout lines until one contains `needle`; all lines read are kept in stdout_lines().
  std::optional<std::string> wait_for_line(const std::string& needle, int timeout_ms = 10000);
  // Reads whatever stdout and stderr hold now, without waiting and without consuming lines for
  // wait_for_line: stdout_lines() is then everything the child has printed so far.
  void read_available();
  void write_stdin(const std::string& data);
  void close_stdin();
  void signal(int signum);
  // Exit code (or 128+signal); nullopt if still running after timeout_ms.
  std::optional<int> wait(int timeout_ms = 10000);
  // Everything read from stdout / stderr so far (wait() drains both).
  const std::vector<std::string>& stdout_lines() const { return lines_; }
  const std::string& stderr_text() const { return err_; }

 private:
  void pump_pipes(int timeout_ms);
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, errfd_ = -1;
  std::string out_buf_;
  std::string err_;
  std::vector<std::string> lines_;
  size_t consumed_ = 0;
  bool out_eof_ = false, err_eof_ = false;
  std::optional<int> status_;
};

// The environment of this test process, for children that need PATH etc.
std::map<std::string, std::string> inherited_environment();

}  // namespace pvb::testing
