#include "bench/bridge_throughput/subjects.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bench/bridge_throughput/proc_stats.h"
#include "engine/core/json.h"
#include "engine/core/json_writer.h"

namespace pvb::bench {

namespace {

constexpr double kStartTimeout = 30;

// Variables that would change what pvebridge does behind the harness's back (a user's cluster,
// credentials, configuration file): removed from every child's environment.
const std::vector<std::string> kForeignEnv = {
    "PVE_HOST",        "PVE_USER",    "PVE_PASSWORD",     "PVE_OTP",          "PVE_API_TOKEN",
    "PVE_FINGERPRINT", "PVE_CA_FILE", "PVEBRIDGE_CONFIG", "PVEBRIDGE_PROFILE"};

Error failed_start(const Child& child, const std::string& what) {
  std::string tail = child.stderr_tail();
  if (tail.size() > 600) tail = "..." + tail.substr(tail.size() - 600);
  return Error(Errc::internal, child.name() + ": " + what + (tail.empty() ? "" : ": " + tail));
}

Result<std::unique_ptr<Child>> spawn(ChildOptions options, const std::string& home) {
  options.unset_env.insert(options.unset_env.end(), kForeignEnv.begin(), kForeignEnv.end());
  // An empty private configuration and cache: no user's pvebridge settings apply.
  options.env.emplace_back("XDG_CONFIG_HOME", home + "/config");
  options.env.emplace_back("XDG_CACHE_HOME", home + "/cache");
  return Child::spawn(std::move(options));
}

Result<JsonDocument> parse_line(const std::string& line, const char* what) {
  return JsonDocument::parse(line, what);
}

}  // namespace

const char* guest_name(Guest g) {
  switch (g) {
    case Guest::source:
      return "source";
    case Guest::sink:
      return "sink";
    case Guest::echo:
      return "echo";
    case Guest::rfb_source:
      return "rfbsource";
    case Guest::rfb_echo:
      return "rfbecho";
  }
  return "source";
}

bool speaks_rfb(Guest g) {
  return g == Guest::rfb_source || g == Guest::rfb_echo;
}

Result<std::string> vv_password(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(Errc::io, "cannot read the .vv file " + path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("password=", 0) != 0) continue;
    std::string out;
    for (size_t i = 9; i < line.size(); ++i) {
      if (line[i] != '\\' || i + 1 == line.size()) {
        out += line[i];
        continue;
      }
      const char c = line[++i];
      out += c == 's' ? ' ' : c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
    }
    return out;
  }
  return Error(Errc::protocol, "the .vv file " + path + " has no password");
}

const char* peer_name(PeerKind p) {
  return p == PeerKind::node ? "node-ws" : "python-websockets";
}

Result<uint16_t> listening_port(const std::string& line) {
  auto doc = parse_line(line, "listening line");
  if (!doc.ok()) return doc.error();
  auto port = json_int(doc->root(), "port", "listening line");
  if (!port.ok()) return port.error();
  if (*port <= 0 || *port > 65535) return Error(Errc::protocol, "listening line: bad port");
  return static_cast<uint16_t>(*port);
}

BenchEnv::BenchEnv(ProgramPaths paths, TlsBackendKind server_backend)
    : paths_(std::move(paths)), server_backend_(server_backend) {
  char tmpl[] = "/tmp/pvb-bench-XXXXXX";
  if (::mkdtemp(tmpl) != nullptr) home_ = tmpl;
}

BenchEnv::~BenchEnv() {
  // Servers end with their stdin; kill whatever is left.
  if (mock_) mock_->first->close_stdin();
  for (auto& [kind, f] : far_ends_) f.first->close_stdin();
  if (mock_) mock_->first->wait(5);
  for (auto& [kind, f] : far_ends_) f.first->wait(5);
  mock_.reset();
  far_ends_.clear();
  std::error_code ec;
  if (!home_.empty()) std::filesystem::remove_all(home_, ec);
}

