// Every decoder in engine/proxmox/replies.h on the same body (the whole input).
//
// Invariants:
// - failures are Errc::protocol, one line, and name the reply they are about;
// - login: a ticket, and a CSRF token unless two-factor is pending;
// - resources: qemu/lxc guests with a node and a vmid in 1..999999999;
// - vncproxy: a port in 1..65535, a non-empty ticket, a password that is absent or non-empty;
// - task status: succeeded() only when stopped with OK or WARNINGS; a UPID starts with "UPID:";
//   a version is never empty, and one read as a PveVersion reads the same from its text();
// - param_error_names: true exactly when "errors" is an object naming the parameter.
#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/proxmox/pve_version.h"
#include "engine/proxmox/replies.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

template <class T>
bool check_failure(const Result<T>& r, std::string_view what) {
  if (r.ok()) return false;
  const Error& e = r.error();
  FUZZ_CHECK(e.code() == Errc::protocol, std::string(what) + " failed with " + errc_name(e.code()));
  FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
  FUZZ_CHECK(e.detail().rfind(what, 0) == 0,
             "error does not name the reply: " + printable(e.detail()));
  return true;
}

// The port as the body spells it, read independently of the decoder (number or decimal string).
std::optional<int64_t> port_in_body(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::padded_string text(body);
  simdjson::dom::element port;
  if (parser.parse(text).at_pointer("/data/port").get(port) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  int64_t n = 0;
  double d = 0;
  std::string_view s;
  if (port.get_int64().get(n) == simdjson::SUCCESS) return n;
  if (port.get_double().get(d) == simdjson::SUCCESS && d >= 0 && d < 1e6) {
    return static_cast<int64_t>(d);
  }
  if (port.get_string().get(s) == simdjson::SUCCESS) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size()) return n;
  }
  return std::nullopt;
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  std::string_view body(reinterpret_cast<const char*>(bytes), size);

  if (auto login = decode_login(body); !check_failure(login, "login reply")) {
    FUZZ_CHECK(!login->csrf_token.empty() || login->need_tfa, "login without a CSRF token");
    if (login->ticket.rfind("PVE:!tfa!", 0) == 0) {
      FUZZ_CHECK(login->need_tfa, "a two-factor challenge ticket not flagged need_tfa");
    }
  }

  if (auto guests = decode_resources(body); !check_failure(guests, "cluster/resources reply")) {
    for (const Guest& g : *guests) {
      FUZZ_CHECK(g.vmid >= 1 && g.vmid <= 999999999, "vmid " + std::to_string(g.vmid));
      FUZZ_CHECK(!g.node.empty(), "guest without a node");
      FUZZ_CHECK(g.type == GuestType::qemu || g.type == GuestType::lxc, "guest of another type");
      FUZZ_CHECK(g.api_path().find("/nodes/") == 0, "api_path " + printable(g.api_path()));
      FUZZ_CHECK(!g.display_name().empty(), "empty display name");
    }
  }

  if (auto status = decode_guest_status(body); !check_failure(status, "status/current reply")) {
    (void)status->status;  // any string: callers compare it with "running"
  }

  if (auto upid = decode_upid(body); !check_failure(upid, "task reply")) {
    FUZZ_CHECK(upid->rfind("UPID:", 0) == 0, "UPID " + printable(*upid));
  }

  if (auto task = decode_task_status(body); !check_failure(task, "task status reply")) {
    if (task->succeeded()) {
      FUZZ_CHECK(!task->running, "a running task succeeded");
      FUZZ_CHECK(task->exitstatus == "OK" || task->exitstatus.rfind("WARNINGS", 0) == 0,
                 "succeeded with exit status " + printable(task->exitstatus));
    }
  }

  if (auto vnc = decode_vncproxy(body); !check_failure(vnc, "vncproxy reply")) {
    // The decoded port is what the body says, never a value truncated into 1..65535.
    FUZZ_CHECK(vnc->port >= 1, "port 0");
    FUZZ_CHECK(port_in_body(body) == int64_t{vnc->port},
               "decoded port " + std::to_string(vnc->port) + " is not the body's");
    FUZZ_CHECK(!vnc->ticket.empty(), "empty ticket");
    FUZZ_CHECK(!vnc->password || !vnc->password->empty(), "empty password kept");
    FUZZ_CHECK(!vnc->vnc_password().empty(), "empty VNC password");
  }

  if (auto version = decode_version(body); !check_failure(version, "version reply")) {
    FUZZ_CHECK(!version->empty(), "empty version");
    if (auto v = parse_pve_version(*version)) {
      FUZZ_CHECK(parse_pve_version(v->text()) == v, "version text does not read back");
    }
  }

  {
    simdjson::dom::parser parser;
    simdjson::padded_string text(body);
    simdjson::dom::element root, errors, named;
    const bool expected = parser.parse(text).get(root) == simdjson::SUCCESS &&
                          root["errors"].get(errors) == simdjson::SUCCESS && errors.is_object() &&
                          errors["generate-password"].get(named) == simdjson::SUCCESS;
    FUZZ_CHECK(param_error_names(body, "generate-password") == expected,
               "param_error_names disagrees with the body");
  }
  return 0;
}
