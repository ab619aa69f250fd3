// bridge-throughput: the end-to-end benchmark of pvebridge (bench/README.md; run it with
// bench/run_bridge.sh). See settings.cc (kUsage) for the command line.
//
// Every figure is taken against references measured in the same run, because the machines are
// shared and noisy: the ceilings (plain TCP relay pair; bare TLS relay pair per backend, same
// processes and hops as the bridge path, no WebSocket) and the peers (Node ws, Python
// websockets). Throughput figures are the median of --repeat runs, taken interleaved so that a
// disturbance hits every subject alike.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/bridge_throughput/measurements.h"
#include "bench/bridge_throughput/report.h"
#include "bench/bridge_throughput/settings.h"
#include "engine/core/json.h"
#include "engine/pump/pump.h"

namespace pvb::bench {
namespace {

// The TLS libraries' own record buffers per connection (one 16 KiB record each way, plus headers
// and the AEAD expansion: OpenSSL's rbuf/wbuf, mbedTLS's in_buf/out_buf, ~16.7 KiB each): the
// part of a session's memory the per-session target excludes.
constexpr double kTlsBuffersKiB = 34;

// The targets.
constexpr double kDownloadShare = 0.85;
constexpr double kUploadShare = 0.75;
constexpr double kPeerCpuShare = 0.5;
constexpr double kMaxCopiesPerByte = 1.0;
constexpr double kMaxAddedP99Us = 50;
constexpr double kMaxSessionKiB = 256;
constexpr double kMaxConnectRssKiB = 8 * 1024;
constexpr double kMaxSetupRatio = 2;
// "RSS stays flat" while the client does not read: growth within the pump's marks and one TLS
// delivery batch.
constexpr double kMaxStallGrowthKiB = 512;
// Issue 13: the RFB splice against --passthrough, same run.
constexpr double kSpliceShare = 0.95;        // throughput at least 95 % of --passthrough
constexpr double kSpliceMaxCpuRatio = 1.05;  // CPU s/GiB within 5 %
constexpr double kSpliceMaxAddedP99Us = 20;

enum class Direction { down, up };
const char* direction_key(Direction d) {
  return d == Direction::down ? "down" : "up";
}
std::string section_name(Direction d) {
  return d == Direction::down ? "guest → viewer (source guest): throughput and CPU"
                              : "viewer → guest (sink guest): throughput and CPU";
}

std::string backend_name(std::optional<TlsBackendKind> b) {
  return b ? std::string(tls_backend_name(*b)) : "";
}

// The median of each figure over the repeated runs.
struct TransferSummary {
  double mb_per_s = 0;
  double cpu_s_per_gib = 0;
  std::optional<double> copies;
  std::optional<double> copies_besides_masking;
  std::optional<double> tls_copies;
  double steady_rss_kib = 0;
  double steady_anon_kib = 0;
  double steady_file_kib = 0;
  double peak_rss_kib = 0;
};

TransferSummary summarize(const std::vector<TransferResult>& runs) {
  TransferSummary s;
  std::vector<double> mb, cpu, copies, besides, tls, steady, anon, file, peak;
  for (const TransferResult& r : runs) {
    mb.push_back(r.mb_per_s());
    cpu.push_back(r.cpu_s_per_gib());
    if (r.copies_per_byte) copies.push_back(*r.copies_per_byte);
    if (r.copies_besides_masking_per_byte) besides.push_back(*r.copies_besides_masking_per_byte);
    if (r.tls_copies_per_byte) tls.push_back(*r.tls_copies_per_byte);
    steady.push_back(static_cast<double>(r.steady.rss_kib));
    anon.push_back(static_cast<double>(r.steady.rss_anon_kib));
    file.push_back(static_cast<double>(r.steady.rss_file_kib));
    peak.push_back(static_cast<double>(r.peak_rss_kib));
  }
  s.mb_per_s = median(mb);
  s.cpu_s_per_gib = median(cpu);
  if (!copies.empty()) s.copies = median(copies);
  if (!besides.empty()) s.copies_besides_masking = median(besides);
  if (!tls.empty()) s.tls_copies = median(tls);
  s.steady_rss_kib = median(steady);
  s.steady_anon_kib = median(anon);
  s.steady_file_kib = median(file);
  s.peak_rss_kib = median(peak);
  return s;
}

class Harness {
 public:
  explicit Harness(Settings s) : s_(std::move(s)), env_(s_.paths, s_.server_backend) {}
  int run();

