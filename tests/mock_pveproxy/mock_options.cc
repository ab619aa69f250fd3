#include "tests/mock_pveproxy/mock_options.h"

#include <charconv>

namespace pvb::mock {

namespace {

constexpr std::string_view kKnownFaults =
    "drop_ws_after=BYTES, stall_ws, reject_ticket, oversized_header, "
    "malformed_json=PATH_SUBSTRING, slow=MS, raw_after_upgrade=KIND, "
    "endless_headers=PATH_SUBSTRING, huge_body=PATH_SUBSTRING, endless_chunked=PATH_SUBSTRING, "
    "wrong_types=PATH_SUBSTRING, no_reply=PATH_SUBSTRING, close_reused=PATH_SUBSTRING, "
    "bad_ws_accept, reset_upgrade, "
    "reset_after=BYTES, chunk_writes=BYTES, tls_alert=handshake|request, tls_renegotiate, "
    "cert_change_after=N, not_proxmox, term=no_ok|garbage|close_mid_output|burst|refuse_token, "
    "cut_ws=down:BYTES|up:BYTES|random:BYTES|time:MS[,rst][,times=K][,resize=WxH][,stop]"
    "[,armed][,mixed], "
    "stall_ws_after=BYTES, "
    "refuse_vncproxy=N, restart_api=after:MS,down:MS[,times=K][,rst], expire_auth";

constexpr RawFrameKind kRawKinds[] = {
    RawFrameKind::masked_frame,    RawFrameKind::rsv_bits,        RawFrameKind::huge_length,
    RawFrameKind::reserved_opcode, RawFrameKind::ping_flood,      RawFrameKind::never_close,
    RawFrameKind::silent,          RawFrameKind::deaf_ping_flood, RawFrameKind::deaf};

constexpr FaultKind kFaultKinds[] = {
    FaultKind::drop_ws_after,     FaultKind::stall_ws,        FaultKind::reject_ticket,
    FaultKind::oversized_header,  FaultKind::malformed_json,  FaultKind::slow,
    FaultKind::raw_after_upgrade, FaultKind::endless_headers, FaultKind::huge_body,
    FaultKind::endless_chunked,   FaultKind::wrong_types,     FaultKind::no_reply,
    FaultKind::bad_ws_accept,     FaultKind::reset_upgrade,   FaultKind::reset_after,
    FaultKind::chunk_writes,      FaultKind::tls_alert,       FaultKind::tls_renegotiate,
    FaultKind::cert_change_after, FaultKind::not_proxmox,     FaultKind::term,
    FaultKind::close_reused,      FaultKind::cut_ws,          FaultKind::stall_ws_after,
    FaultKind::refuse_vncproxy,   FaultKind::restart_api,     FaultKind::expire_auth};

constexpr std::pair<TermFault, std::string_view> kTermFaults[] = {
    {TermFault::no_ok, "no_ok"},
    {TermFault::garbage, "garbage"},
    {TermFault::close_mid_output, "close_mid_output"},
    {TermFault::burst, "burst"},
    {TermFault::refuse_token, "refuse_token"},
};

// Faults whose argument is a path substring: they may be given several times.
bool takes_path(FaultKind kind) {
  switch (kind) {
    case FaultKind::malformed_json:
    case FaultKind::endless_headers:
    case FaultKind::huge_body:
    case FaultKind::endless_chunked:
    case FaultKind::wrong_types:
    case FaultKind::no_reply:
    case FaultKind::close_reused:
      return true;
    default:
      return false;
  }
}

std::optional<uint64_t> parse_number(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Error usage(std::string message) {
  return Error(Errc::usage, std::move(message));
}

std::optional<CutSpec> parse_cut(std::string_view arg) {
  CutSpec c;
  bool first = true;
  while (!arg.empty()) {
    size_t comma = arg.find(',');
    std::string_view part = arg.substr(0, comma);
    arg = comma == std::string_view::npos ? std::string_view() : arg.substr(comma + 1);
    if (first) {
      first = false;
      size_t colon = part.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      std::string_view where = part.substr(0, colon);
      if (where == "down") {
        c.where = CutSpec::Where::down;
      } else if (where == "up") {
        c.where = CutSpec::Where::up;
      } else if (where == "random") {
        c.where = CutSpec::Where::random;
      } else if (where == "time") {
        c.where = CutSpec::Where::time;
      } else {
        return std::nullopt;
      }
      std::optional<uint64_t> n = parse_number(part.substr(colon + 1));
      if (!n || *n == 0) return std::nullopt;
      c.at = *n;
    } else if (part == "rst") {
      c.rst = true;
    } else if (part == "stop") {
      c.stop_guest = true;
    } else if (part == "armed") {
      c.armed = true;
    } else if (part == "mixed") {
      c.mixed = true;
    } else if (part.substr(0, 7) == "resize=") {
      std::string_view size = part.substr(7);
      size_t x = size.find('x');
      if (x == std::string_view::npos) return std::nullopt;
      std::optional<uint64_t> w = parse_number(size.substr(0, x));
      std::optional<uint64_t> h = parse_number(size.substr(x + 1));
      if (!w || !h || *w == 0 || *h == 0 || *w > 8192 || *h > 8192) return std::nullopt;
      c.resize_width = static_cast<uint16_t>(*w);
      c.resize_height = static_cast<uint16_t>(*h);
    } else if (part.substr(0, 6) == "times=") {
      std::optional<uint64_t> n = parse_number(part.substr(6));
      if (!n) return std::nullopt;
      c.times = *n;
    } else {
      return std::nullopt;
    }
  }
  if (first) return std::nullopt;
  // A mixed cut's up half counts from the moment it was armed: from a console's start it would
  // fall inside the RFB handshake, which is another test.
  if (c.mixed && (!c.armed || c.where != CutSpec::Where::random)) return std::nullopt;
  // Unarmed, random draws past the handshake: BYTES must leave room for that.
  if (c.where == CutSpec::Where::random && !c.armed && c.at < kRandomCutFirst) return std::nullopt;
  return c;
}

// after:MS,down:MS[,times=K][,rst]; both times at most a day, `after` and `down` at least 1 ms.
std::optional<RestartSpec> parse_restart(std::string_view arg) {
  RestartSpec r;
  bool after = false;
  bool down = false;
  while (!arg.empty()) {
    size_t comma = arg.find(',');
    std::string_view part = arg.substr(0, comma);
    arg = comma == std::string_view::npos ? std::string_view() : arg.substr(comma + 1);
    if (part == "rst" && !r.rst) {
      r.rst = true;
      continue;
    }
    size_t sep = part.find_first_of(":=");
    if (sep == std::string_view::npos) return std::nullopt;
    std::string_view key = part.substr(0, sep);
    std::optional<uint64_t> n = parse_number(part.substr(sep + 1));
    if (!n) return std::nullopt;
    if (key == "after" && part[sep] == ':' && !after) {
      after = true;
      r.after_ms = *n;
    } else if (key == "down" && part[sep] == ':' && !down) {
      down = true;
      r.down_ms = *n;
    } else if (key == "times" && part[sep] == '=') {
      r.times = *n;
    } else {
      return std::nullopt;
    }
  }
  constexpr uint64_t kDayMs = 24ull * 3600 * 1000;
  if (!after || !down || r.after_ms == 0 || r.down_ms == 0 || r.after_ms > kDayMs ||
      r.down_ms > kDayMs || r.times == 0) {
    return std::nullopt;
  }
  return r;
}

}  // namespace

std::string_view fault_name(FaultKind kind) {
  switch (kind) {
    case FaultKind::drop_ws_after:
      return "drop_ws_after";
    case FaultKind::stall_ws:
      return "stall_ws";
    case FaultKind::reject_ticket:
      return "reject_ticket";
    case FaultKind::oversized_header:
      return "oversized_header";
    case FaultKind::malformed_json:
      return "malformed_json";
    case FaultKind::slow:
      return "slow";
    case FaultKind::raw_after_upgrade:
      return "raw_after_upgrade";
    case FaultKind::endless_headers:
      return "endless_headers";
    case FaultKind::huge_body:
      return "huge_body";
    case FaultKind::endless_chunked:
      return "endless_chunked";
    case FaultKind::wrong_types:
      return "wrong_types";
    case FaultKind::no_reply:
      return "no_reply";
    case FaultKind::close_reused:
      return "close_reused";
    case FaultKind::bad_ws_accept:
      return "bad_ws_accept";
    case FaultKind::reset_upgrade:
      return "reset_upgrade";
    case FaultKind::reset_after:
      return "reset_after";
    case FaultKind::chunk_writes:
      return "chunk_writes";
    case FaultKind::tls_alert:
      return "tls_alert";
    case FaultKind::tls_renegotiate:
      return "tls_renegotiate";
    case FaultKind::cert_change_after:
      return "cert_change_after";
    case FaultKind::term:
      return "term";
    case FaultKind::cut_ws:
      return "cut_ws";
    case FaultKind::stall_ws_after:
      return "stall_ws_after";
    case FaultKind::refuse_vncproxy:
      return "refuse_vncproxy";
    case FaultKind::not_proxmox:
      return "not_proxmox";
    case FaultKind::restart_api:
      return "restart_api";
    case FaultKind::expire_auth:
      return "expire_auth";
  }
  return "?";
}

std::string_view raw_frame_kind_name(RawFrameKind kind) {
  switch (kind) {
    case RawFrameKind::masked_frame:
      return "masked_frame";
    case RawFrameKind::rsv_bits:
      return "rsv_bits";
    case RawFrameKind::huge_length:
      return "huge_length";
    case RawFrameKind::reserved_opcode:
      return "reserved_opcode";
    case RawFrameKind::ping_flood:
      return "ping_flood";
    case RawFrameKind::never_close:
      return "never_close";
    case RawFrameKind::silent:
      return "silent";
    case RawFrameKind::deaf_ping_flood:
      return "deaf_ping_flood";
    case RawFrameKind::deaf:
      return "deaf";
  }
  return "?";
}

Result<Fault> parse_fault(std::string_view spec) {
  size_t eq = spec.find('=');
  std::string_view name = spec.substr(0, eq);
  std::optional<std::string_view> arg;
  if (eq != std::string_view::npos) arg = spec.substr(eq + 1);

  const FaultKind* kind = nullptr;
  for (const FaultKind& k : kFaultKinds) {
    if (fault_name(k) == name) kind = &k;
  }
  if (kind == nullptr) {
    return usage("unknown fault '" + std::string(name) + "' (known: " + std::string(kKnownFaults) +
                 ")");
  }
  Fault fault;
  fault.kind = *kind;
  std::string prefix = "fault " + std::string(name) + ": ";
  switch (fault.kind) {
    case FaultKind::stall_ws:
    case FaultKind::reject_ticket:
    case FaultKind::oversized_header:
    case FaultKind::bad_ws_accept:
    case FaultKind::reset_upgrade:
    case FaultKind::tls_renegotiate:
    case FaultKind::not_proxmox:
    case FaultKind::expire_auth:
      if (arg) return usage(prefix + "takes no argument");
      return fault;
    case FaultKind::cut_ws: {
      std::optional<CutSpec> c = arg ? parse_cut(*arg) : std::nullopt;
      if (!c) {
        return usage(prefix +
                     "needs down:BYTES, up:BYTES, random:BYTES (>= 257 unless armed) or time:MS, "
                     "then optionally ,rst, "
                     ",times=K, ,resize=WxH, ,stop, ,armed and ,mixed (random:BYTES,armed only) "
                     "(cut_ws=down:100000,rst)");
      }
      fault.cut = *c;
      return fault;
    }
    case FaultKind::restart_api: {
      std::optional<RestartSpec> r = arg ? parse_restart(*arg) : std::nullopt;
      if (!r) {
        return usage(prefix +
                     "needs after:MS,down:MS (1..86400000 each), then optionally ,times=K with "
                     "K >= 1 and ,rst (restart_api=after:500,down:1500)");
      }
      fault.restart = *r;
      return fault;
    }
    case FaultKind::stall_ws_after:
    case FaultKind::refuse_vncproxy:
    case FaultKind::drop_ws_after:
    case FaultKind::slow:
    case FaultKind::reset_after:
    case FaultKind::chunk_writes:
    case FaultKind::cert_change_after: {
      const char* what =
          fault.kind == FaultKind::slow ? "milliseconds"
          : fault.kind == FaultKind::cert_change_after || fault.kind == FaultKind::refuse_vncproxy
              ? "a count"
              : "a byte count";
      std::optional<uint64_t> n = arg ? parse_number(*arg) : std::nullopt;
      if (!n || (fault.kind == FaultKind::chunk_writes && *n == 0)) {
        return usage(prefix + "needs " + what + " (" + std::string(name) + "=N)");
      }
      fault.number = *n;
      return fault;
    }
    case FaultKind::malformed_json:
    case FaultKind::endless_headers:
    case FaultKind::huge_body:
    case FaultKind::endless_chunked:
    case FaultKind::wrong_types:
    case FaultKind::no_reply:
    case FaultKind::close_reused:
      if (!arg || arg->empty()) {
        return usage(prefix + "needs a path substring (" + std::string(name) +
                     "=/cluster/resources)");
      }
      fault.text = std::string(*arg);
      return fault;
    case FaultKind::tls_alert:
      if (arg && *arg == "handshake") return fault;
      if (arg && *arg == "request") {
        fault.alert = TlsAlertPoint::request;
        return fault;
      }
      return usage(prefix + "needs handshake or request (tls_alert=handshake)");
    case FaultKind::term:
      for (const auto& [k, n] : kTermFaults) {
        if (arg && n == *arg) {
          fault.number = static_cast<uint64_t>(k);
          return fault;
        }
      }
      return usage(prefix + "needs one of no_ok, garbage, close_mid_output, burst, refuse_token");
    case FaultKind::raw_after_upgrade:
      for (RawFrameKind k : kRawKinds) {
        if (arg && raw_frame_kind_name(k) == *arg) {
          fault.raw = k;
          return fault;
        }
      }
      return usage(prefix +
                   "needs one of masked_frame, rsv_bits, huge_length, reserved_opcode, "
                   "ping_flood, never_close, silent");
  }
  return usage(prefix + "not handled");
}

Error MockOptions::add_fault(std::string_view spec) {
  Result<Fault> fault = parse_fault(spec);
  if (!fault.ok()) return fault.error();
  if (!takes_path(fault->kind) && find(fault->kind) != nullptr) {
    return usage("fault " + std::string(fault_name(fault->kind)) + " given twice");
  }
  faults.push_back(std::move(*fault));
  return {};
}

const Fault* MockOptions::find(FaultKind kind) const {
  for (const Fault& f : faults) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

std::optional<uint64_t> MockOptions::number_of(FaultKind kind) const {
  const Fault* f = find(kind);
  return f ? std::optional<uint64_t>(f->number) : std::nullopt;
}

std::optional<CutSpec> MockOptions::cut_ws() const {
  const Fault* f = find(FaultKind::cut_ws);
  return f ? std::optional<CutSpec>(f->cut) : std::nullopt;
}
std::optional<uint64_t> MockOptions::stall_ws_after() const {
  return number_of(FaultKind::stall_ws_after);
}
std::optional<uint64_t> MockOptions::refuse_vncproxy() const {
  return number_of(FaultKind::refuse_vncproxy);
}

std::optional<RestartSpec> MockOptions::restart_api() const {
  const Fault* f = find(FaultKind::restart_api);
  return f ? std::optional<RestartSpec>(f->restart) : std::nullopt;
}
bool MockOptions::expire_auth() const {
  return has(FaultKind::expire_auth);
}

std::optional<uint64_t> MockOptions::drop_ws_after() const {
  return number_of(FaultKind::drop_ws_after);
}
bool MockOptions::stall_ws() const {
  return has(FaultKind::stall_ws);
}
bool MockOptions::reject_ticket() const {
  return has(FaultKind::reject_ticket);
}
bool MockOptions::not_proxmox() const {
  return has(FaultKind::not_proxmox);
}

bool MockOptions::oversized_header() const {
  return has(FaultKind::oversized_header);
}
std::optional<uint64_t> MockOptions::slow_ms() const {
  return number_of(FaultKind::slow);
}

std::optional<RawFrameKind> MockOptions::raw_after_upgrade() const {
  const Fault* f = find(FaultKind::raw_after_upgrade);
  return f ? std::optional<RawFrameKind>(f->raw) : std::nullopt;
}

bool MockOptions::malformed_json_for(std::string_view path) const {
  return path_fault(FaultKind::malformed_json, path);
}

bool MockOptions::path_fault(FaultKind kind, std::string_view path) const {
  for (const Fault& f : faults) {
    if (f.kind == kind && path.find(f.text) != std::string_view::npos) return true;
  }
  return false;
}

std::optional<FaultKind> MockOptions::hostile_reply_for(std::string_view path) const {
  for (FaultKind k : {FaultKind::no_reply, FaultKind::endless_headers, FaultKind::huge_body,
                      FaultKind::endless_chunked}) {
    if (path_fault(k, path)) return k;
  }
  return std::nullopt;
}

bool MockOptions::bad_ws_accept() const {
  return has(FaultKind::bad_ws_accept);
}
bool MockOptions::reset_upgrade() const {
  return has(FaultKind::reset_upgrade);
}
bool MockOptions::tls_renegotiate() const {
  return has(FaultKind::tls_renegotiate);
}
std::optional<uint64_t> MockOptions::reset_after() const {
  return number_of(FaultKind::reset_after);
}
std::optional<uint64_t> MockOptions::chunk_writes() const {
  return number_of(FaultKind::chunk_writes);
}
std::optional<uint64_t> MockOptions::cert_change_after() const {
  return number_of(FaultKind::cert_change_after);
}

std::optional<TlsAlertPoint> MockOptions::tls_alert() const {
  const Fault* f = find(FaultKind::tls_alert);
  return f ? std::optional<TlsAlertPoint>(f->alert) : std::nullopt;
}

bool MockOptions::has_connection_faults() const {
  return reset_after() || chunk_writes() || tls_alert() || tls_renegotiate() || cert_change_after();
}

std::optional<TermFault> MockOptions::term_fault() const {
  const Fault* f = find(FaultKind::term);
  if (f == nullptr) return std::nullopt;
  return static_cast<TermFault>(f->number);
}

std::string_view vncproxy_generation_name(VncproxyGeneration g) {
  switch (g) {
    case VncproxyGeneration::old:
      return "old";
    case VncproxyGeneration::middle:
      return "middle";
    case VncproxyGeneration::next:
      return "new";
  }
  return "middle";
}

std::optional<VncproxyGeneration> parse_vncproxy_generation(std::string_view text) {
  for (auto g : {VncproxyGeneration::old, VncproxyGeneration::middle, VncproxyGeneration::next}) {
    if (vncproxy_generation_name(g) == text) return g;
  }
  return std::nullopt;
}

std::string MockOptions::pve_version() const {
  if (!version.empty()) return version;
  switch (generation) {
    case VncproxyGeneration::old:
      return "6.1-11";  // before 8.0, pve-manager's last part came after a dash
    case VncproxyGeneration::middle:
      return old_pveproxy ? "8.3.5" : "8.4.1";
    case VncproxyGeneration::next:
      return "10.0.1";
  }
  return "8.4.1";
}

std::string MockOptions::pve_release() const {
  std::string v = pve_version();
  size_t dot = v.find('.');
  size_t end = dot == std::string::npos ? v.size() : v.find_first_of(".-", dot + 1);
  return v.substr(0, end);
}

}  // namespace pvb::mock
