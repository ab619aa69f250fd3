// One measurement each: the harness is the local client of a started subject (pvebridge, a
// ceiling relay or a peer), drives one transfer through it, and reads the subject's cost from
// /proc and from its exit (rusage). Every run checks what it moved: the source stream byte for
// byte, the echo of every request, and (from the subject's `closed` event, when it prints one)
// that every byte written reached the far end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/bridge_throughput/proc_stats.h"
#include "bench/bridge_throughput/subjects.h"
#include "engine/core/error.h"

namespace pvb::bench {

struct TransferResult {
  uint64_t bytes = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // the subject's own, from the client's connect to its exit
  // VmHWM at the end of the transfer. (Not rusage's ru_maxrss: exec records the high-water mark of
  // the address space it replaces, i.e. the harness's own, in the child's.)
  uint64_t peak_rss_kib = 0;
  MemorySample steady;  // its memory at the end of the transfer
  // From the subject's `closed` event, per byte moved: bytes our code copied (ByteChain and the
  // codecs), the same without the WebSocket masking of what goes to the guest (the client masks
  // every payload byte once, into the frame: bytes_to_guest of them), and bytes handed into or
  // out of the TLS library (its own buffers).
  std::optional<double> copies_per_byte;
  std::optional<double> copies_besides_masking_per_byte;
  std::optional<double> tls_copies_per_byte;

  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
  double cpu_s_per_gib() const {
    return bytes > 0 ? cpu_seconds / (static_cast<double>(bytes) / (1024.0 * 1024 * 1024)) : 0;
  }
};

// Guest -> client: reads `bytes` of a `source` subject, checking every byte.
Result<TransferResult> run_download(Subject& s, uint64_t bytes);
// Client -> guest: writes `bytes` into a `sink` subject; ends when the subject reports `closed`
// (everything flushed towards the far end).
Result<TransferResult> run_upload(Subject& s, uint64_t bytes);

struct LatencyResult {
  size_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
  double mean_us = 0;
};
// Round trips of `size` bytes through two `echo` subjects, alternating one by one (so that a
// disturbance of the shared machine hits both alike), after a warm-up. count per subject.
Result<std::pair<LatencyResult, LatencyResult>> run_echo_pair(Subject& a, Subject& b, size_t count,
                                                              size_t size = 64);

struct StallResult {
  uint64_t bytes = 0;  // read in total (checked byte for byte across the stalls)
  int stalls = 0;
  double stall_seconds = 0;          // each
  uint64_t rss_reading_kib = 0;      // VmRSS just before the first stall
  uint64_t rss_stalled_max_kib = 0;  // the highest VmRSS seen while the client did not read
  uint64_t peak_rss_kib = 0;         // VmHWM at the end
};
// Reads `bytes` of a `source` subject in stalls + 1 parts, not reading for stall_seconds between
// them, sampling the subject's RSS meanwhile.
Result<StallResult> run_stalled_download(Subject& s, uint64_t bytes, int stalls,
                                         double stall_seconds);

struct ScaleResult {
  size_t sessions = 0;
  double setup_seconds = 0;        // pvebridge start -> the last session listening
  uint64_t rss_connected_kib = 0;  // every client connected (and not reading yet)
  uint64_t bytes = 0;              // all sessions together
  double seconds = 0;
  uint64_t rss_after_kib = 0;  // VmRSS right after the transfer
  uint64_t peak_rss_kib = 0;   // VmHWM after the transfer
  double mb_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0; }
};
// `sessions` consoles of `guest` in one pvebridge process; with a `source` guest, reads
// bytes_each from every session at once (one epoll loop).
Result<ScaleResult> run_scale(BenchEnv& env, TlsBackendKind backend, Guest guest, size_t sessions,
                              uint64_t bytes_each);

// Process start -> `listening` of one pvebridge (which then ends with SIGTERM). Seconds.
Result<double> run_setup(BenchEnv& env, TlsBackendKind backend, bool ticket_login);
// Process start -> exit of a program that does next to nothing (`pvebridge --version`,
// /bin/true): what starting it costs at all. Seconds.
Result<double> run_program(std::vector<std::string> argv);

double median(std::vector<double> v);
// The q-quantile (0 < q <= 1) by the nearest-rank method.
double percentile(std::vector<double> v, double q);

}  // namespace pvb::bench
