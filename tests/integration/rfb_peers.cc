#include "tests/integration/rfb_peers.h"

#include <array>
#include <chrono>
#include <thread>

#include "engine/core/platform.h"
#include "engine/rfb/vnc_auth.h"

namespace pvb::testing {

std::string vv_value(const std::string& text, const std::string& key) {
  size_t at = text.find("\n" + key + "=");
  if (at == std::string::npos) return "";
  at += key.size() + 2;
  const std::string raw = text.substr(at, text.find('\n', at) - at);
  std::string value;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\' || i + 1 == raw.size()) {
      value += raw[i];
      continue;
    }
    const char e = raw[++i];
    value += e == 's' ? ' ' : e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
  }
  return value;
}

bool wait_until(const std::function<bool()>& pred, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling another process
  }
  return true;
}

bool wait_for_stderr(ChildProcess& p, const std::string& needle, int timeout_ms) {
  return wait_until(
      [&] {
        p.read_line(20);
        return p.stderr_text().find(needle) != std::string::npos;
      },
      timeout_ms);
}

std::string vnc_check_path() {
#ifdef PVB_VNC_CHECK_PATH
  return PVB_VNC_CHECK_PATH;
#else
  return "";
#endif
}

namespace {

// A new private file under `dir` (its name made unique by a counter).
std::string private_file(const std::string& dir, const std::string& stem, const std::string& data) {
  static int counter = 0;
  const std::string path = dir + "/" + stem + "-" + std::to_string(++counter);
  Error e = write_new_private_file(path, data);
  EXPECT_TRUE(e.ok()) << e.message();
  return path;
}

}  // namespace

std::unique_ptr<ChildProcess> start_vnc_check(const std::string& dir, int port,
                                              const std::string& password,
                                              std::vector<std::string> extra) {
  std::vector<std::string> argv = {vnc_check_path(), "127.0.0.1:" + std::to_string(port),
                                   "--password-file", private_file(dir, "pw", password + "\n")};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ChildProcess>(argv, base_env(), /*pipe_stdin=*/false);
}

int run_vnc_check(const std::string& dir, int port, const std::string& password,
                  std::vector<std::string> extra, std::string* err) {
  auto p = start_vnc_check(dir, port, password, std::move(extra));
  std::optional<int> code = p->wait(kPeerWaitMs);
  if (err) *err = p->stderr_text();
  return code.value_or(-1);
}

int run_vncsnapshot(const std::string& dir, int port, const std::string& password,
                    const std::string& jpeg, std::string* err) {
  std::array<uint8_t, 8> bytes = vnc_password_file_bytes(password);
  const std::string passwd =
      private_file(dir, "vncpasswd", std::string(bytes.begin(), bytes.end()));
  ChildProcess snap({find_executable("vncsnapshot"), "-passwd", passwd, "-allowblank",
                     "127.0.0.1::" + std::to_string(port), jpeg},
                    base_env(), /*pipe_stdin=*/false);
  std::optional<int> code = snap.wait(kPeerWaitMs);
  if (err) *err = snap.stderr_text();
  return code.value_or(-1);
}

std::vector<std::string> event_lines(const std::vector<std::string>& lines,
                                     const std::string& name) {
  std::vector<std::string> found;
  for (const auto& l : lines) {
    if (json_get(l, "event") == name) found.push_back(l);
  }
  return found;
}

std::string event_line(const std::vector<std::string>& lines, const std::string& name) {
  auto found = event_lines(lines, name);
  return found.empty() ? "" : found.front();
}

std::string all_output(const ChildProcess& p) {
  std::string all = p.stderr_text();
  for (const auto& l : p.stdout_lines()) all += "\n" + l;
  return all;
}

std::string all_output(const RunResult& r) {
  std::string all = r.err;
  for (const auto& l : r.out) all += "\n" + l;
  return all;
}

}  // namespace pvb::testing
