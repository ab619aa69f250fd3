// MockApi's SPICE: spiceproxy hands out the .vv keys as qemu-server does (a one-shot password
// "set in QEMU", a proxy ticket signed the way PVE::Ticket::assemble_spice_ticket signs it, with
// the port signed too as current Proxmox does), and verify_spice_connect checks a CONNECT the way
// spiceproxy's verify_spice_connect_url does.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/core/json_writer.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/mock_api_internal.h"
#include "tests/mock_pveproxy/mock_crypto.h"
#include "tests/mock_pveproxy/param_schema.h"

namespace pvb::mock {

namespace {

std::string hex(std::string_view raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

bool vga_is_spice(std::string_view vga) {
  return vga.rfind("qxl", 0) == 0 || vga.rfind("virtio", 0) == 0;
}

// Proxmox writes the CA on one line with "\n" as two characters.
std::string one_line_pem(std::string_view pem) {
  std::string out;
  for (char c : pem) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

MockResponse MockApi::spiceproxy(const MockRequest& request, const GuestEntry& g,
                                 const AuthId& who) {
  (void)who;
  std::string vmid = std::to_string(g.vmid);
  if (!state_.guest(g.vmid).running) return error_reply(500, "VM " + vmid + " not running");
  if (!vga_is_spice(g.vga)) {
    // qemu-server fails in set_password: QEMU has no SPICE server for that display.
    return error_reply(500, "VM " + vmid +
                                " qmp command 'set_password' failed - Could not set "
                                "password");
  }
  if (spice_secret_.empty()) {
    std::string raw(20, '\0');
    random_.fill(reinterpret_cast<uint8_t*>(raw.data()), raw.size());
    spice_secret_ = hex(raw);
  }
  std::string raw(20, '\0');
  random_.fill(reinterpret_cast<uint8_t*>(raw.data()), raw.size());
  std::string password = hex(raw);  // sha1_hex of random data, 40 characters
  int64_t now = clock_.unix_seconds();
  spice_passwords_[g.vmid] = {password, now + options_.spice_password_life_s};

  uint16_t port = static_cast<uint16_t>(options_.spice_port_first + g.vmid % 1000);
  char ts[16];
  std::snprintf(ts, sizeof ts, "%08llx", static_cast<unsigned long long>(now));
  std::string plain = "pvespiceproxy:" + std::string(ts) + ":" + vmid + ":" + lower(g.node) + ":" +
                      std::to_string(port);
  std::string ticket = plain + "::" + hex(sha1(plain + spice_secret_));

  const std::string* proxy_param = find_field(request.params, "proxy");
  std::string proxy = proxy_param != nullptr ? *proxy_param : g.node;
  std::string ca = options_.spice_ca_pem.empty() ? options_.cert_pem : options_.spice_ca_pem;

  JsonWriter w;
  w.begin_object();
  w.key("type").value("spice");
  w.key("title").value("VM " + vmid + (g.name.empty() ? "" : " - " + g.name));
  w.key("host").value(ticket);
  w.key("proxy").value("http://" + proxy + ":3128");
  w.key("tls-port").value(int64_t{port});
  w.key("password").value(password);
  w.key("ca").value(one_line_pem(ca));
  w.key("host-subject").value(options_.spice_host_subject);
  w.key("delete-this-file").value(int64_t{1});
  w.key("secure-attention").value("Ctrl+Alt+Ins");
  w.key("toggle-fullscreen").value("Shift+F11");
  w.key("release-cursor").value("Ctrl+Alt+R");
  w.end_object();
  return data_reply(w.str());
}

std::optional<SpiceGrant> MockApi::verify_spice_connect(std::string_view connect) {
  // pvespiceproxy:<8 hex>:<vmid>:<node>:<port>::<40 hex>:<port>
  constexpr std::string_view prefix = "pvespiceproxy:";
  if (spice_secret_.empty() || connect.substr(0, prefix.size()) != prefix) return std::nullopt;
  size_t sig_at = connect.find("::");
  if (sig_at == std::string_view::npos) return std::nullopt;
  std::string_view plain = connect.substr(0, sig_at);
  std::string_view rest = connect.substr(sig_at + 2);
  size_t colon = rest.find(':');
  if (colon != 40 || rest.find(':', colon + 1) != std::string_view::npos) return std::nullopt;
  std::string_view sig = rest.substr(0, colon);
  std::string_view port_text = rest.substr(colon + 1);
  if (hex(sha1(std::string(plain) + spice_secret_)) != sig) return std::nullopt;
  // The signed parts.
  std::vector<std::string_view> parts;
  std::string_view p = plain.substr(prefix.size());
  while (true) {
    size_t c = p.find(':');
    parts.push_back(p.substr(0, c));
    if (c == std::string_view::npos) break;
    p.remove_prefix(c + 1);
  }
  if (parts.size() != 4 || parts[0].size() != 8 || parts[3] != port_text) return std::nullopt;
  int64_t ts = std::strtoll(std::string(parts[0]).c_str(), nullptr, 16);
  int64_t age = clock_.unix_seconds() - ts;
  if (!(age > -20 && age < options_.spice_ticket_max_age_s)) return std::nullopt;
  auto port = parse_pve_integer(port_text);
  if (!port || *port < 61000 || *port > 61999) return std::nullopt;
  auto vmid = parse_pve_integer(parts[1]);
  if (!vmid) return std::nullopt;
  const GuestEntry* g = inventory_.find_guest(static_cast<uint32_t>(*vmid));
  auto pw = spice_passwords_.find(static_cast<uint32_t>(*vmid));
  if (g == nullptr || pw == spice_passwords_.end()) return std::nullopt;
  SpiceGrant grant;
  grant.vmid = g->vmid;
  grant.node = std::string(parts[2]);
  grant.name = g->name;
  grant.tls_port = static_cast<uint16_t>(*port);
  grant.password = pw->second.password;
  grant.password_expires = pw->second.expires;
  return grant;
}

}  // namespace pvb::mock
