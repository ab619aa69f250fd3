#include "tests/integration/mock_fixture.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "engine/core/json.h"

namespace pvb::testing {

std::string pvebridge_path() {
  return PVB_PVEBRIDGE_PATH;
}
std::string test_viewer_path() {
  return PVB_TEST_VIEWER_PATH;
}

std::map<std::string, std::string> base_env(std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> env;
  auto mine = inherited_environment();
  for (const char* k : {"PATH", "HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TMPDIR"}) {
    if (mine.count(k)) env[k] = mine[k];
  }
  // Never the developer's own ~/.config/pvebridge/config (tests that want a config pass one).
  env["XDG_CONFIG_HOME"] = "/nonexistent/pvebridge-tests";
  // The test viewers need no display, but pvebridge refuses to start a viewer without one.
  env["DISPLAY"] = ":pvebridge-test";
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

MockPveproxy::~MockPveproxy() {
  if (!proc_) return;
  proc_->close_stdin();
  proc_->wait(5000);
}

MockPveproxy::MockPveproxy(std::vector<std::string> flags) {
  std::vector<std::string> argv = {PVB_MOCK_PVEPROXY_PATH, "--listen",
                                   "127.0.0.1:0",          "--exit-on-stdin-eof",
                                   "--auth-fail-delay-ms", "50"};
  for (auto& f : flags) argv.push_back(f);
  proc_ = std::make_unique<ChildProcess>(argv, base_env());
  auto line = proc_->read_line(15000);
  if (!line) {
    ADD_FAILURE() << "mock-pveproxy did not start: " << proc_->stderr_text();
    return;
  }
  auto num = [&](const char* k) { return std::atoi(json_get(*line, k).value_or("0").c_str()); };
  auto str = [&](const char* k) { return json_get(*line, k).value_or(""); };
  info_.port = num("port");
  info_.fingerprint = str("fingerprint");
  info_.ca_file = str("ca_file");
  info_.user = str("user");
  info_.password = str("password");
  info_.api_token = str("api_token");
  info_.totp_user = str("totp_user");
  info_.totp_secret = str("totp_secret");
  info_.spice_proxy_port = num("spice_proxy_port");
  // "ports":[P1,P2,...] (minified JSON of small integers).
  std::string ports = str("ports");
  for (char& ch : ports) {
    if (ch < '0' || ch > '9') ch = ' ';
  }
  std::istringstream list(ports);
  for (int p = 0; list >> p;) info_.ports.push_back(p);
  ok_ = info_.port > 0 && !info_.fingerprint.empty();
  if (!ok_) ADD_FAILURE() << "bad ready line from mock-pveproxy: " << *line;
}

RunResult run_pvebridge(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env, int timeout_ms) {
  std::vector<std::string> argv = {pvebridge_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess p(argv, env, /*pipe_stdin=*/false);
  RunResult r;
  auto code = p.wait(timeout_ms);
  if (!code) {
    ADD_FAILURE() << "pvebridge did not finish in " << timeout_ms
                  << " ms; stderr: " << p.stderr_text();
    p.signal(SIGKILL);
    code = p.wait(5000);
  }
  r.exit_code = code.value_or(-1);
  r.out = p.stdout_lines();
  r.err = p.stderr_text();
  return r;
}

std::unique_ptr<ChildProcess> start_pvebridge(const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {pvebridge_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<ChildProcess>(argv, env, /*pipe_stdin=*/false);
}

static std::optional<std::string> as_text(JsonElement e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (e.is_null()) return std::string("null");
  return std::string(simdjson::minify(e));
}

std::optional<std::string> json_path(const std::string& line, const std::string& path) {
  auto doc = JsonDocument::parse(line, "test");
  if (!doc.ok()) return std::nullopt;
  JsonElement cur = doc->root();
  std::string_view rest = path;
  while (!rest.empty()) {
    auto dot = rest.find('.');
    std::string key(rest.substr(0, dot));
    JsonElement next;
    if (!cur.is_object() || cur.get_object()[key].get(next) != simdjson::SUCCESS)
      return std::nullopt;
    cur = next;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return as_text(cur);
}

std::optional<std::string> json_get(const std::string& line, const std::string& key) {
  return json_path(line, key);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool file_exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace pvb::testing
