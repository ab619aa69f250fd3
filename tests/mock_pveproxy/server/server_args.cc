#include "tests/mock_pveproxy/server/server_args.h"

#include "tests/mock_pveproxy/auth.h"

#include <charconv>
#include <limits>
#include <optional>
#include <string_view>

namespace pvb::mock {

const char* const kServerUsage =
    "usage: mock-pveproxy [--listen HOST:PORT] [--also-listen HOST:PORT]...\n"
    "                     [--inventory FILE] [--state-dir DIR]\n"
    "                     [--cert FILE --key FILE] [--leaf-only] [--cluster-ca FILE]\n"
    "                     [--fault NAME[=ARG]]... [--old-pveproxy]\n"
    "                     [--generation old|middle|new] [--pve-version V] [--vnc-password P]\n"
    "                     [--tls-backend openssl|mbedtls]\n"
    "                     [--qemu] [--qemu-binary PATH] [--qemu-echo-guest]\n"
    "                     [--console-ports FIRST-LAST]\n"
    "                     [--fake-vm-freeze-at TICK] [--fake-vm-tick-ms MS] [--fake-vm-dump-dir "
    "DIR]\n"
    "                     [--fake-vm-key-log PATH]\n"
    "                     [--spice-x509-dir DIR] [--spice-host-subject SUBJECT]\n"
    "                     [TIMER FLAGS] [--exit-on-stdin-eof]\n"
    "A stand-in for Proxmox VE's pveproxy (REST API and console websockets) for tests and\n"
    "benchmarks. Prints one JSON line when ready: port, fingerprint, ca_file, user, password,\n"
    "api_token, totp_user, totp_password, totp_secret, spice_proxy_port (its spiceproxy, the\n"
    "node's 3128); with --also-listen also ports (every listening port, --listen's first).\n"
    "Logs go to stderr. Runs until SIGINT/SIGTERM.\n"
    "  --listen HOST:PORT        loopback address (default 127.0.0.1:0 = any free port)\n"
    "  --also-listen HOST:PORT   listen there too, as another node's pveproxy of the same\n"
    "                            cluster (same guests, tickets, certificate; repeatable; port 0 =\n"
    "                            any free one); its connections are logged as PEER (on :PORT);\n"
    "                            restart_api leaves it alone\n"
    "  --inventory FILE          cluster JSON (default: the built-in cluster)\n"
    "  --state-dir DIR           where ca.pem is written (default: a private temporary directory,\n"
    "                            removed at exit)\n"
    "  --cert FILE --key FILE    serve this PEM chain and key instead of generating a CA and a\n"
    "                            leaf for localhost, 127.0.0.1 and ::1 (ca_file is then a copy of\n"
    "                            the chain; vncproxy's cert is the chain after the leaf)\n"
    "  --leaf-only               send only the leaf, as stock pveproxy does (vncproxy's cert\n"
    "                            still names the CA)\n"
    "  --cluster-ca FILE         vncproxy's cert is this PEM file instead\n"
    "  --fault NAME[=ARG]        drop_ws_after=BYTES, stall_ws, reject_ticket, oversized_header,\n"
    "                            malformed_json=PATH_SUBSTRING, slow=MS,\n"
    "                            raw_after_upgrade=masked_frame|rsv_bits|huge_length|\n"
    "                            reserved_opcode|ping_flood|never_close|silent|\n"
    "                            deaf_ping_flood|deaf,\n"
    "                            endless_headers=PATH_SUBSTRING, huge_body=PATH_SUBSTRING,\n"
    "                            endless_chunked=PATH_SUBSTRING, wrong_types=PATH_SUBSTRING,\n"
    "                            no_reply=PATH_SUBSTRING, close_reused=PATH_SUBSTRING,\n"
    "                            bad_ws_accept, reset_upgrade,\n"
    "                            reset_after=BYTES, chunk_writes=BYTES,\n"
    "                            tls_alert=handshake|request, tls_renegotiate,\n"
    "                            cert_change_after=N, not_proxmox, term=no_ok|garbage|\n"
    "                            close_mid_output|burst|refuse_token,\n"
    "                            cut_ws=down:BYTES|up:BYTES|random:BYTES|time:MS[,rst]\n"
    "                            [,times=K][,resize=WxH][,stop][,armed][,mixed],\n"
    "                            stall_ws_after=BYTES,\n"
    "                            refuse_vncproxy=N,\n"
    "                            restart_api=after:MS,down:MS[,times=K][,rst] (MS after a\n"
    "                            console opened, --listen drops every connection, by a TCP\n"
    "                            reset with rst, and refuses new ones for down MS, then\n"
    "                            listens again; tickets stay valid),\n"
    "                            expire_auth (at each cut_ws cut and restart_api every login\n"
    "                            ticket expires and every API token is revoked)\n"
    "                            (repeatable; see README.md)\n"
    "  --tls-backend NAME        openssl (default: fast enough to be the far end of the\n"
    "                            throughput benchmark) or mbedtls\n"
    "  --old-pveproxy            behave like Proxmox VE 8.3 and earlier (64 KiB websocket frames)\n"
    "  --generation G            vncproxy's generate-password: old (before 6.2: refused, the\n"
    "                            password is the ticket), middle (default: a password only when\n"
    "                            asked), new (the next major: refused, a password always)\n"
    "  --pve-version V           GET /version reports V (default: one of the generation's)\n"
    "  --vnc-password P          every generated VNC password is P (8 characters, '!'..'`')\n"
    "  --qemu                    relay the console of every qemu guest to a real QEMU (one per\n"
    "                            guest, started at its first console, killed at exit) instead of\n"
    "                            the fake VM; lxc guests keep the fake VM\n"
    "  --qemu-binary PATH        that QEMU (implies --qemu; default: qemu-system-x86_64 in PATH)\n"
    "  --qemu-echo-guest         each QEMU boots a tiny guest that echoes keys to its text\n"
    "                            screen, which is otherwise still (implies --qemu; SIGUSR2 also\n"
    "                            types the next of a..z into every QEMU)\n"
    "  --console-ports FIRST-LAST  hand out console ports from this range (default 5900-5999, a\n"
    "                            node's 100; the benchmark runs 1000 consoles with a wider one)\n"
    "  --fake-vm-freeze-at TICK  the fake VMs' screens stand still at TICK (SIGUSR2: next tick)\n"
    "  --fake-vm-tick-ms MS      a running screen's next tick comes every MS (1..60000, default\n"
    "                            1000)\n"
    "  --fake-vm-dump-dir DIR    SIGUSR1 writes each guest's fake VM screen to DIR/VMID.ppm\n"
    "                            (with --qemu: also each QEMU's, by QMP screendump)\n"
    "  --fake-vm-key-log PATH    the fake VMs append every key event they get to PATH\n"
    "                            (\"VMID down|up 0xKEYSYM\" lines, in arrival order)\n"
    "  --spice-x509-dir DIR      with --qemu: every QEMU also serves SPICE (-vga qxl) over TLS "
    "with\n"
    "                            DIR/ca-cert.pem, server-cert.pem, server-key.pem; spiceproxy's\n"
    "                            ca is DIR/ca-cert.pem (without it the spiceproxy echoes)\n"
    "  --spice-host-subject S    spiceproxy's host-subject (default CN=localhost)\n"
    "  --exit-on-stdin-eof       also exit when standard input is closed\n"
    "timers:\n"
    "  --auth-fail-delay-ms N    delay of every 401 reply (default 3000)\n"
    "  --start-delay-ms N        a started guest runs after N ms (default 2000)\n"
    "  --keepalive-timeout-ms N  close a kept-alive connection idle for N ms, as pveproxy does\n"
    "                            (default 5000; 0: never)\n"
    "  --ws-window-ms N          the websocket must follow vncproxy within N ms (default 10000;\n"
    "                            the mock's clock counts whole seconds)\n"
    "  --vnc-password-life-s N   the VNC password expires N s after the websocket (default 30)\n"
    "  --vncticket-min-age-s N   a vncticket is valid while MIN < age < MAX (default -20)\n"
    "  --vncticket-max-age-s N   (default 40)\n"
    "  --ticket-min-age-s N      login tickets: valid while MIN < age < LIFE (default -300)\n"
    "  --ticket-life-s N         (default 7200)\n"
    "  --tfa-challenge-life-s N  the two-factor challenge ticket (default 120)\n"
    "  --help                    this text\n";

namespace {

Error usage(std::string message) {
  return Error(Errc::usage, std::move(message));
}

template <class T>
std::optional<T> parse_int(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// HOST:PORT, IPv6 literals in brackets: [::1]:8006. `flag` names the flag in the error.
Result<ServerConfig::Address> parse_address(std::string_view flag, std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    return usage(std::string(flag) + " wants HOST:PORT, got " + std::string(s));
  }
  std::string_view host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::optional<uint16_t> port = parse_int<uint16_t>(s.substr(colon + 1));
  if (host.empty() || !port) {
    return usage(std::string(flag) + " wants HOST:PORT, got " + std::string(s));
  }
  return ServerConfig::Address{std::string(host), *port};
}

// Flags taking a number, and where each one goes.
struct TimerFlag {
  std::string_view name;
  uint64_t MockOptions::*unsigned_field;
  int64_t MockOptions::*signed_field;
};

constexpr TimerFlag kTimerFlags[] = {
    {"--auth-fail-delay-ms", &MockOptions::auth_fail_delay_ms, nullptr},
    {"--start-delay-ms", &MockOptions::start_delay_ms, nullptr},
    {"--keepalive-timeout-ms", &MockOptions::keepalive_timeout_ms, nullptr},
    {"--ws-window-ms", &MockOptions::ws_window_ms, nullptr},
    {"--vnc-password-life-s", nullptr, &MockOptions::vnc_password_life_s},
    {"--spice-password-life-s", nullptr, &MockOptions::spice_password_life_s},
    {"--vncticket-min-age-s", nullptr, &MockOptions::vncticket_min_age_s},
    {"--vncticket-max-age-s", nullptr, &MockOptions::vncticket_max_age_s},
    {"--ticket-min-age-s", nullptr, &MockOptions::ticket_min_age_s},
    {"--ticket-life-s", nullptr, &MockOptions::ticket_life_s},
    {"--tfa-challenge-life-s", nullptr, &MockOptions::tfa_challenge_life_s},
};

Error set_timer(const TimerFlag& flag, std::string_view value, MockOptions& options) {
  if (flag.unsigned_field != nullptr) {
    std::optional<uint64_t> v = parse_int<uint64_t>(value);
    if (!v || *v > 24ull * 3600 * 1000) {
      return usage(std::string(flag.name) + " wants milliseconds (0..86400000), got '" +
                   std::string(value) + "'");
    }
    options.*flag.unsigned_field = *v;
  } else {
    std::optional<int64_t> v = parse_int<int64_t>(value);
    if (!v || *v < -10 * 365 * 86400ll || *v > 10 * 365 * 86400ll) {
      return usage(std::string(flag.name) + " wants seconds, got '" + std::string(value) + "'");
    }
    options.*flag.signed_field = *v;
  }
  return Error();
}

// FIRST-LAST, 1024 <= FIRST <= LAST <= 65535.
Error parse_console_ports(std::string_view v, MockOptions& options) {
  const size_t dash = v.find('-');
  std::optional<uint16_t> first, last;
  if (dash != std::string_view::npos) {
    first = parse_int<uint16_t>(v.substr(0, dash));
    last = parse_int<uint16_t>(v.substr(dash + 1));
  }
  if (!first || !last || *first < 1024 || *first > *last) {
    return usage("--console-ports wants FIRST-LAST with 1024 <= FIRST <= LAST <= 65535, got '" +
                 std::string(v) + "'");
  }
  options.console_port_first = *first;
  options.console_port_last = *last;
  return Error();
}

}  // namespace

Result<ParsedArgs> parse_server_args(int argc, const char* const* argv) {
  ParsedArgs out;
  ServerConfig& c = out.config;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::optional<std::string_view> inline_value;
    if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto flag_only = [&]() -> Error {
      if (inline_value) return usage(std::string(arg) + " takes no value");
      return Error();
    };
    auto value = [&]() -> Result<std::string_view> {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) return usage(std::string(arg) + " needs a value");
      return std::string_view(argv[++i]);
    };

