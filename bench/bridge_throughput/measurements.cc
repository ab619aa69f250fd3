#include "bench/bridge_throughput/measurements.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

#include "bench/bridge_throughput/load_client.h"
#include "bench/bridge_throughput/proc_stats.h"
#include "engine/core/json.h"

namespace pvb::bench {

namespace {

constexpr double kEndTimeout = 60;

Error subject_error(const Subject& s, const std::string& what) {
  std::string tail = s.child->stderr_tail();
  if (tail.size() > 600) tail = "..." + tail.substr(tail.size() - 600);
  return Error(Errc::internal, s.child->name() + ": " + what + (tail.empty() ? "" : ": " + tail));
}

// What a subject's `closed` event says (pvebridge and bench-relay print the byte counts and the
// copy counters; the peers print a bare {"event":"closed"}).
struct ClosedEvent {
  double at = 0;
  std::optional<uint64_t> to_guest;
  std::optional<uint64_t> from_guest;
  std::optional<uint64_t> copied;
  std::optional<uint64_t> tls_copied;
};

Result<ClosedEvent> wait_closed(Subject& s) {
  auto line = s.child->wait_for_line("\"event\":\"closed\"", kEndTimeout);
  if (!line) return subject_error(s, "no closed event");
  auto doc = JsonDocument::parse(line->text, "closed event");
  if (!doc.ok()) return doc.error();
  ClosedEvent c;
  c.at = line->at;
  auto field = [&](const char* name) -> std::optional<uint64_t> {
    auto v = json_optional_int(doc->root(), name, "closed event");
    if (!v.ok() || !*v) return std::nullopt;
    return static_cast<uint64_t>(**v);
  };
  c.to_guest = field("bytes_to_guest");
  c.from_guest = field("bytes_from_guest");
  c.copied = field("copied_bytes");
  c.tls_copied = field("tls_copied_bytes");
  // pvebridge must report its copies: the copies-per-byte figures depend on it.
  if (s.child->name() == "pvebridge" && (!c.copied || !c.tls_copied || !c.to_guest)) {
    return Error(Errc::protocol,
                 "pvebridge's closed event lacks copied_bytes/tls_copied_bytes: " + line->text);
  }
  return c;
}

Result<ChildExit> wait_exit(Subject& s) {
  auto exit = s.child->wait(kEndTimeout);
  if (!exit) return subject_error(s, "did not exit");
  if (exit->code != 0) return subject_error(s, "exited with " + std::to_string(exit->code));
  return *exit;
}

void fill_copies(TransferResult& r, const ClosedEvent& c, bool masks_to_guest) {
  if (!c.to_guest || !c.from_guest) return;
  const double moved = static_cast<double>(*c.to_guest + *c.from_guest);
  if (moved <= 0) return;
  if (c.copied) {
    r.copies_per_byte = static_cast<double>(*c.copied) / moved;
    const double masked = masks_to_guest ? static_cast<double>(*c.to_guest) : 0;
    r.copies_besides_masking_per_byte =
        std::max(0.0, static_cast<double>(*c.copied) - masked) / moved;
  }
  if (c.tls_copied) r.tls_copies_per_byte = static_cast<double>(*c.tls_copied) / moved;
}

// pvebridge speaks WebSocket as a client (it masks); bench-relay has no WebSocket.
bool masks_to_guest(const Subject& s) {
  return s.child->name() == "pvebridge";
}

// Until `pid` uses less than 2% of a CPU over 50 ms (or timeout_s passed).
void wait_until_idle(pid_t pid, double timeout_s) {
  const double deadline = now_seconds() + timeout_s;
  auto before = process_cpu_seconds(pid);
  while (before && now_seconds() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto after = process_cpu_seconds(pid);
    if (!after || *after - *before < 0.001) return;
    before = after;
  }
}

Result<double> cpu_now(const Subject& s) {
  auto cpu = process_cpu_seconds(s.child->pid());
  if (!cpu) return subject_error(s, "is gone");
  return *cpu;
}

// Connects the harness's client; for an RFB guest, does the viewer's handshake too (`stream`: ask
// an rfb_source for updates).
Result<ClientSocket> connect_subject(const Subject& s, bool stream, double io_timeout_s = 60) {
  auto sock = ClientSocket::connect_loopback(s.port, io_timeout_s);
  if (!sock.ok() || !s.rfb) return sock;
  if (Error e = sock->rfb_handshake(s.rfb_password, stream); e.failed()) {
    return subject_error(s, "RFB handshake: " + e.message());
  }
  return sock;
}

}  // namespace

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Result<TransferResult> run_download(Subject& s, uint64_t bytes) {
  auto cpu0 = cpu_now(s);
  if (!cpu0.ok()) return cpu0.error();
  TransferResult r;
  const double t0 = now_seconds();
  auto sock = connect_subject(s, true);
  if (!sock.ok()) return sock.error();
  if (Error e = sock->read_source(bytes); e.failed()) return subject_error(s, e.message());
  r.seconds = now_seconds() - t0;
  r.bytes = bytes;
  if (auto m = process_memory(s.child->pid())) r.steady = *m;
  sock->close();
  auto closed = wait_closed(s);
  if (!closed.ok()) return closed.error();
  if (closed->from_guest && *closed->from_guest < bytes) {
    return subject_error(s, "reports fewer bytes from the guest than were read");
  }
  auto exit = wait_exit(s);
  if (!exit.ok()) return exit.error();
  r.cpu_seconds = exit->cpu_seconds - *cpu0;
  r.peak_rss_kib = r.steady.hwm_kib;
  fill_copies(r, *closed, masks_to_guest(s));
  return r;
}

Result<TransferResult> run_upload(Subject& s, uint64_t bytes) {
  auto cpu0 = cpu_now(s);
  if (!cpu0.ok()) return cpu0.error();
  TransferResult r;
  const double t0 = now_seconds();
  auto sock = ClientSocket::connect_loopback(s.port);
  if (!sock.ok()) return sock.error();
  if (Error e = sock->write_bytes(bytes); e.failed()) return subject_error(s, e.message());
  if (auto m = process_memory(s.child->pid())) r.steady = *m;
  sock->shutdown_write();
  // The end: the subject has flushed everything towards the far end and closed.
  auto closed = wait_closed(s);
  if (!closed.ok()) return closed.error();
  r.seconds = closed->at - t0;
  r.bytes = bytes;
  sock->close();
  if (closed->to_guest && *closed->to_guest != bytes) {
    return subject_error(s, "moved " + std::to_string(*closed->to_guest) + " of " +
                                std::to_string(bytes) + " bytes to the guest");
  }
  auto exit = wait_exit(s);
  if (!exit.ok()) return exit.error();
  r.cpu_seconds = exit->cpu_seconds - *cpu0;
  r.peak_rss_kib = r.steady.hwm_kib;
  fill_copies(r, *closed, masks_to_guest(s));
  return r;
}

Result<std::pair<LatencyResult, LatencyResult>> run_echo_pair(Subject& a, Subject& b, size_t count,
                                                              size_t size) {
  auto sa = connect_subject(a, false);
  if (!sa.ok()) return sa.error();
  auto sb = connect_subject(b, false);
  if (!sb.ok()) return sb.error();
  std::vector<double> va, vb;
  const size_t warm = std::min<size_t>(count, 200);
  for (size_t i = 0; i < count + warm; ++i) {
    auto ra = sa->echo_round_trips(1, size);
    if (!ra.ok()) return subject_error(a, ra.error().message());
    auto rb = sb->echo_round_trips(1, size);
    if (!rb.ok()) return subject_error(b, rb.error().message());
    if (i >= warm) {
      va.push_back(ra->front());
      vb.push_back(rb->front());
    }
  }
  sa->close();
  sb->close();
  for (Subject* s : {&a, &b}) {
    auto closed = wait_closed(*s);
    if (!closed.ok()) return closed.error();
    auto exit = wait_exit(*s);
    if (!exit.ok()) return exit.error();
  }
  auto stats = [](const std::vector<double>& v) {
    LatencyResult r;
    r.count = v.size();
    r.p50_us = percentile(v, 0.5);
    r.p99_us = percentile(v, 0.99);
    double sum = 0;
    for (double x : v) sum += x;
    r.mean_us = sum / static_cast<double>(v.size());
    return r;
  };
  return std::make_pair(stats(va), stats(vb));
}

Result<StallResult> run_stalled_download(Subject& s, uint64_t bytes, int stalls,
                                         double stall_seconds) {
  auto sock = connect_subject(s, true, stall_seconds + 60);
  if (!sock.ok()) return sock.error();
  StallResult r;
  r.stalls = stalls;
  r.stall_seconds = stall_seconds;
  const uint64_t part = bytes / static_cast<uint64_t>(stalls + 1);
  uint64_t offset = 0;
  for (int i = 0; i <= stalls; ++i) {
    const uint64_t n = i == stalls ? bytes - offset : part;
    if (Error e = sock->read_source(n, offset); e.failed()) return subject_error(s, e.message());
    offset += n;
    if (i == stalls) break;
    if (i == 0) {
      if (auto m = process_memory(s.child->pid())) r.rss_reading_kib = m->rss_kib;
    }
    // The client does not read: the guest keeps streaming, the bridge must hold at its marks.
    const double until = now_seconds() + stall_seconds;
    while (now_seconds() < until) {
      if (auto m = process_memory(s.child->pid())) {
        r.rss_stalled_max_kib = std::max(r.rss_stalled_max_kib, m->rss_kib);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  r.bytes = offset;
  if (auto m = process_memory(s.child->pid())) r.peak_rss_kib = m->hwm_kib;
  sock->close();
  auto closed = wait_closed(s);
  if (!closed.ok()) return closed.error();
  auto exit = wait_exit(s);
  if (!exit.ok()) return exit.error();
  return r;
}

Result<ScaleResult> run_scale(BenchEnv& env, TlsBackendKind backend, Guest guest, size_t sessions,
                              uint64_t bytes_each) {
  ScaleResult r;
  r.sessions = sessions;
  std::vector<uint16_t> ports;
  auto listening = [&](uint16_t port) -> Error {
    ports.push_back(port);
    return Error();
  };
  const double t_start = now_seconds();
  auto s = env.start_pvebridge(backend, guest, false, sessions, listening,
                               60 + 0.2 * static_cast<double>(sessions));
  if (!s.ok()) return s.error();
  r.setup_seconds = now_seconds() - t_start;
  // Then every client connects (none reads yet): each session holds what its marks allow.
  std::vector<std::unique_ptr<ClientSocket>> sockets;
  for (uint16_t port : ports) {
    auto sock = ClientSocket::connect_loopback(port);
    if (!sock.ok()) return subject_error(*s, sock.error().message());
    sockets.push_back(std::make_unique<ClientSocket>(std::move(*sock)));
  }
  size_t seen = 0;
  for (const std::string& line : s->skipped_lines) {
    seen += line.find("\"client_connected\"") != std::string::npos;
  }
  while (seen < sessions) {
    auto line = s->child->wait_for_line("\"client_connected\"", kEndTimeout);
    if (!line) return subject_error(*s, "not every client was taken");
    ++seen;
  }
  // Every session fills up to its marks, then backpressure holds it: the process goes idle.
  wait_until_idle(s->child->pid(), 10);
  if (auto m = process_memory(s->child->pid())) r.rss_connected_kib = m->rss_kib;
  if (guest == Guest::source && bytes_each > 0) {
    std::vector<ClientSocket*> raw;
    for (auto& p : sockets) raw.push_back(p.get());
    const double t0 = now_seconds();
    if (Error e = read_source_many(raw, bytes_each); e.failed()) {
      return subject_error(*s, e.message());
    }
    r.seconds = now_seconds() - t0;
    r.bytes = bytes_each * sessions;
    if (auto m = process_memory(s->child->pid())) r.rss_after_kib = m->rss_kib;
  }
  if (auto m = process_memory(s->child->pid())) r.peak_rss_kib = m->hwm_kib;
  sockets.clear();
  for (size_t seen = 0; seen < sessions; ++seen) {
    auto closed = s->child->wait_for_line("\"event\":\"closed\"", kEndTimeout);
    if (!closed) return subject_error(*s, "not every session closed");
  }
  auto exit = wait_exit(*s);
  if (!exit.ok()) return exit.error();
  return r;
}

Result<double> run_setup(BenchEnv& env, TlsBackendKind backend, bool ticket_login) {
  auto s = env.start_pvebridge(backend, Guest::sink, ticket_login);
  if (!s.ok()) return s.error();
  const double seconds = s->listening_at - s->child->started_at();
  s->child->signal(SIGTERM);
  auto exit = s->child->wait(kEndTimeout);
  if (!exit) return subject_error(*s, "did not end on SIGTERM");
  return seconds;
}

Result<double> run_program(std::vector<std::string> argv) {
  ChildOptions o;
  o.argv = std::move(argv);
  const std::string what = o.argv.front();
  auto child = Child::spawn(std::move(o));
  if (!child.ok()) return child.error();
  auto exit = (*child)->wait(kEndTimeout);
  if (!exit || exit->code != 0) return Error(Errc::internal, what + " failed");
  // The exit is seen through the pidfd as it happens.
  return now_seconds() - (*child)->started_at();
}

}  // namespace pvb::bench
