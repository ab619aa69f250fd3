#include "engine/proxmox/replies.h"

#include <simdjson.h>

#include <charconv>

namespace pvb {

namespace {

using simdjson::dom::element;

Error bad(std::string_view what, std::string_view why) {
  return Error(Errc::protocol, std::string(what) + " reply: " + std::string(why));
}

// Parses the body and returns its "data" member. The parser owns the memory behind the element.
Result<element> data_of(simdjson::dom::parser& parser, std::string_view body,
                        std::string_view what) {
  element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
    return bad(what, "not valid JSON");
  }
  element data;
  if (!doc.is_object() || doc.get_object()["data"].get(data) != simdjson::SUCCESS) {
    return bad(what, "no 'data' member");
  }
  return data;
}

// Integer from a JSON number or a numeric string (Proxmox sends "port":"5900").
std::optional<int64_t> lenient_int(element e) {
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
  uint64_t u;
  if (e.get_uint64().get(u) == simdjson::SUCCESS && u <= INT64_MAX) return static_cast<int64_t>(u);
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    int64_t v;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
  }
  return std::nullopt;
}

// true/false, 0/1, "0"/"1".
std::optional<bool> lenient_bool(element e) {
  bool b;
  if (e.get_bool().get(b) == simdjson::SUCCESS) return b;
  if (auto i = lenient_int(e); i && (*i == 0 || *i == 1)) return *i == 1;
  return std::nullopt;
}

std::optional<element> field(element obj, std::string_view key) {
  element v;
  if (obj.get_object()[key].get(v) != simdjson::SUCCESS || v.is_null()) return std::nullopt;
  return v;
}

// A string field; numbers are accepted and printed (Proxmox is not consistent).
std::optional<std::string> string_field(element obj, std::string_view key) {
  auto v = field(obj, key);
  if (!v) return std::nullopt;
  std::string_view s;
  if (v->get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  if (auto i = lenient_int(*v)) return std::to_string(*i);
  return std::nullopt;
}

Result<std::string> required_string(element obj, std::string_view key, std::string_view what) {
  auto s = string_field(obj, key);
  if (!s || s->empty())
    return bad(what, "field '" + std::string(key) + "' is missing or not a string");
  return *s;
}

}  // namespace

Result<LoginReply> decode_login(std::string_view body) {
  simdjson::dom::parser parser;
  auto data = data_of(parser, body, "login");
  if (!data.ok()) return data.error();
  if (!data->is_object()) return bad("login", "'data' is not an object");
  LoginReply r;
  auto ticket = required_string(*data, "ticket", "login");
  if (!ticket.ok()) return ticket.error();
  r.ticket = std::move(*ticket);
  r.username = string_field(*data, "username").value_or("");
  if (auto tfa = field(*data, "NeedTFA")) r.need_tfa = lenient_bool(*tfa).value_or(false);
  if (r.ticket.rfind("PVE:!tfa!", 0) == 0) r.need_tfa = true;
  r.csrf_token = string_field(*data, "CSRFPreventionToken").value_or("");
  if (r.csrf_token.empty() && !r.need_tfa) {
    return bad("login", "field 'CSRFPreventionToken' is missing");
  }
  return r;
}

Result<std::vector<Guest>> decode_resources(std::string_view body) {
  simdjson::dom::parser parser;
  auto data = data_of(parser, body, "cluster/resources");
  if (!data.ok()) return data.error();
  simdjson::dom::array arr;
  if (data->get_array().get(arr) != simdjson::SUCCESS) {
    return bad("cluster/resources", "'data' is not a list");
  }
  std::vector<Guest> out;
  for (element e : arr) {
    if (!e.is_object()) continue;
    auto type = string_field(e, "type");
    if (!type || (*type != "qemu" && *type != "lxc")) continue;  // nodes, storage, ...
    int64_t vmid = 0;
    if (auto v = field(e, "vmid")) vmid = lenient_int(*v).value_or(0);
    auto node = string_field(e, "node");
    if (vmid <= 0 || vmid > 999999999 || !node || node->empty()) continue;
    Guest g;
    g.type = *type == "qemu" ? GuestType::qemu : GuestType::lxc;
    g.vmid = static_cast<uint32_t>(vmid);
    g.node = std::move(*node);
    g.name = string_field(e, "name").value_or("");
    g.status = string_field(e, "status").value_or("");
    if (auto t = field(e, "template")) g.is_template = lenient_bool(*t).value_or(false);
    g.tags = string_field(e, "tags").value_or("");
    g.pool = string_field(e, "pool").value_or("");
    g.lock = string_field(e, "lock").value_or("");
    out.push_back(std::move(g));
  }
  return out;
}

Result<GuestStatus> decode_guest_status(std::string_view body) {
  simdjson::dom::parser parser;
  auto data = data_of(parser, body, "status/current");
  if (!data.ok()) return data.error();
  if (!data->is_object()) return bad("status/current", "'data' is not an object");
  GuestStatus s;
  auto st = required_string(*data, "status", "status/current");
  if (!st.ok()) return st.error();
  s.status = std::move(*st);
  s.qmpstatus = string_field(*data, "qmpstatus").value_or("");
  s.name = string_field(*data, "name").value_or("");
  s.lock = string_field(*data, "lock").value_or("");
  return s;
}

Result<std::string> decode_upid(std::string_view body) {
  simdjson::dom::parser parser;
  auto data = data_of(parser, body, "task");
  if (!data.ok()) return data.error();
  std::string_view s;
  if (data->get_string().get(s) != simdjson::SUCCESS || s.rfind("UPID:", 0) != 0) {
    return bad("task", "'data' is not a task id (UPID:...)");
  }
  return std::string(s);
}

Result<TaskStatus> decode_task_status(std::string_view body) {
  simdjson::dom::parser parser;
  auto data = data_of(parser, body, "task status");
  if (!data.ok()) return data.error();
  if (!data->is_object()) return bad("task status", "'data' is not an object");
  auto st = required_string(*data, "status", "task status");
  if (!st.ok()) return st.error();
  TaskStatus t;
  t.running = *st == "running";
  t.exitstatus = string_field(*data, "exitstatus").value_or("");
  return t;
}

Result<VncTicket> decode_vncproxy(std::string_view body) {
  simdjson::dom::parser parser;
  auto data = data_of(parser, body, "vncproxy");
  if (!data.ok()) return data.error();
  if (!data->is_object()) return bad("vncproxy", "'data' is not an object");
  VncTicket t;
  int64_t port = 0;
  if (auto p = field(*data, "port")) port = lenient_int(*p).value_or(0);
  if (port <= 0 || port > 65535) {
    return bad("vncproxy", "field 'port' is missing or not a port number");
  }
  t.port = static_cast<uint16_t>(port);
  auto ticket = required_string(*data, "ticket", "vncproxy");
  if (!ticket.ok()) return ticket.error();
  t.ticket = std::move(*ticket);
  t.password = string_field(*data, "password");
  if (t.password && t.password->empty()) t.password.reset();
  t.user = string_field(*data, "user").value_or("");
  t.upid = string_field(*data, "upid").value_or("");
  t.cert = string_field(*data, "cert").value_or("");
  return t;
}

Result<std::string> decode_version(std::string_view body) {
  simdjson::dom::parser parser;
  auto data = data_of(parser, body, "version");
  if (!data.ok()) return data.error();
  if (!data->is_object()) return bad("version", "'data' is not an object");
  return string_field(*data, "version").value_or("unknown");
}

}  // namespace pvb
