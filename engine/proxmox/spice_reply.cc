#include "engine/proxmox/spice_reply.h"

#include "engine/core/json.h"
#include "engine/core/platform.h"
#include "engine/proxmox/replies.h"

namespace pvb {

void SpiceTicket::wipe_secrets() {
  pvb::wipe(password);
  for (auto& [k, v] : keys) {
    if (k == "password") pvb::wipe(v);
  }
}

Result<SpiceTicket> decode_spiceproxy(std::string_view body) {
  constexpr std::string_view what = "spiceproxy reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = proxmox_reply_data(*doc);
  if (!data.ok()) return data.error();
  simdjson::dom::object obj;
  if (data->get_object().get(obj) != simdjson::SUCCESS) {
    return Error(Errc::protocol, std::string(what) + ": 'data' is not an object");
  }
  SpiceTicket t;
  for (auto member : obj) {
    std::string key(member.key);
    std::string value;
    JsonElement v = member.value;
    std::string_view sv;
    int64_t i = 0;
    uint64_t u = 0;
    bool b = false;
    if (v.get_string().get(sv) == simdjson::SUCCESS) {
      value = std::string(sv);
    } else if (v.get_int64().get(i) == simdjson::SUCCESS) {
      value = std::to_string(i);
    } else if (v.get_uint64().get(u) == simdjson::SUCCESS) {
      value = std::to_string(u);
    } else if (v.get_bool().get(b) == simdjson::SUCCESS) {
      value = b ? "1" : "0";
    } else {
      continue;  // nothing a .vv could hold
    }
    t.keys.emplace_back(std::move(key), std::move(value));
  }
  auto type = json_string(*data, "type", what);
  if (!type.ok()) return type.error();
  if (*type != "spice") {
    return Error(Errc::protocol, std::string(what) + ": type is not 'spice'");
  }
  auto host = json_string(*data, "host", what);
  if (!host.ok()) return host.error();
  auto port = json_int(*data, "tls-port", what);
  if (!port.ok()) return port.error();
  if (*port < 1 || *port > 65535) {
    return Error(Errc::protocol,
                 std::string(what) + ": tls-port " + std::to_string(*port) + " is not a port");
  }
  auto password = json_string(*data, "password", what);
  if (!password.ok()) return password.error();
  auto proxy = json_optional_string(*data, "proxy", what);
  if (!proxy.ok()) return proxy.error();
  // The ticket becomes a CONNECT target and a Host header: nothing that could end a line or split
  // the authority may be in it.
  if (host->empty() || host->find_first_of(" \t\r\n/[]@") != std::string::npos) {
    return Error(Errc::protocol, std::string(what) + ": 'host' is not a SPICE proxy ticket");
  }
  t.host = std::move(*host);
  t.tls_port = static_cast<uint16_t>(*port);
  t.password = std::move(*password);
  t.proxy = proxy->value_or("");
  return t;
}

std::string vga_type(std::string_view vga) {
  // Proxmox's property string: the default key (type) may be given bare as the first item.
  size_t i = 0;
  while (i <= vga.size()) {
    size_t end = vga.find(',', i);
    if (end == std::string_view::npos) end = vga.size();
    std::string_view item = vga.substr(i, end - i);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      if (i == 0) return std::string(item);
    } else if (item.substr(0, eq) == "type") {
      return std::string(item.substr(eq + 1));
    }
    i = end + 1;
  }
  return "";
}

bool vga_is_spice(std::string_view vga) {
  std::string type = vga_type(vga);
  return type.rfind("qxl", 0) == 0 || type.rfind("virtio", 0) == 0;
}

Result<std::string> decode_vga(std::string_view body) {
  constexpr std::string_view what = "qemu config reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = proxmox_reply_data(*doc);
  if (!data.ok()) return data.error();
  if (!data->is_object()) {
    return Error(Errc::protocol, std::string(what) + ": 'data' is not an object");
  }
  auto vga = json_optional_string(*data, "vga", what);
  if (!vga.ok()) return vga.error();
  return vga->value_or("");
}

Result<ApiHost> parse_spice_proxy_url(std::string_view url) {
  auto bad = [&] {
    return Error(Errc::protocol,
                 "spiceproxy reply: proxy '" + std::string(url) + "' is not http://HOST[:PORT]");
  };
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) return bad();
  std::string_view rest = url.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  ApiHost out;
  out.port = kSpiceProxyPort;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad();
    out.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad();
      port_text = after.substr(1);
    }
  } else {
    size_t colon = rest.rfind(':');
    // A bare IPv6 address (Proxmox writes "http://fd00::1:3128" for one): its last group is the
    // port.
    if (colon != std::string_view::npos) {
      out.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
    } else {
      out.host = std::string(rest);
    }
  }
  if (out.host.empty() || out.host.find_first_of("/@ \t\r\n") != std::string::npos) return bad();
  if (!port_text.empty()) {
    uint32_t p = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || p > 65535) return bad();
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return bad();
    out.port = static_cast<uint16_t>(p);
  }
  return out;
}

}  // namespace pvb