Result<MockServerInfo> BenchEnv::mock() {
  if (mock_) return mock_->second;
  ChildOptions o;
  o.argv = {paths_.mock, "--tls-backend", std::string(tls_backend_name(server_backend_)),
            "--exit-on-stdin-eof",
            // A node has 100 console ports; the scale mode runs 1000 consoles through one mock.
            "--console-ports", "5900-7899"};
  o.nofile = 16384;  // 1000 consoles and their API connections
  auto child = spawn(std::move(o), home_);
  if (!child.ok()) return child.error();
  auto line = (*child)->read_line(kStartTimeout);
  if (!line) return failed_start(**child, "no ready line");
  auto info = parse_mock_ready_line(line->text);
  if (!info.ok()) return info.error();
  MockServerInfo m = *info;
  mock_.emplace(std::move(*child), m);
  return m;
}

Result<BenchEnv::FarEnd> BenchEnv::far_end(bool tls) {
  auto it = far_ends_.find(tls);
  if (it != far_ends_.end()) return it->second.second;
  ChildOptions o;
  o.argv = {paths_.far_end};
  if (tls) {
    o.argv.push_back("--tls");
    o.argv.emplace_back(tls_backend_name(server_backend_));
  }
  o.nofile = 16384;
  auto child = spawn(std::move(o), home_);
  if (!child.ok()) return child.error();
  auto line = (*child)->read_line(kStartTimeout);
  if (!line) return failed_start(**child, "no ready line");
  auto doc = parse_line(line->text, "bench-far-end ready line");
  if (!doc.ok()) return doc.error();
  FarEnd f;
  for (const char* kind : {"source", "sink", "echo"}) {
    auto port = json_int(doc->root(), kind, "bench-far-end ready line");
    if (!port.ok()) return port.error();
    f.ports[kind] = static_cast<uint16_t>(*port);
  }
  auto ca = json_optional_string(doc->root(), "ca_file", "bench-far-end ready line");
  if (!ca.ok()) return ca.error();
  f.ca_file = ca->value_or("");
  far_ends_[tls] = {std::move(*child), f};
  return f;
}

Result<Subject> BenchEnv::start_pvebridge(TlsBackendKind backend, Guest guest, bool ticket_login,
                                          size_t sessions,
                                          const std::function<Error(uint16_t)>& on_listening,
                                          double listen_timeout_s, bool passthrough) {
  passthrough = passthrough || !speaks_rfb(guest);
  auto m = mock();
  if (!m.ok()) return m.error();
  ChildOptions o;
  o.argv = {paths_.pvebridge, "connect"};
  for (size_t i = 0; i < sessions; ++i) o.argv.emplace_back(guest_name(guest));
  for (const char* a : {"--no-viewer", "--json", "--client-wait", "300"}) o.argv.emplace_back(a);
  // source, sink and echo are byte sources and sinks, not VNC servers: the byte pipe.
  if (passthrough) o.argv.emplace_back("--passthrough");
  o.argv.emplace_back("--tls-backend");
  o.argv.emplace_back(tls_backend_name(backend));
  o.argv.emplace_back("--host");
  o.argv.push_back("localhost:" + std::to_string(m->port));
  o.argv.emplace_back("--ca-file");
  o.argv.push_back(m->ca_file);
  // Secrets through the environment, never argv.
  if (ticket_login) {
    o.argv.emplace_back("--user");
    o.argv.push_back(m->user);
    o.env.emplace_back("PVE_PASSWORD", m->password);
  } else {
    o.env.emplace_back("PVE_API_TOKEN", m->api_token);
  }
  o.nofile = 3 * sessions + 64;  // per session: listener, client, WebSocket
  auto child = spawn(std::move(o), home_);
  if (!child.ok()) return child.error();
  Subject s;
  s.child = std::move(*child);
  const double deadline = now_seconds() + listen_timeout_s;
  for (size_t seen = 0; seen < sessions;) {
    auto line = s.child->read_line(std::max(0.0, deadline - now_seconds()));
    if (!line) return failed_start(*s.child, "no listening event");
    if (line->text.find("\"event\":\"error\"") != std::string::npos) {
      return failed_start(*s.child, line->text);
    }
    if (line->text.find("\"event\":\"listening\"") == std::string::npos) {
      s.skipped_lines.push_back(line->text);
      continue;
    }
    auto port = listening_port(line->text);
    if (!port.ok()) return port.error();
    if (seen == 0) {
      s.port = *port;
      s.listening_line = line->text;
      s.listening_at = line->at;
      s.rfb = speaks_rfb(guest);
      if (s.rfb && !passthrough) {
        auto doc = parse_line(line->text, "listening line");
        if (!doc.ok()) return doc.error();
        auto vv = json_optional_string(doc->root(), "vv_file", "listening line");
        if (!vv.ok()) return vv.error();
        if (!*vv) return failed_start(*s.child, "no .vv file in " + line->text);
        auto password = vv_password(**vv);
        if (!password.ok()) return password.error();
        s.rfb_password = *password;
      }
    }
    if (on_listening) {
      if (Error e = on_listening(*port); e.failed()) return e;
    }
    ++seen;
  }
  return s;
}

