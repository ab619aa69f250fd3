#include "tests/mock_pveproxy/inventory.h"

#include <simdjson.h>

#include <fstream>
#include <set>
#include <sstream>

#include "tests/mock_pveproxy/totp.h"

namespace pvb::mock {

std::string_view guest_kind_name(GuestKind kind) {
  return kind == GuestKind::qemu ? "qemu" : "lxc";
}

std::string_view console_kind_name(ConsoleKind kind) {
  switch (kind) {
    case ConsoleKind::rfb:
      return "rfb";
    case ConsoleKind::source:
      return "source";
    case ConsoleKind::sink:
      return "sink";
    case ConsoleKind::echo:
      return "echo";
    case ConsoleKind::rfb_source:
      return "rfb_source";
    case ConsoleKind::rfb_echo:
      return "rfb_echo";
  }
  return "?";
}

const TokenEntry* UserEntry::find_token(std::string_view tokenid) const {
  for (const TokenEntry& t : tokens) {
    if (t.tokenid == tokenid) return &t;
  }
  return nullptr;
}

const NodeEntry* Inventory::find_node(std::string_view node) const {
  for (const NodeEntry& n : nodes) {
    if (n.node == node) return &n;
  }
  return nullptr;
}

const GuestEntry* Inventory::find_guest(uint32_t vmid) const {
  for (const GuestEntry& g : guests) {
    if (g.vmid == vmid) return &g;
  }
  return nullptr;
}

const UserEntry* Inventory::find_user(std::string_view userid) const {
  for (const UserEntry& u : users) {
    if (u.userid == userid) return &u;
  }
  return nullptr;
}

namespace {

GuestEntry guest(uint32_t vmid, GuestKind type, std::string node, std::string status,
                 std::string name) {
  GuestEntry g;
  g.vmid = vmid;
  g.type = type;
  g.node = std::move(node);
  g.status = std::move(status);
  g.name = std::move(name);
  return g;
}

}  // namespace

Inventory Inventory::builtin_default() {
  using enum GuestKind;
  Inventory inv;
  inv.cluster_name = "mockcluster";
  inv.nodes = {{"pve1", "online"}, {"pve2", "online"}, {"pve3", "online"}};

  auto& g = inv.guests;
  g.push_back(guest(100, qemu, "pve1", "running", "web01"));
  g.back().serial_ports = {0};
  g.back().vga = "qxl";  // a SPICE display (its VNC console works as well, as on Proxmox)
  g.back().tags = "prod;web";
  g.back().pool = "production";
  g.back().hastate = "started";
  g.push_back(guest(101, qemu, "pve1", "stopped", "db01"));
  g.back().pool = "production";
  g.push_back(guest(102, qemu, "pve2", "running", "überwachung"));
  g.back().tags = "monitoring";
  g.push_back(guest(103, qemu, "pve2", "running", "数据库"));
  g.push_back(guest(104, qemu, "pve3", "stopped", ""));
  g.back().lock = "backup";
  g.push_back(guest(105, qemu, "pve1", "running", "paused-vm"));
  g.back().qmpstatus = "paused";
  g.push_back(guest(106, qemu, "pve2", "running", "twin"));
  g.back().serial_ports = {1, 3};
  g.push_back(guest(107, lxc, "pve3", "stopped", "twin"));
  g.push_back(guest(110, qemu, "pve3", "running", ""));
  g.push_back(guest(200, lxc, "pve1", "running", "ct-web"));
  g.back().tags = "web";
  g.back().pool = "production";
  g.push_back(guest(201, lxc, "pve2", "stopped", "ct-stopped"));
  g.push_back(guest(202, lxc, "pve3", "running", ""));
  g.push_back(guest(300, qemu, "pve1", "running", "source"));
  g.back().console = ConsoleKind::source;
  g.push_back(guest(301, qemu, "pve1", "running", "sink"));
  g.back().console = ConsoleKind::sink;
  g.push_back(guest(302, qemu, "pve1", "running", "echo"));
  g.back().console = ConsoleKind::echo;
  g.push_back(guest(303, qemu, "pve1", "running", "rfbsource"));
  g.back().console = ConsoleKind::rfb_source;
  g.push_back(guest(304, qemu, "pve1", "running", "rfbecho"));
  g.back().console = ConsoleKind::rfb_echo;
  g.push_back(guest(9000, qemu, "pve1", "stopped", "debian12-template"));
  g.back().is_template = true;

  UserEntry root;
  root.userid = "root@pam";
  root.password = "mock-root-password";
  root.tokens.push_back({"pvebridge", "5f0c6e2a-8d3b-4c71-9e2f-1a4b7c9d0e36", false, 0, {}});
  inv.users.push_back(root);

  UserEntry alice;
  alice.userid = "alice@pve";
  alice.password = "alice-password";
  alice.acl = {{"/vms", {"VM.Audit", "VM.Console", "VM.PowerMgmt"}},
               {"/vms/100", {"VM.Audit", "VM.PowerMgmt"}},
               {"/vms/102", {}}};
  inv.users.push_back(alice);

  UserEntry totp;
  totp.userid = "totp@pve";
  totp.password = "totp-password";
  totp.totp_secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";  // "12345678901234567890"
  totp.recovery_keys = {"4a7f-93c2-1de8-b605", "c0ff-ee12-3456-789a"};
  totp.acl = {{"/vms", {"VM.Audit", "VM.Console", "VM.PowerMgmt"}}};
  inv.users.push_back(totp);
  return inv;
}

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Reads one JSON object's fields, remembering which were used so unknown keys can be reported.
class FieldReader {
 public:
  FieldReader(object obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  Error fail(std::string_view msg) const {
    std::string at = where_.empty() ? "" : where_ + ": ";
    return Error(Errc::usage, "inventory: " + at + std::string(msg));
  }
  Error string(std::string_view key, std::string& out, bool required) {
    element e;
    if (!lookup(key, e)) return required ? fail(missing(key)) : Error();
    std::string_view v;
    if (e.get_string().get(v) != simdjson::SUCCESS) return fail(key_msg(key, "must be a string"));
    out = std::string(v);
    return {};
  }
  Error uint(std::string_view key, uint64_t& out, bool required) {
    element e;
    if (!lookup(key, e)) return required ? fail(missing(key)) : Error();
    if (e.get_uint64().get(out) != simdjson::SUCCESS) {
      return fail(key_msg(key, "must be a non-negative integer"));
    }
    return {};
  }
  Error int64(std::string_view key, int64_t& out) {
    element e;
    if (!lookup(key, e)) return {};
    if (e.get_int64().get(out) != simdjson::SUCCESS)
      return fail(key_msg(key, "must be an integer"));
    return {};
  }
  // true/false or 0/1, as Proxmox configs write booleans.
  Error boolean(std::string_view key, bool& out) {
    element e;
    if (!lookup(key, e)) return {};
    uint64_t n = 0;
    if (e.get_bool().get(out) == simdjson::SUCCESS) return {};
    if (e.get_uint64().get(n) == simdjson::SUCCESS && n <= 1) {
      out = n == 1;
      return {};
    }
    return fail(key_msg(key, "must be true/false or 0/1"));
  }
  Error strings(std::string_view key, std::vector<std::string>& out) {
    element e;
    if (!lookup(key, e)) return {};
    array arr;
    if (e.get_array().get(arr) != simdjson::SUCCESS) return fail(key_msg(key, "must be an array"));
    for (element item : arr) {
      std::string_view v;
      if (item.get_string().get(v) != simdjson::SUCCESS) {
        return fail(key_msg(key, "must hold strings"));
      }
      out.emplace_back(v);
    }
    return {};
  }
  // Objects of an array field, each with its own reader context "key[i]".
  Error objects(std::string_view key, bool required, std::vector<FieldReader>& out) {
    element e;
    if (!lookup(key, e)) return required ? fail(missing(key)) : Error();
    array arr;
    if (e.get_array().get(arr) != simdjson::SUCCESS) return fail(key_msg(key, "must be an array"));
    size_t i = 0;
    for (element item : arr) {
      object o;
      std::string at = where_.empty() ? "" : where_ + ".";
      at += std::string(key) + "[" + std::to_string(i++) + "]";
      if (item.get_object().get(o) != simdjson::SUCCESS) {
        return Error(Errc::usage, "inventory: " + at + ": must be an object");
      }
      out.emplace_back(o, at);
    }
    return {};
  }
  // After all reads: any key not read is a typo or an unsupported field.
  Error no_unknown_keys() const {
    for (auto field : obj_) {
      if (used_.count(std::string(field.key)) == 0) {
        return fail("unknown key '" + std::string(field.key) + "'");
      }
    }
    return {};
  }

 private:
  bool lookup(std::string_view key, element& e) {
    used_.insert(std::string(key));
    return obj_[key].get(e) == simdjson::SUCCESS;
  }
  static std::string missing(std::string_view key) {
    return "missing key '" + std::string(key) + "'";
  }
  static std::string key_msg(std::string_view key, std::string_view msg) {
    return "'" + std::string(key) + "' " + std::string(msg);
  }

  object obj_;
  std::string where_;
  std::set<std::string> used_;
};

#define PVB_TRY(expr)                             \
  do {                                            \
    ::pvb::Error pvb_try_err = (expr);            \
    if (pvb_try_err.failed()) return pvb_try_err; \
  } while (0)

Error read_acl(FieldReader& r, std::vector<AclEntry>& out) {
  std::vector<FieldReader> entries;
  PVB_TRY(r.objects("acl", false, entries));
  for (FieldReader& e : entries) {
    AclEntry acl;
    PVB_TRY(e.string("path", acl.path, true));
    PVB_TRY(e.strings("privs", acl.privs));
    PVB_TRY(e.no_unknown_keys());
    if (acl.path.empty() || acl.path[0] != '/') return e.fail("path must start with '/'");
    out.push_back(std::move(acl));
  }
  return {};
}

Error read_node(FieldReader& r, Inventory& inv) {
  NodeEntry n;
  PVB_TRY(r.string("node", n.node, true));
  PVB_TRY(r.string("status", n.status, false));
  PVB_TRY(r.no_unknown_keys());
  if (n.node.empty()) return r.fail("empty node name");
  if (n.status != "online" && n.status != "offline") return r.fail("status must be online|offline");
  if (inv.find_node(n.node)) return r.fail("duplicate node '" + n.node + "'");
  inv.nodes.push_back(std::move(n));
  return {};
}

Error read_guest(FieldReader& r, Inventory& inv) {
  GuestEntry g;
  uint64_t vmid = 0;
  std::string type, console = "rfb";
  PVB_TRY(r.uint("vmid", vmid, true));
  PVB_TRY(r.string("type", type, true));
  PVB_TRY(r.string("node", g.node, true));
  PVB_TRY(r.string("status", g.status, true));
  PVB_TRY(r.string("name", g.name, false));
  PVB_TRY(r.string("qmpstatus", g.qmpstatus, false));
  PVB_TRY(r.boolean("template", g.is_template));
  PVB_TRY(r.string("tags", g.tags, false));
  PVB_TRY(r.string("pool", g.pool, false));
  PVB_TRY(r.string("lock", g.lock, false));
  PVB_TRY(r.string("hastate", g.hastate, false));
  PVB_TRY(r.string("console", console, false));
  PVB_TRY(r.string("vga", g.vga, false));
  std::string serial;
  PVB_TRY(r.string("serial", serial, false));
  for (char c : serial) {
    if (c == ',' || c == ' ') continue;
    if (c < '0' || c > '3') return r.fail("serial must list ports 0..3, e.g. \"0,1\"");
    g.serial_ports.push_back(c - '0');
  }
  uint64_t maxcpu = g.maxcpu;
  PVB_TRY(r.uint("maxcpu", maxcpu, false));
  PVB_TRY(r.uint("maxmem", g.maxmem, false));
  PVB_TRY(r.uint("maxdisk", g.maxdisk, false));
  PVB_TRY(r.no_unknown_keys());

  if (vmid < 100 || vmid > 999999999) return r.fail("vmid must be 100..999999999");
  g.vmid = static_cast<uint32_t>(vmid);
  if (maxcpu == 0 || maxcpu > 4096) return r.fail("maxcpu must be 1..4096");
  g.maxcpu = static_cast<uint32_t>(maxcpu);
  if (type == "qemu") {
    g.type = GuestKind::qemu;
  } else if (type == "lxc") {
    g.type = GuestKind::lxc;
  } else {
    return r.fail("type must be qemu|lxc");
  }
  if (!inv.find_node(g.node)) return r.fail("unknown node '" + g.node + "'");
  if (g.status != "running" && g.status != "stopped")
    return r.fail("status must be running|stopped");
  if (!g.qmpstatus.empty()) {
    if (g.type != GuestKind::qemu) return r.fail("qmpstatus is for qemu guests only");
    if (g.qmpstatus != "paused" || g.status != "running") {
      return r.fail("qmpstatus may only be \"paused\", on a running guest");
    }
  }
  if (g.is_template && g.status != "stopped") return r.fail("a template must be stopped");
  bool console_ok = false;
  for (ConsoleKind k : {ConsoleKind::rfb, ConsoleKind::source, ConsoleKind::sink, ConsoleKind::echo,
                        ConsoleKind::rfb_source, ConsoleKind::rfb_echo}) {
    if (console_kind_name(k) == console) {
      g.console = k;
      console_ok = true;
    }
  }
  if (!console_ok) return r.fail("console must be rfb|source|sink|echo|rfb_source|rfb_echo");
  if (inv.find_guest(g.vmid)) return r.fail("duplicate vmid " + std::to_string(g.vmid));
  inv.guests.push_back(std::move(g));
  return {};
}

Error read_user(FieldReader& r, Inventory& inv) {
  UserEntry u;
  PVB_TRY(r.string("userid", u.userid, true));
  PVB_TRY(r.string("password", u.password, true));
  PVB_TRY(r.string("totp", u.totp_secret, false));
  PVB_TRY(r.strings("recovery", u.recovery_keys));
  PVB_TRY(read_acl(r, u.acl));
  std::vector<FieldReader> tokens;
  PVB_TRY(r.objects("tokens", false, tokens));
  PVB_TRY(r.no_unknown_keys());

  size_t at = u.userid.find('@');
  if (at == 0 || at == std::string::npos || at + 1 == u.userid.size() ||
      u.userid.find_first_of(":!/ ") != std::string::npos) {
    return r.fail("userid must look like USER@REALM");
  }
  if (!u.totp_secret.empty()) {
    std::optional<std::string> key = base32_decode(u.totp_secret);
    if (!key || key->empty()) return r.fail("totp is not a base32 secret");
  }
  for (FieldReader& t : tokens) {
    TokenEntry token;
    PVB_TRY(t.string("tokenid", token.tokenid, true));
    PVB_TRY(t.string("secret", token.secret, true));
    PVB_TRY(t.boolean("privsep", token.privsep));
    PVB_TRY(t.int64("expire", token.expire));
    PVB_TRY(read_acl(t, token.acl));
    PVB_TRY(t.no_unknown_keys());
    if (token.tokenid.empty() || token.tokenid.find_first_of(":!=/ ") != std::string::npos) {
      return t.fail("bad tokenid");
    }
    if (u.find_token(token.tokenid)) return t.fail("duplicate tokenid");
    u.tokens.push_back(std::move(token));
  }
  if (inv.find_user(u.userid)) return r.fail("duplicate user '" + u.userid + "'");
  inv.users.push_back(std::move(u));
  return {};
}

}  // namespace

Result<Inventory> parse_inventory_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element doc;
  if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS) {
    return Error(Errc::usage,
                 std::string("inventory: invalid JSON: ") + simdjson::error_message(err));
  }
  object root_obj;
  if (doc.get_object().get(root_obj) != simdjson::SUCCESS) {
    return Error(Errc::usage, "inventory: the top level must be an object");
  }
  Inventory inv;
  inv.nodes.clear();
  FieldReader root(root_obj, "");
  std::vector<FieldReader> nodes, guests, users;
  PVB_TRY(root.string("cluster", inv.cluster_name, false));
  PVB_TRY(root.objects("nodes", true, nodes));
  PVB_TRY(root.objects("guests", true, guests));
  PVB_TRY(root.objects("users", true, users));
  PVB_TRY(root.no_unknown_keys());
  for (FieldReader& r : nodes) PVB_TRY(read_node(r, inv));
  for (FieldReader& r : guests) PVB_TRY(read_guest(r, inv));
  for (FieldReader& r : users) PVB_TRY(read_user(r, inv));
  return inv;
}

#undef PVB_TRY

Result<Inventory> load_inventory_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::io, "inventory: cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(Errc::io, "inventory: cannot read " + path);
  Result<Inventory> inv = parse_inventory_json(text.str());
  if (!inv.ok()) {
    Error e = inv.error();
    return e.context(path);
  }
  return inv;
}

}  // namespace pvb::mock
