// Child processes for the program tests: run a command to completion with its output captured
// (curl, python3), and start mock-pveproxy and wait for its ready line. Every wait has a hang
// guard: a broken program fails the test instead of hanging the suite.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pvb::mock::test {

struct CommandResult {
  int exit_code = -1;  // -1 when it did not exit normally (signal, or killed by the guard)
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs argv[0] (a path, not looked up) with `input` on its stdin; kills it after `guard`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                          std::chrono::milliseconds guard = std::chrono::seconds(60));

// A started child with a pipe on its stdin (closing it is how --exit-on-stdin-eof ends it), its
// stdout read line by line, and its stderr going to a file.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& stderr_file);
  ~ChildProcess();  // closes stdin, waits (guarded), then SIGKILLs if needed
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // The next line of stdout (without '\n'), or nullopt on EOF or when `guard` passed.
  std::optional<std::string> read_line(std::chrono::milliseconds guard);
  void close_stdin();
  void signal(int signum);
  // Waits for the exit; its status as from waitpid, or nullopt when `guard` passed.
  std::optional<int> wait(std::chrono::milliseconds guard);

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
  std::optional<int> status_;
};

}  // namespace pvb::mock::test