Result<Subject> BenchEnv::start_relay(std::optional<TlsBackendKind> tls, Guest guest) {
  auto f = far_end(tls.has_value());
  if (!f.ok()) return f.error();
  ChildOptions o;
  o.argv = {paths_.relay, "--connect",
            "127.0.0.1:" + std::to_string(f->ports.at(guest_name(guest)))};
  if (tls) {
    o.argv.emplace_back("--tls");
    o.argv.emplace_back(tls_backend_name(*tls));
    o.argv.emplace_back("--ca-file");
    o.argv.push_back(f->ca_file);
  }
  auto child = spawn(std::move(o), home_);
  if (!child.ok()) return child.error();
  Subject s;
  s.child = std::move(*child);
  auto line = s.child->wait_for_line("\"listening\"", kStartTimeout);
  if (!line) return failed_start(*s.child, "no listening line");
  auto port = listening_port(line->text);
  if (!port.ok()) return port.error();
  s.port = *port;
  s.listening_line = line->text;
  s.listening_at = line->at;
  return s;
}

std::string BenchEnv::peer_unavailable(PeerKind peer) {
  auto it = peer_checked_.find(peer);
  if (it != peer_checked_.end()) return it->second;
  std::string why;
  if (peer == PeerKind::node) {
    std::error_code ec;
    if (paths_.node.empty() || ::access(paths_.node.c_str(), X_OK) != 0) {
      why = "node is not installed" + (paths_.node.empty() ? "" : " at " + paths_.node);
    } else if (!std::filesystem::exists(paths_.peers_dir + "/node_modules/ws/package.json", ec)) {
      why = "the npm package ws is not installed in " + paths_.peers_dir +
            " (bench/run_bridge.sh installs it outside --smoke)";
    }
  } else {
    ChildOptions o;
    o.argv = {paths_.python, "-c", "import websockets"};
    auto child = Child::spawn(std::move(o));
    auto exit = child.ok() ? (*child)->wait(30) : std::nullopt;
    if (!exit || exit->code != 0) {
      why = paths_.python + " cannot import websockets (Debian: python3-websockets)";
    }
  }
  peer_checked_[peer] = why;
  return why;
}

Result<Subject> BenchEnv::start_peer(PeerKind peer, Guest guest) {
  if (std::string why = peer_unavailable(peer); !why.empty()) {
    return Error(Errc::not_found, why);
  }
  auto m = mock();
  if (!m.ok()) return m.error();
  auto console = open_peer_console(*m, guest_name(guest));
  if (!console.ok()) return console.error();
  ChildOptions o;
  if (peer == PeerKind::node) {
    o.argv = {paths_.node, paths_.peers_dir + "/node_ws_bridge.js"};
  } else {
    o.argv = {paths_.python, paths_.peers_dir + "/python_ws_bridge.py"};
  }
  auto child = spawn(std::move(o), home_);
  if (!child.ok()) return child.error();
  Subject s;
  s.child = std::move(*child);
  // The ticket and the token travel on stdin: never on a command line.
  JsonWriter w;
  w.begin_object().key("url").value(console->url).key("ca_file").value(m->ca_file);
  w.key("headers").begin_object();
  for (const auto& [name, value] : console->headers) w.key(name).value(value);
  w.end_object().end_object();
  s.child->write_stdin(w.str() + "\n");
  s.child->close_stdin();
  auto line = s.child->wait_for_line("\"listening\"", kStartTimeout);
  if (!line) return failed_start(*s.child, "no listening line");
  auto port = listening_port(line->text);
  if (!port.ok()) return port.error();
  s.port = *port;
  s.listening_line = line->text;
  s.listening_at = line->at;
  return s;
}

}  // namespace pvb::bench
