// A program the harness runs and measures: pvebridge, the mock, the ceiling relays, the peers.
//
// - stdout is read by a thread of its own, line by line, each line stamped with the time it
//   arrived: a child that prints many events (1000 sessions) never blocks on a full pipe while the
//   harness is busy pumping bytes, and "process start -> listening" is timed at the arrival.
// - stderr is kept (its tail) for error messages.
// - The end is waited for with wait4(), whose rusage gives the CPU time of the whole life of the
//   process. (Not its peak RSS: ru_maxrss includes the high-water mark of the address space the
//   exec replaced, the harness's own; read VmHWM from /proc instead.)
// Secrets are passed through the environment or stdin, never argv.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/core/error.h"

namespace pvb::bench {

struct ChildOptions {
  std::vector<std::string> argv;  // argv[0] is the program path
  // Added to (or replacing in) the harness's own environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Removed from it (applied before `env`).
  std::vector<std::string> unset_env;
  // RLIMIT_NOFILE the child needs (the harness raises its own soft limit, up to the hard limit,
  // and the child inherits it); 0: as it is.
  uint64_t nofile = 0;
};

struct ChildLine {
  std::string text;
  double at = 0;  // now_seconds() when it arrived
};

struct ChildExit {
  int code = -1;           // exit status, or 128 + signal
  double cpu_seconds = 0;  // user + system over the whole life (rusage)
};

class Child {
 public:
  static Result<std::unique_ptr<Child>> spawn(ChildOptions options);
  ~Child();  // SIGKILLs a child still running
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  double started_at() const { return started_at_; }
  const std::string& name() const { return name_; }

  // The next stdout line; nullopt on timeout or when stdout ended.
  std::optional<ChildLine> read_line(double timeout_s);
  // Skips lines until one contains `needle`.
  std::optional<ChildLine> wait_for_line(std::string_view needle, double timeout_s);

  void write_stdin(std::string_view data);
  void close_stdin();
  void signal(int signum);
  // nullopt if still running after timeout_s.
  std::optional<ChildExit> wait(double timeout_s);
  bool exited() const { return exit_.has_value(); }
  // The last few KiB of its stderr, for error messages.
  std::string stderr_tail() const;

 private:
  Child() = default;
  // Reader threads: poll with a timeout so the destructor can stop them even if some grandchild
  // still holds the pipe open.
  void read_stdout();
  void read_stderr();

  std::string name_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  double started_at_ = 0;
  std::optional<ChildExit> exit_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ChildLine> lines_;
  bool out_eof_ = false;
  std::string err_text_;
  std::atomic<bool> stop_{false};
  std::thread out_thread_;
  std::thread err_thread_;
};

}  // namespace pvb::bench