 private:
  bool mode(const char* m) const { return s_.modes.count(m) > 0; }
  void progress(const std::string& line) {
    std::fprintf(stderr, "  %s\n", line.c_str());
    std::fflush(stderr);
  }
  void failed(const std::string& what, const Error& e) {
    failures_.push_back(what + ": " + e.message());
    progress("FAILED " + failures_.back());
  }

  // One transfer through a freshly started subject, kept under `key`.
  void transfer(const std::string& key, const std::string& label, Direction d,
                const std::function<Result<Subject>()>& start);
  void throughput();
  void peers();
  void latency();
  void setup();
  void memory();
  void scale();
  void splice();

  void throughput_rows();
  void copy_and_rss_rows();
  std::optional<TransferSummary> summary(const std::string& key) const;

  Settings s_;
  BenchEnv env_;
  Report report_;
  std::vector<std::string> failures_;
  std::map<std::string, std::vector<TransferResult>> transfers_;
  std::map<std::string, std::string> skipped_;     // peer -> why
  std::map<std::string, std::string> tls_suites_;  // backend -> "TLSv1.3 TLS_AES_128_GCM_SHA256"
};

std::string key(const std::string& who, std::optional<TlsBackendKind> b, Direction d) {
  return who + "/" + backend_name(b) + "/" + direction_key(d);
}

void Harness::transfer(const std::string& k, const std::string& label, Direction d,
                       const std::function<Result<Subject>()>& start) {
  auto subject = start();
  if (!subject.ok()) return failed(label, subject.error());
  auto r = d == Direction::down ? run_download(*subject, s_.bytes) : run_upload(*subject, s_.bytes);
  if (!r.ok()) return failed(label, r.error());
  transfers_[k].push_back(*r);
  char line[200];
  std::snprintf(line, sizeof line, "%-44s %8.1f MB/s %7.2f CPU s/GiB", label.c_str(), r->mb_per_s(),
                r->cpu_s_per_gib());
  progress(line);
}

std::optional<TransferSummary> Harness::summary(const std::string& k) const {
  auto it = transfers_.find(k);
  if (it == transfers_.end() || it->second.empty()) return std::nullopt;
  return summarize(it->second);
}

void Harness::throughput() {
  for (int rep = 0; rep < s_.repeat; ++rep) {
    progress("throughput, run " + std::to_string(rep + 1) + " of " + std::to_string(s_.repeat));
    for (Direction d : {Direction::down, Direction::up}) {
      const Guest g = d == Direction::down ? Guest::source : Guest::sink;
      const std::string dir = d == Direction::down ? "guest→viewer" : "viewer→guest";
      transfer(key("tcp", std::nullopt, d), "plain TCP relay " + dir, d,
               [&] { return env_.start_relay(std::nullopt, g); });
      for (TlsBackendKind b : s_.backends) {
        const std::string bn(tls_backend_name(b));
        transfer(key("tls", b, d), "bare TLS relay (" + bn + ") " + dir, d, [&]() {
          auto s = env_.start_relay(b, g);
          if (s.ok()) {
            auto doc = JsonDocument::parse(s->listening_line, "relay");
            if (doc.ok()) {
              auto v = json_optional_string(doc->root(), "tls_version", "relay");
              auto c = json_optional_string(doc->root(), "cipher", "relay");
              if (v.ok() && c.ok() && *v && *c) tls_suites_[bn] = **v + " " + **c;
            }
          }
          return s;
        });
        transfer(key("pvebridge", b, d), "pvebridge (" + bn + ") " + dir, d,
                 [&] { return env_.start_pvebridge(b, g); });
      }
      if (mode("peers")) {
        for (PeerKind p : {PeerKind::node, PeerKind::python}) {
          const std::string why = env_.peer_unavailable(p);
          if (!why.empty()) {
            skipped_[peer_name(p)] = why;
            continue;
          }
          transfer(key(peer_name(p), std::nullopt, d), std::string(peer_name(p)) + " " + dir, d,
                   [&] { return env_.start_peer(p, g); });
        }
      }
    }
  }
  throughput_rows();
  copy_and_rss_rows();
}

void Harness::peers() {
  // Peers without the throughput mode: one run each, against nothing else.
  for (Direction d : {Direction::down, Direction::up}) {
    const Guest g = d == Direction::down ? Guest::source : Guest::sink;
    for (PeerKind p : {PeerKind::node, PeerKind::python}) {
      const std::string why = env_.peer_unavailable(p);
      if (!why.empty()) {
        skipped_[peer_name(p)] = why;
        continue;
      }
      transfer(key(peer_name(p), std::nullopt, d), std::string(peer_name(p)), d,
               [&] { return env_.start_peer(p, g); });
    }
  }
  throughput_rows();
}

void Harness::throughput_rows() {
  for (Direction d : {Direction::down, Direction::up}) {
    const std::string sec = section_name(d);
    const double share = d == Direction::down ? kDownloadShare : kUploadShare;
    auto tcp = summary(key("tcp", std::nullopt, d));
    if (tcp) {
      report_.add(
          Row(sec, "plain TCP relay pair", "", tcp->mb_per_s, "MB/s", "ceiling (1): no TLS"));
    }
    for (TlsBackendKind b : s_.backends) {
      const std::string bn(tls_backend_name(b));
      auto tls = summary(key("tls", b, d));
      auto ours = summary(key("pvebridge", b, d));
      if (tls) {
        Row r(sec, "bare TLS relay pair", bn, tls->mb_per_s, "MB/s",
              "ceiling (2): " + bn + " here, " + std::string(tls_backend_name(s_.server_backend)) +
                  " at the far end");
        if (tcp) r.against(tcp->mb_per_s, "TCP", tls->mb_per_s / tcp->mb_per_s);
        if (tls_suites_.count(bn)) r.note += ", " + tls_suites_[bn];
        report_.add(r);
      }
      if (ours) {
        Row r(sec, "pvebridge", bn, ours->mb_per_s, "MB/s");
        const std::string target =
            "≥ " + std::to_string(static_cast<int>(share * 100)) + "% of bare TLS";
        if (tls) {
          const double ratio = ours->mb_per_s / tls->mb_per_s;
          r.against(tls->mb_per_s, "bare TLS", ratio).aim(target, ratio >= share);
        }
        report_.add(r);
      }
      if (tls) {
        report_.add(Row(sec, "bare TLS relay CPU", bn, tls->cpu_s_per_gib, "s/GiB"));
      }
      if (ours) {
        Row r(sec, "pvebridge CPU", bn, ours->cpu_s_per_gib, "s/GiB");
        if (tls) {
          r.against(tls->cpu_s_per_gib, "bare TLS", ours->cpu_s_per_gib / tls->cpu_s_per_gib);
        }
        report_.add(r);
      }
    }
    // The peers, and pvebridge (OpenSSL) against the better of them.
    std::optional<double> best_cpu, best_mb;
    for (PeerKind p : {PeerKind::node, PeerKind::python}) {
      const std::string name = peer_name(p);
      auto peer = summary(key(name, std::nullopt, d));
      if (!peer) {
        if (skipped_.count(name)) {
          report_.add(Row(sec, name + " peer", "", {}, "MB/s", "skipped: " + skipped_[name]));
        }
        continue;
      }
      report_.add(Row(sec, name + " peer", "", peer->mb_per_s, "MB/s"));
      report_.add(Row(sec, name + " peer CPU", "", peer->cpu_s_per_gib, "s/GiB"));
      best_cpu = best_cpu ? std::min(*best_cpu, peer->cpu_s_per_gib) : peer->cpu_s_per_gib;
      best_mb = best_mb ? std::max(*best_mb, peer->mb_per_s) : peer->mb_per_s;
    }
    auto ours = summary(key("pvebridge", TlsBackendKind::openssl, d));
    if (ours && best_cpu) {
      const double cpu_ratio = ours->cpu_s_per_gib / *best_cpu;
      report_.add(
          Row(sec, "pvebridge CPU vs the cheaper peer", "openssl", ours->cpu_s_per_gib, "s/GiB")
              .against(*best_cpu, "peer", cpu_ratio)
              .aim("≤ 0.5 × the cheaper peer", cpu_ratio <= kPeerCpuShare));
      const double mb_ratio = ours->mb_per_s / *best_mb;
      report_.add(Row(sec, "pvebridge MB/s vs the faster peer", "openssl", ours->mb_per_s, "MB/s")
                      .against(*best_mb, "peer", mb_ratio)
                      .aim("> the faster peer", mb_ratio > 1));
    }
  }
}

void Harness::copy_and_rss_rows() {
  const std::string sec = "copies and memory of one console (from the transfers above)";
  for (TlsBackendKind b : s_.backends) {
    const std::string bn(tls_backend_name(b));
    for (Direction d : {Direction::down, Direction::up}) {
      auto ours = summary(key("pvebridge", b, d));
      if (!ours) continue;
      const std::string dir = d == Direction::down ? "guest→viewer" : "viewer→guest";
      if (ours->copies_besides_masking) {
        report_.add(Row(sec, "copied B/B, ours, besides masking, " + dir, bn,
                        *ours->copies_besides_masking, "B/B",
                        "copy_stats() minus the masking copy of every byte to the guest")
                        .aim("≤ 1", *ours->copies_besides_masking <= kMaxCopiesPerByte));
      }
      if (ours->copies) {
        report_.add(Row(sec, "copied B/B, ours, all, " + dir, bn, *ours->copies, "B/B",
                        "copy_stats(): ByteChain appends and linearize, the codecs"));
      }
      if (ours->tls_copies) {
        report_.add(Row(sec, "B/B into and out of the TLS library, " + dir, bn, *ours->tls_copies,
                        "B/B", "tls_copy_stats(): the library's own buffers"));
      }
    }
    auto down = summary(key("pvebridge", b, Direction::down));
    if (down) {
      char note[160];
      std::snprintf(note, sizeof note,
                    "%.1f MiB anonymous (ours) + %.1f MiB file-backed (library code, shared)",
                    down->steady_anon_kib / 1024, down->steady_file_kib / 1024);
      report_.add(Row(sec, "RSS during a transfer (one connect)", bn, down->steady_rss_kib / 1024,
                      "MiB", note)
                      .aim("≤ 8 MiB", down->steady_rss_kib <= kMaxConnectRssKiB));
      report_.add(Row(sec, "peak RSS (one connect)", bn, down->peak_rss_kib / 1024, "MiB"));
    }
  }
}

void Harness::latency() {
  progress("latency: 64-byte round trips through the echo guest");
  const std::string sec = "latency: 64-byte echo round trip (echo guest)";
  auto pair = [&](const std::string& label, const std::function<Result<Subject>()>& start_a,
                  const std::function<Result<Subject>()>& start_b)
      -> std::optional<std::pair<LatencyResult, LatencyResult>> {
    auto a = start_a();
    if (!a.ok()) {
      failed(label, a.error());
      return std::nullopt;
    }
    auto b = start_b();
    if (!b.ok()) {
      failed(label, b.error());
      return std::nullopt;
    }
    auto r = run_echo_pair(*a, *b, s_.echo_count);
    if (!r.ok()) {
      failed(label, r.error());
      return std::nullopt;
    }
    char line[200];
    std::snprintf(line, sizeof line, "%-44s p99 %7.1f us vs %7.1f us", label.c_str(),
                  r->first.p99_us, r->second.p99_us);
    progress(line);
    return *r;
  };
  for (TlsBackendKind b : s_.backends) {
    const std::string bn(tls_backend_name(b));
    // Taken together, alternating: the bridge and its own ceiling see the same noise.
    auto r = pair(
        "pvebridge vs bare TLS relay (" + bn + ")",
        [&] { return env_.start_pvebridge(b, Guest::echo); },
        [&] { return env_.start_relay(b, Guest::echo); });
    if (!r) continue;
    const LatencyResult& ours = r->first;
    const LatencyResult& tls = r->second;
    report_.add(Row(sec, "bare TLS relay p50", bn, tls.p50_us, "µs"));
    report_.add(Row(sec, "bare TLS relay p99", bn, tls.p99_us, "µs"));
    report_.add(Row(sec, "pvebridge p50", bn, ours.p50_us, "µs"));
    report_.add(Row(sec, "pvebridge p99", bn, ours.p99_us, "µs"));
    const double added = ours.p99_us - tls.p99_us;
    report_.add(Row(sec, "added p99 (pvebridge - bare TLS)", bn, added, "µs",
                    "round trips alternating one by one between the two; p50 difference " +
                        std::to_string(static_cast<int>(ours.p50_us - tls.p50_us)) + " µs; " +
                        std::to_string(ours.count) + " round trips each")
                    .aim("≤ 50 µs", added <= kMaxAddedP99Us));
  }
  auto tcp = pair(
      "plain TCP relay (and again, for reference)",
      [&] { return env_.start_relay(std::nullopt, Guest::echo); },
      [&] { return env_.start_relay(std::nullopt, Guest::echo); });
  if (tcp) {
    report_.add(Row(sec, "plain TCP relay p50", "", tcp->first.p50_us, "µs"));
    report_.add(Row(sec, "plain TCP relay p99", "", tcp->first.p99_us, "µs"));
  }
}

void Harness::setup() {
  progress("setup: process start -> listening");
  const std::string sec = "setup: process start → listening (median)";
  std::vector<double> version, trivial;
  for (size_t i = 0; i < s_.setup_runs; ++i) {
    auto v = run_program({env_.paths().pvebridge, "--version"});
    if (!v.ok()) return failed("pvebridge --version", v.error());
    version.push_back(*v);
    auto t = run_program({"/bin/true"});
    if (!t.ok()) return failed("/bin/true", t.error());
    trivial.push_back(*t);
  }
  const double start_ms = median(version) * 1000;
  report_.add(Row(sec, "process start: /bin/true", "", median(trivial) * 1000, "ms",
                  "fork, exec, exit of the smallest program: the harness's own floor"));
  report_.add(Row(sec, "process start: pvebridge --version", "", start_ms, "ms",
                  "plus loading 12 shared libraries (libcrypto, libssl, mbedTLS, libstdc++, ...) "
                  "and static initialisation: paid by every command"));
  for (TlsBackendKind b : s_.backends) {
    const std::string bn(tls_backend_name(b));
    auto mock = env_.mock();
    if (!mock.ok()) {
      failed("mock " + bn, mock.error());
      continue;
    }
    for (bool ticket : {false, true}) {
      const std::string how = ticket ? "ticket login" : "API token";
      // Alternately, so that both see the same machine.
      std::vector<double> ours, floor;
      Error error;
      for (size_t i = 0; i < s_.setup_runs && error.ok(); ++i) {
        auto o = run_setup(env_, b, ticket);
        if (!o.ok()) {
          error = o.error();
          break;
        }
        ours.push_back(*o);
        auto f = time_console_setup(*mock, b, ticket, "sink", 1);
        if (!f.ok()) {
          error = f.error();
          break;
        }
        floor.push_back(f->front());
      }
      if (error.failed()) {
        failed("setup " + how + " " + bn, error);
        continue;
      }
      const double o = median(ours) * 1000;
      const double f = median(floor) * 1000;
      report_.add(Row(sec, "network floor, " + how, bn, f, "ms",
                      "TLS handshakes, API round trips, WebSocket upgrade: ConsoleSession in an "
                      "already running process"));
      report_.add(Row(sec, "pvebridge, " + how, bn, o, "ms")
                      .against(f, "floor", o / f)
                      .aim("≤ 2 × floor", o / f <= kMaxSetupRatio));
      char line[200];
      std::snprintf(line, sizeof line, "%-44s %7.1f ms (floor %.1f ms, process start %.1f ms)",
                    ("pvebridge (" + bn + "), " + how).c_str(), o, f, start_ms);
      progress(line);
    }
  }
}

void Harness::memory() {
  const std::string sec = "memory: the client stops reading while the source streams";
  for (TlsBackendKind b : s_.backends) {
    const std::string bn(tls_backend_name(b));
    progress("memory (" + bn + "): " + std::to_string(s_.memory_bytes >> 20) + " MiB with " +
             std::to_string(s_.stalls) + " stalls");
    auto subject = env_.start_pvebridge(b, Guest::source);
    if (!subject.ok()) {
      failed("memory " + bn, subject.error());
      continue;
    }
    auto r = run_stalled_download(*subject, s_.memory_bytes, s_.stalls, s_.stall_seconds);
    if (!r.ok()) {
      failed("memory " + bn, r.error());
      continue;
    }
    const std::string checked = std::to_string(r->bytes >> 20) + " MiB read and checked byte " +
                                "for byte across " + std::to_string(r->stalls) + " stalls of " +
                                std::to_string(r->stall_seconds).substr(0, 4) + " s: none lost";
    const double growth =
        static_cast<double>(r->rss_stalled_max_kib) - static_cast<double>(r->rss_reading_kib);
    report_.add(Row(sec, "RSS while reading", bn, r->rss_reading_kib / 1024.0, "MiB"));
    report_.add(Row(sec, "highest RSS while not reading", bn, r->rss_stalled_max_kib / 1024.0,
                    "MiB", checked));
    report_.add(Row(sec, "RSS growth while not reading", bn, growth, "KiB",
                    "flat: what waits is bounded by the pump's marks (" +
                        std::to_string(Pump::Options{}.high_mark / 1024) +
                        " KiB), not by the guest")
                    .aim("≤ 512 KiB", growth <= kMaxStallGrowthKiB));
    report_.add(Row(sec, "peak RSS", bn, r->peak_rss_kib / 1024.0, "MiB"));
  }
}

void Harness::scale() {
  const std::string sec = "scale: N consoles in one pvebridge process (source guests)";
  for (TlsBackendKind b : s_.scale_backends) {
    const std::string bn(tls_backend_name(b));
    std::optional<ScaleResult> one;
    for (size_t n : s_.scale_sessions) {
      const uint64_t each = std::max<uint64_t>(s_.scale_bytes / n, 1 << 20);
      progress("scale (" + bn + "): " + std::to_string(n) + " sessions, " +
               std::to_string(each >> 10) + " KiB each");
      auto r = run_scale(env_, b, Guest::source, n, each);
      if (!r.ok()) {
        failed("scale " + std::to_string(n) + " " + bn, r.error());
        continue;
      }
      if (n == 1) one = *r;
      const std::string ns = "N=" + std::to_string(n);
      report_.add(Row(sec, ns + " aggregate throughput", bn, r->mb_per_s(), "MB/s"));
      report_.add(Row(sec, ns + " setup (start → all listening)", bn, r->setup_seconds, "s"));
      report_.add(Row(sec, ns + " setup per session", bn,
                      r->setup_seconds * 1000 / static_cast<double>(n), "ms"));
      report_.add(Row(sec, ns + " RSS, clients connected", bn, r->rss_connected_kib / 1024.0, "MiB",
                      "before they read: every session holds what its marks allow"));
      report_.add(Row(sec, ns + " RSS after the transfer", bn, r->rss_after_kib / 1024.0, "MiB"));
      if (one && n > 1) {
        auto per = [&](uint64_t at_n, uint64_t at_1) {
          return (static_cast<double>(at_n) - static_cast<double>(at_1)) /
                 static_cast<double>(n - 1);
        };
        const double held = per(r->rss_connected_kib, one->rss_connected_kib);
        Row row(sec, ns + " RSS per session, clients connected", bn, held, "KiB",
                "(RSS(N) - RSS(1)) / (N - 1); the TLS library's buffers are ≈ " +
                    std::to_string(static_cast<int>(kTlsBuffersKiB)) + " KiB of it" +
                    (n < 1000 ? "; fewer sessions share less of the block pool's cache of free "
                                "blocks (12 MiB at most), so the target is judged at 1000"
                              : ""));
        // The target (issue 5) is per session at 1000 sessions.
        if (n >= 1000) {
          row.aim("≤ 256 KiB + TLS buffers", held - kTlsBuffersKiB <= kMaxSessionKiB);
        }
        report_.add(std::move(row));
        report_.add(Row(sec, ns + " RSS per session, after the transfer", bn,
                        per(r->rss_after_kib, one->rss_after_kib), "KiB"));
      }
      char line[200];
      std::snprintf(line, sizeof line, "%-44s %8.1f MB/s, RSS %.1f MiB",
                    ("N=" + std::to_string(n)).c_str(), r->mb_per_s(), r->rss_after_kib / 1024.0);
      progress(line);
    }
  }
}

// The RFB splice (pvebridge's default flow) against --passthrough, both with the bench consoles
// that speak RFB: rfb_source's large Raw updates, rfb_echo's 1x1 update per request. The client
// does the viewer's handshake (the local password from the .vv when splicing).
void Harness::splice() {
  const std::string sec = "RFB splice vs --passthrough (rfb guests)";
  const TlsBackendKind b = TlsBackendKind::openssl;
  const std::string bn(tls_backend_name(b));
  // Each run's splice / passthrough pair, taken one right after the other: their ratios cancel
  // the slow drifts of a shared machine that the medians of each side keep.
  std::vector<double> pair_mb, pair_cpu;
  const std::string ks = key("splice", b, Direction::down);
  const std::string kp = key("rfbpipe", b, Direction::down);
  for (int rep = 0; rep < s_.repeat; ++rep) {
    progress("splice throughput, run " + std::to_string(rep + 1) + " of " +
             std::to_string(s_.repeat));
    const size_t ns = transfers_[ks].size(), np = transfers_[kp].size();
    transfer(ks, "pvebridge splice (" + bn + ") guest→viewer", Direction::down,
             [&] { return env_.start_pvebridge_rfb(b, Guest::rfb_source, true); });
    transfer(kp, "pvebridge --passthrough (" + bn + ") guest→viewer", Direction::down,
             [&] { return env_.start_pvebridge_rfb(b, Guest::rfb_source, false); });
    if (transfers_[ks].size() > ns && transfers_[kp].size() > np) {
      pair_mb.push_back(transfers_[ks].back().mb_per_s() / transfers_[kp].back().mb_per_s());
      pair_cpu.push_back(transfers_[ks].back().cpu_s_per_gib() /
                         transfers_[kp].back().cpu_s_per_gib());
    }
  }
  auto sp = summary(key("splice", b, Direction::down));
  auto pt = summary(key("rfbpipe", b, Direction::down));
  if (sp && pt) {
    const double share = sp->mb_per_s / pt->mb_per_s;
    const double cpu = sp->cpu_s_per_gib / pt->cpu_s_per_gib;
    report_.add(Row(sec, "--passthrough MB/s, guest→viewer", bn, pt->mb_per_s, "MB/s"));
    report_.add(Row(sec, "splice MB/s, guest→viewer", bn, sp->mb_per_s, "MB/s",
                    "Raw updates of 1024x16 pixels (65,552 bytes each), checked byte for byte")
                    .against(pt->mb_per_s, "--passthrough", share)
                    .aim("≥ 95 %", share >= kSpliceShare));
    report_.add(Row(sec, "--passthrough CPU s/GiB", bn, pt->cpu_s_per_gib, "s/GiB"));
    report_.add(Row(sec, "splice CPU s/GiB", bn, sp->cpu_s_per_gib, "s/GiB")
                    .against(pt->cpu_s_per_gib, "--passthrough", cpu)
                    .aim("≤ 1.05 ×", cpu <= kSpliceMaxCpuRatio));
    if (sp->copies_besides_masking) {
      report_.add(Row(sec, "splice copied B/B, ours, besides masking", bn,
                      *sp->copies_besides_masking, "B/B"));
    }
    report_.add(Row(sec, "splice RSS during a transfer", bn, sp->steady_rss_kib / 1024.0, "MiB"));
    report_.add(
        Row(sec, "--passthrough RSS during a transfer", bn, pt->steady_rss_kib / 1024.0, "MiB"));
    if (!pair_mb.empty()) {
      report_.add(Row(sec, "splice÷passthrough MB/s, pair median", bn, median(pair_mb), "×",
                      std::to_string(pair_mb.size()) + " pairs, each taken back to back"));
      report_.add(Row(sec, "splice÷passthrough CPU, pair median", bn, median(pair_cpu), "×"));
    }
  }

  progress("splice latency: update request -> 1x1 update (rfb_echo)");
  {
    auto a = env_.start_pvebridge_rfb(b, Guest::rfb_echo, true);
    std::optional<Result<Subject>> p;
    if (a.ok()) p.emplace(env_.start_pvebridge_rfb(b, Guest::rfb_echo, false));
    Result<std::pair<LatencyResult, LatencyResult>> r =
        !a.ok()    ? Result<std::pair<LatencyResult, LatencyResult>>(a.error())
        : !p->ok() ? Result<std::pair<LatencyResult, LatencyResult>>(p->error())
                   : run_echo_pair(*a, **p, s_.echo_count);
    if (!r.ok()) {
      failed("splice latency", r.error());
    } else {
      const LatencyResult& ours = r->first;
      const LatencyResult& pipe = r->second;
      report_.add(Row(sec, "--passthrough round trip p50", bn, pipe.p50_us, "µs"));
      report_.add(Row(sec, "--passthrough round trip p99", bn, pipe.p99_us, "µs"));
      report_.add(Row(sec, "splice round trip p50", bn, ours.p50_us, "µs"));
      report_.add(Row(sec, "splice round trip p99", bn, ours.p99_us, "µs"));
      const double added = ours.p99_us - pipe.p99_us;
      report_.add(Row(sec, "added p99 (splice - passthrough)", bn, added, "µs",
                      "FramebufferUpdateRequest -> 1x1 update, alternating one by one; p50 "
                      "difference " +
                          std::to_string(static_cast<int>(ours.p50_us - pipe.p50_us)) + " µs; " +
                          std::to_string(ours.count) + " round trips each")
                      .aim("≤ 20 µs", added <= kSpliceMaxAddedP99Us));
      char line[200];
      std::snprintf(line, sizeof line, "%-44s p99 %7.1f us vs %7.1f us", "splice vs passthrough",
                    ours.p99_us, pipe.p99_us);
      progress(line);
    }
  }

  for (bool spliced : {true, false}) {
    const std::string who = spliced ? "splice" : "--passthrough";
    progress("splice memory (" + who + "): " + std::to_string(s_.memory_bytes >> 20) +
             " MiB with " + std::to_string(s_.stalls) + " stalls");
    auto subject = env_.start_pvebridge_rfb(b, Guest::rfb_source, spliced);
    if (!subject.ok()) {
      failed("splice memory " + who, subject.error());
      continue;
    }
    auto r = run_stalled_download(*subject, s_.memory_bytes, s_.stalls, s_.stall_seconds);
    if (!r.ok()) {
      failed("splice memory " + who, r.error());
      continue;
    }
    const double growth =
        static_cast<double>(r->rss_stalled_max_kib) - static_cast<double>(r->rss_reading_kib);
    report_.add(Row(sec, who + " RSS while reading", bn, r->rss_reading_kib / 1024.0, "MiB"));
    report_.add(Row(sec, who + " RSS growth while not reading", bn, growth, "KiB",
                    std::to_string(r->bytes >> 20) + " MiB of updates read and checked across " +
                        std::to_string(r->stalls) + " stalls")
                    .aim("≤ 512 KiB", growth <= kMaxStallGrowthKiB));
    report_.add(Row(sec, who + " peak RSS", bn, r->peak_rss_kib / 1024.0, "MiB"));
  }
}

int Harness::run() {
  const std::string cpu = cpu_model();
  std::fprintf(stderr, "bridge-throughput (%s mode) on %s\n", s_.smoke ? "smoke" : "full",
               cpu.c_str());
  if (mode("throughput")) {
    throughput();
  } else if (mode("peers")) {
    peers();
  }
  if (mode("latency")) latency();
  if (mode("setup")) setup();
  if (mode("memory")) memory();
  if (mode("scale")) scale();
  if (mode("splice")) splice();

  std::printf("\n");
  report_.print_table(stdout, "pvebridge end-to-end benchmark, " + cpu + ", " +
                                  (s_.smoke ? "smoke" : "full") + " mode, " +
                                  std::to_string(s_.bytes >> 20) + " MiB per transfer, median of " +
                                  std::to_string(s_.repeat));
  if (!s_.json_path.empty()) {
    std::ofstream out(s_.json_path);
    out << report_.json(cpu, s_.smoke ? "smoke" : "full", s_.json()) << "\n";
    if (!out) {
      std::fprintf(stderr, "bridge-throughput: cannot write %s\n", s_.json_path.c_str());
      return 1;
    }
  }
  if (!failures_.empty()) {
    std::fprintf(stderr, "\nbridge-throughput: %zu measurement(s) failed:\n", failures_.size());
    for (const std::string& f : failures_) std::fprintf(stderr, "  %s\n", f.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace pvb::bench

int main(int argc, char** argv) {
  bool help = false;
  auto settings = pvb::bench::parse_settings(argc, argv, help);
  if (!settings.ok()) {
    std::fprintf(stderr, "bridge-throughput: %s\n", settings.error().message().c_str());
    return 2;
  }
  if (help) {
    std::fputs(pvb::bench::kUsage, stdout);
    return 0;
  }
  pvb::bench::Harness harness(std::move(*settings));
  return harness.run();
}
