#include "bench/bridge_throughput/proc_stats.h"

#include <dirent.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace pvb::bench {

std::optional<double> process_cpu_seconds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  uint64_t total_ns = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    // First field: time spent on a CPU, in ns (user and system together).
    FILE* f = std::fopen((dir + "/" + e->d_name + "/schedstat").c_str(), "r");
    if (f == nullptr) continue;  // a thread that just exited
    unsigned long long ns = 0;
    if (std::fscanf(f, "%llu", &ns) == 1) total_ns += ns;
    std::fclose(f);
  }
  closedir(d);
  return static_cast<double>(total_ns) / 1e9;
}

std::optional<MemorySample> process_memory(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (f == nullptr) return std::nullopt;
  MemorySample m;
  char line[256];
  bool seen = false;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long kib = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kib) == 1) {
      m.rss_kib = kib;
      seen = true;
    } else if (std::sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
      m.hwm_kib = kib;
    } else if (std::sscanf(line, "RssAnon: %llu kB", &kib) == 1) {
      m.rss_anon_kib = kib;
    } else if (std::sscanf(line, "RssFile: %llu kB", &kib) == 1) {
      m.rss_file_kib = kib;
    }
  }
  std::fclose(f);
  if (!seen) return std::nullopt;  // a zombie has no memory lines
  return m;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace pvb::bench
