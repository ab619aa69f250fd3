// What the harness reads about a running process from /proc: CPU time (every thread, in
// nanoseconds: /proc/PID/task/*/schedstat, so short transfers are measured precisely) and memory
// (VmRSS now, VmHWM = peak resident set).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace pvb::bench {

// CPU seconds (user + system) the live threads of `pid` have used so far; nullopt if it is gone.
std::optional<double> process_cpu_seconds(pid_t pid);

struct MemorySample {
  uint64_t rss_kib = 0;       // VmRSS
  uint64_t hwm_kib = 0;       // VmHWM: the peak so far
  uint64_t rss_anon_kib = 0;  // RssAnon: the process's own memory (heap, stacks, buffers)
  uint64_t rss_file_kib = 0;  // RssFile: mapped files, i.e. the libraries' pages (shared)
};
std::optional<MemorySample> process_memory(pid_t pid);

// Seconds on a monotonic clock (steady_clock), for all timings of the harness.
double now_seconds();

}  // namespace pvb::bench
