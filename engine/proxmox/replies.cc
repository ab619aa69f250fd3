#include "engine/proxmox/replies.h"

#include <algorithm>

#include "engine/core/json.h"

namespace pvb {

Result<JsonElement> proxmox_reply_data(const JsonDocument& doc) {
  return json_field(doc.root(), "data", doc.what());
}

namespace {

// The reply's "data" member, which must be of the given kind (checked by the caller).
Result<JsonElement> data_of(const JsonDocument& doc) {
  auto d = proxmox_reply_data(doc);
  if (!d.ok()) return d.error();
  if (json_is_null(*d)) return Error(Errc::protocol, doc.what() + ": 'data' is null");
  return *d;
}

Error not_an_object(std::string_view what) {
  return Error(Errc::protocol, std::string(what) + ": 'data' is not an object");
}

// An optional string member where a wrong type counts as absent (informational fields such as a
// guest's tags must not make a whole listing fail).
std::string loose_string(JsonElement obj, std::string_view key, std::string_view what) {
  auto r = json_optional_string(obj, key, what);
  return r.ok() && *r ? std::move(**r) : std::string();
}

}  // namespace

Result<LoginReply> decode_login(std::string_view body) {
  constexpr std::string_view what = "login reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  if (!data->is_object()) return not_an_object(what);
  LoginReply r;
  auto ticket = json_string(*data, "ticket", what);
  if (!ticket.ok()) return ticket.error();
  r.ticket = std::move(*ticket);
  r.username = loose_string(*data, "username", what);
  auto tfa = json_optional_bool(*data, "NeedTFA", what);
  // The challenge ticket's form is a protocol fact (PROTOCOL.md section 1), older servers' only
  // sign of a pending second factor.
  r.need_tfa = (tfa.ok() && tfa->value_or(false)) || r.ticket.rfind("PVE:!tfa!", 0) == 0;
  r.csrf_token = loose_string(*data, "CSRFPreventionToken", what);
  if (r.csrf_token.empty() && !r.need_tfa) {
    return Error(Errc::protocol, std::string(what) + ": field 'CSRFPreventionToken' is missing");
  }
  return r;
}

Result<std::vector<Guest>> decode_resources(std::string_view body) {
  constexpr std::string_view what = "cluster/resources reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  simdjson::dom::array list;
  if (data->get_array().get(list) != simdjson::SUCCESS) {
    return Error(Errc::protocol, std::string(what) + ": 'data' is not a list");
  }
  std::vector<Guest> out;
  size_t malformed = 0;
  for (JsonElement e : list) {
    // Nodes, storage and malformed entries are skipped rather than failing the whole list.
    auto type_field = e.is_object() ? json_optional_string(e, "type", what)
                                    : Result<std::optional<std::string>>(std::nullopt);
    if (!e.is_object() || !type_field.ok()) {
      ++malformed;
      continue;
    }
    std::string type = type_field->value_or("");
    if (type != "qemu" && type != "lxc") continue;
    auto vmid = json_int(e, "vmid", what);
    std::string node = loose_string(e, "node", what);
    if (!vmid.ok() || *vmid <= 0 || *vmid > 999999999 || node.empty()) {
      ++malformed;
      continue;
    }
    Guest g;
    g.type = type == "qemu" ? GuestType::qemu : GuestType::lxc;
    g.vmid = static_cast<uint32_t>(*vmid);
    g.node = std::move(node);
    g.name = loose_string(e, "name", what);
    g.status = loose_string(e, "status", what);
    auto tmpl = json_optional_bool(e, "template", what);
    g.is_template = tmpl.ok() && tmpl->value_or(false);
    g.tags = loose_string(e, "tags", what);
    g.pool = loose_string(e, "pool", what);
    g.lock = loose_string(e, "lock", what);
    out.push_back(std::move(g));
  }
  // Nothing readable at all is a broken reply, not an empty cluster: "guest not found" would
  // send the user looking in the wrong place.
  if (out.empty() && malformed > 0) {
    return Error(Errc::protocol, std::string(what) + ": no guest could be read (" +
                                     std::to_string(malformed) + " malformed entries)");
  }
  return out;
}

Result<GuestStatus> decode_guest_status(std::string_view body) {
  constexpr std::string_view what = "status/current reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  if (!data->is_object()) return not_an_object(what);
  GuestStatus s;
  auto st = json_string(*data, "status", what);
  if (!st.ok()) return st.error();
  s.status = std::move(*st);
  s.qmpstatus = loose_string(*data, "qmpstatus", what);
  s.name = loose_string(*data, "name", what);
  s.lock = loose_string(*data, "lock", what);
  return s;
}

Result<std::string> decode_upid(std::string_view body) {
  constexpr std::string_view what = "task reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  auto s = json_as_string(*data, "data", what);
  if (!s.ok()) return s.error();
  if (s->rfind("UPID:", 0) != 0) {
    return Error(Errc::protocol, std::string(what) + ": 'data' is not a task id (UPID:...)");
  }
  return std::move(*s);
}

Result<TaskStatus> decode_task_status(std::string_view body) {
  constexpr std::string_view what = "task status reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  if (!data->is_object()) return not_an_object(what);
  auto st = json_string(*data, "status", what);
  if (!st.ok()) return st.error();
  TaskStatus t;
  t.running = *st == "running";
  t.exitstatus = loose_string(*data, "exitstatus", what);
  return t;
}

Result<VncTicket> decode_vncproxy(std::string_view body) {
  constexpr std::string_view what = "vncproxy reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  if (!data->is_object()) return not_an_object(what);
  VncTicket t;
  auto port = json_int(*data, "port", what);
  if (!port.ok()) return port.error();
  if (*port <= 0 || *port > 65535) {
    return Error(Errc::protocol, std::string(what) + ": field 'port' is not a port number");
  }
  t.port = static_cast<uint16_t>(*port);
  auto ticket = json_string(*data, "ticket", what);
  if (!ticket.ok()) return ticket.error();
  if (ticket->empty())
    return Error(Errc::protocol, std::string(what) + ": field 'ticket' is empty");
  t.ticket = std::move(*ticket);
  auto password = json_optional_string(*data, "password", what);
  if (!password.ok()) return password.error();
  if (*password && !(*password)->empty()) t.password = std::move(**password);
  t.user = loose_string(*data, "user", what);
  t.upid = loose_string(*data, "upid", what);
  t.cert = loose_string(*data, "cert", what);
  return t;
}

Result<std::string> decode_version(std::string_view body) {
  constexpr std::string_view what = "version reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  if (!data->is_object()) return not_an_object(what);
  std::string v = loose_string(*data, "version", what);
  return v.empty() ? std::string("unknown") : v;
}

Result<TermTicket> decode_termproxy(std::string_view body) {
  // The same fields as vncproxy's reply, minus the VNC extras.
  auto v = decode_vncproxy(body);
  if (!v.ok()) {
    Error e = v.error();
    std::string d = e.detail();
    if (d.rfind("vncproxy reply", 0) == 0) d.replace(0, 14, "termproxy reply");
    return Error(e.code(), d);
  }
  TermTicket t;
  t.port = v->port;
  t.ticket = std::move(v->ticket);
  t.user = std::move(v->user);
  t.upid = std::move(v->upid);
  return t;
}

Result<std::vector<int>> decode_serial_ports(std::string_view body) {
  constexpr std::string_view what = "qemu config reply";
  auto doc = JsonDocument::parse(body, what);
  if (!doc.ok()) return doc.error();
  auto data = data_of(*doc);
  if (!data.ok()) return data.error();
  if (!data->is_object()) return not_an_object(what);
  simdjson::dom::object obj;
  if (data->get_object().get(obj) != simdjson::SUCCESS) return not_an_object(what);
  std::vector<int> ports;
  for (auto member : obj) {
    std::string_view k = member.key;
    if (k.size() == 7 && k.substr(0, 6) == "serial" && k[6] >= '0' && k[6] <= '3') {
      ports.push_back(k[6] - '0');
    }
  }
  std::sort(ports.begin(), ports.end());
  return ports;
}

bool param_error_names(std::string_view body, std::string_view name) {
  auto doc = JsonDocument::parse(body, "error reply");
  if (!doc.ok()) return false;
  simdjson::dom::object errors;
  if (doc->root()["errors"].get_object().get(errors) != simdjson::SUCCESS) return false;
  for (auto member : errors) {
    if (member.key == name) return true;
  }
  return false;
}

}  // namespace pvb