    if (arg == "--help" || arg == "-h") {
      out.help = true;
      return out;
    }
    if (arg == "--qemu" || arg == "--qemu-echo-guest") {
      if (Error e = flag_only(); e.failed()) return e;
      c.qemu = true;
      if (arg == "--qemu-echo-guest") c.qemu_echo_guest = true;
      continue;
    }
    if (arg == "--exit-on-stdin-eof" || arg == "--old-pveproxy" || arg == "--leaf-only") {
      if (Error e = flag_only(); e.failed()) return e;
      (arg == "--old-pveproxy" ? c.api.old_pveproxy
       : arg == "--leaf-only"  ? c.leaf_only
                               : c.exit_on_stdin_eof) = true;
      continue;
    }
    const TimerFlag* timer = nullptr;
    for (const TimerFlag& t : kTimerFlags) {
      if (t.name == arg) timer = &t;
    }
    bool known = timer != nullptr || arg == "--listen" || arg == "--inventory" ||
                 arg == "--state-dir" || arg == "--cert" || arg == "--key" || arg == "--fault" ||
                 arg == "--cluster-ca" || arg == "--qemu-binary" || arg == "--tls-backend" ||
                 arg == "--console-ports" || arg == "--generation" || arg == "--pve-version" ||
                 arg == "--vnc-password" || arg == "--fake-vm-freeze-at" ||
                 arg == "--fake-vm-tick-ms" || arg == "--fake-vm-dump-dir" ||
                 arg == "--fake-vm-key-log" || arg == "--spice-x509-dir" ||
                 arg == "--spice-host-subject" || arg == "--also-listen";
    if (!known) return usage("unknown argument '" + std::string(arg) + "' (see --help)");
    Result<std::string_view> v = value();
    if (!v.ok()) return v.error();
    if (timer != nullptr) {
      if (Error e = set_timer(*timer, *v, c.api); e.failed()) return e;
    } else if (arg == "--listen" || arg == "--also-listen") {
      Result<ServerConfig::Address> a = parse_address(arg, *v);
      if (!a.ok()) return a.error();
      if (arg == "--also-listen") {
        c.also_listen.push_back(std::move(*a));
      } else {
        c.listen_host = std::move(a->host);
        c.listen_port = a->port;
      }
    } else if (arg == "--fault") {
      if (Error e = c.api.add_fault(*v); e.failed()) return e;
    } else if (arg == "--generation") {
      auto g = parse_vncproxy_generation(*v);
      if (!g)
        return usage("--generation: expected old, middle or new, got '" + std::string(*v) + "'");
      c.api.generation = *g;
    } else if (arg == "--pve-version") {
      if (v->empty()) return usage("--pve-version needs a non-empty value");
      c.api.version = std::string(*v);
    } else if (arg == "--vnc-password") {
      bool valid = v->size() == kVncPasswordLength;
      for (char ch : *v) valid = valid && ch >= '!' && ch <= '`';
      if (!valid) return usage("--vnc-password: expected 8 characters from '!' to '`'");
      c.api.fixed_vnc_password = std::string(*v);
    } else if (arg == "--fake-vm-freeze-at") {
      uint64_t tick = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), tick);
      if (ec != std::errc() || end != v->data() + v->size() || tick > 999999) {
        return usage("--fake-vm-freeze-at wants a tick 0..999999, got '" + std::string(*v) + "'");
      }
      c.fake_vm_freeze_at = tick;
    } else if (arg == "--fake-vm-tick-ms") {
      uint32_t ms = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), ms);
      if (ec != std::errc() || end != v->data() + v->size() || ms == 0 || ms > 60000) {
        return usage("--fake-vm-tick-ms wants 1..60000, got '" + std::string(*v) + "'");
      }
      c.fake_vm_tick_ms = ms;
    } else if (arg == "--console-ports") {
      if (Error e = parse_console_ports(*v, c.api); e.failed()) return e;
    } else if (arg == "--tls-backend") {
      auto b = parse_tls_backend(*v);
      if (!b)
        return usage("--tls-backend: expected openssl or mbedtls, got '" + std::string(*v) + "'");
      c.tls_backend = *b;
    } else {
      if (v->empty()) return usage(std::string(arg) + " needs a non-empty value");
      std::string s(*v);
      if (arg == "--inventory") c.inventory_file = s;
      if (arg == "--state-dir") c.state_dir = s;
      if (arg == "--cert") c.cert_file = s;
      if (arg == "--key") c.key_file = s;
      if (arg == "--cluster-ca") c.cluster_ca_file = s;
      if (arg == "--fake-vm-dump-dir") c.fake_vm_dump_dir = s;
      if (arg == "--fake-vm-key-log") c.fake_vm_key_log = s;
      if (arg == "--spice-x509-dir") c.spice_x509_dir = s;
      if (arg == "--spice-host-subject") c.api.spice_host_subject = s;
      if (arg == "--qemu-binary") {
        c.qemu_binary = s;
        c.qemu = true;
      }
    }
  }
  if (c.cert_file.empty() != c.key_file.empty()) {
    return usage("--cert and --key go together");
  }
  return out;
}

}  // namespace pvb::mock
