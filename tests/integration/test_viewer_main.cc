// test-viewer: stands in for remote-viewer in end-to-end tests. It reads a .vv file the way
// remote-viewer does (GLib's GKeyFile; "-" = standard input), connects to host:port, does VNC
// authentication with the password through the bridge, reads one full framebuffer, optionally
// sends key events, and writes a JSON report to $PVB_TEST_VIEWER_OUT:
//   {"name":..., "width":..., "height":..., "nonblank":..., "vv_mode":..., "argv":[...],
//    "env_has_pve":..., "error":...}
// Then it exits with --exit-code (default 0), or keeps the connection until the server side
// closes it (--hold). Faults for end-to-end tests: --disconnect-after BYTES closes the connection
// (a clean TCP close) once that many bytes have arrived, in the middle of the first update;
// --crash kills the viewer with SIGKILL right after the first screen (its report written first).
// --warn TEXT writes TEXT to standard error first, as GTK warns on a desktop lacking something.
// --ready-file PATH: PATH is created once the first screen has arrived (tests wait for it).
// --updates N: after the first screen, asks for N more whole screens, one after the other (through
// reconnects of the bridge's upstream), and reports how many arrived ("updates").
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "engine/core/json_writer.h"
#include "engine/core/loop.h"
#include "tests/fake_vm/rfb_client.h"
#include "transports/tcp/tcp_transport.h"
#include "transports/testing/fault_injector.h"

extern char** environ;

namespace {

struct VvFile {
  std::string type, host, password, title;
  int port = 0;
  std::string error;
};

VvFile read_vv(const std::string& path, int* mode_out) {
  VvFile vv;
  std::string text;
  if (path == "-") {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
    *mode_out = -1;
  } else {
    struct stat st;
    *mode_out = stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -2;
    gchar* data = nullptr;
    gsize len = 0;
    if (!g_file_get_contents(path.c_str(), &data, &len, nullptr)) {
      vv.error = "cannot read " + path;
      return vv;
    }
    text.assign(data, len);
    g_free(data);
  }
  GKeyFile* kf = g_key_file_new();
  if (!g_key_file_load_from_data(kf, text.data(), text.size(), G_KEY_FILE_NONE, nullptr)) {
    vv.error = "not a key file";
    g_key_file_free(kf);
    return vv;
  }
  auto get = [&](const char* k) {
    gchar* v = g_key_file_get_string(kf, "virt-viewer", k, nullptr);
    std::string s = v ? v : "";
    g_free(v);
    return s;
  };
  vv.type = get("type");
  vv.host = get("host");
  vv.password = get("password");
  vv.title = get("title");
  vv.port = std::atoi(get("port").c_str());
  g_key_file_free(kf);
  return vv;
}

void write_report(const std::string& text) {
  if (const char* out = std::getenv("PVB_TEST_VIEWER_OUT")) {
    FILE* f = std::fopen(out, "w");
    if (f) {
      std::fputs(text.c_str(), f);
      std::fclose(f);
    }
  } else {
    std::puts(text.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pvb;
  int exit_code = 0;
  int keys = 0;
  bool hold = false;
  bool crash = false;
  std::optional<size_t> disconnect_after;
  int updates = 0;
  int updates_done = 0;
  std::string ready_file;
  std::string vv_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--exit-code" && i + 1 < argc) {
      exit_code = std::atoi(argv[++i]);
    } else if (a == "--keys" && i + 1 < argc) {
      keys = std::atoi(argv[++i]);
    } else if (a == "--updates" && i + 1 < argc) {
      updates = std::atoi(argv[++i]);
    } else if (a == "--hold") {
      hold = true;
    } else if (a == "--crash") {
      crash = true;
    } else if (a == "--ready-file" && i + 1 < argc) {
      ready_file = argv[++i];
    } else if (a == "--warn" && i + 1 < argc) {
      // What GTK prints on a desktop that lacks something: pvebridge must keep it to itself.
      std::fprintf(stderr, "%s\n", argv[++i]);
      std::fflush(stderr);
    } else if (a == "--disconnect-after" && i + 1 < argc) {
      disconnect_after = static_cast<size_t>(std::atoll(argv[++i]));
    } else if (a.rfind("--", 0) == 0) {
      // Other viewer flags (--kiosk, ...) are accepted and ignored, as remote-viewer would use
      // them.
    } else {
      vv_path = a;
    }
  }
  JsonWriter report;
  report.begin_object();
  report.key("argv").begin_array();
  for (int i = 0; i < argc; ++i) report.value(argv[i]);
  report.end_array();
  bool env_has_pve = false;
  for (char** e = environ; *e; ++e) env_has_pve |= std::strncmp(*e, "PVE_", 4) == 0;
  report.key("env_has_pve").value(env_has_pve);

  int mode = -2;
  VvFile vv = read_vv(vv_path, &mode);
  report.key("vv_mode").value(mode).key("type").value(vv.type).key("title").value(vv.title);
  std::optional<Result<RfbSnapshot>> result;
  Error closed_with;
  bool closed = false;
  if (vv.error.empty()) {
    Loop loop;
    std::unique_ptr<Transport> tcp = TcpTransport::connect(
        loop, TcpConnectOptions{vv.host, static_cast<uint16_t>(vv.port), 5000});
    if (disconnect_after) {
      // The RFB client sees the end of the stream after exactly that many bytes and closes.
      FaultPlan plan;
      plan.eof_after_read = *disconnect_after;
      tcp = std::make_unique<FaultInjector>(std::move(tcp), plan);
    }
    RfbClientOptions o;
    o.password = vv.password;
    std::unique_ptr<RfbTestClient> client;
    client = std::make_unique<RfbTestClient>(std::move(tcp), o, [&](Result<RfbSnapshot> r) {
      result = std::move(r);
      if (result->ok() && !ready_file.empty()) {
        if (FILE* f = std::fopen(ready_file.c_str(), "w")) std::fclose(f);
      }
      if (result->ok() && crash) {
        // A viewer that dies at once: no goodbye, the kernel closes its socket.
        write_report(R"({"crashing":true,"name":")" + result->value().name + "\"}");
        std::raise(SIGKILL);
      }
      if (result->ok()) {
        for (int k = 0; k < keys; ++k) {
          client->send_key(0x61 + (k % 26), true);
          client->send_key(0x61 + (k % 26), false);
        }
        if (updates > 0) {
          client->set_on_update([&] {
            if (++updates_done < updates) {
              client->request_update(false);
            } else if (!hold) {
              client->close();
            }
          });
          client->request_update(false);
          return;
        }
        if (!hold) client->close();
      }
    });
    client->set_on_closed([&](const Error& e) {
      closed = true;
      closed_with = e;
    });
    client->start();
    loop.run_until([&] { return closed; });
    client.reset();
  }
  if (!vv.error.empty()) {
    report.key("error").value(vv.error);
  } else if (!result) {
    report.key("error").value("closed before a screen arrived: " + closed_with.message());
  } else if (!result->ok()) {
    report.key("error").value(result->error().message());
  } else {
    const RfbSnapshot& s = result->value();
    bool nonblank = false;
    for (size_t i = 4; i < s.pixels.size(); ++i) nonblank |= s.pixels[i] != s.pixels[i % 4];
    report.key("name").value(s.name).key("width").value(static_cast<int>(s.width));
    report.key("height").value(static_cast<int>(s.height)).key("nonblank").value(nonblank);
    report.key("keys_sent").value(keys);
    if (updates > 0) report.key("updates").value(updates_done);
  }
  report.end_object();
  write_report(report.str());
  return exit_code;
}
