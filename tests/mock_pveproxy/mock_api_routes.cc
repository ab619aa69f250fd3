#include "tests/mock_pveproxy/mock_api_routes.h"

#include <limits>
#include <vector>

namespace pvb::mock {

namespace {

constexpr int64_t kMaxVmid = 999999999;
constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

// Builders for the schema tables below (designated initializers trip gcc's
// -Wmissing-field-initializers).
constexpr ParamSpec text(std::string_view name, bool required = false, size_t max_length = 0) {
  ParamSpec p;
  p.name = name;
  p.required = required;
  p.max_length = max_length;
  return p;
}
constexpr ParamSpec flag(std::string_view name) {
  ParamSpec p;
  p.name = name;
  p.type = ParamType::boolean;
  return p;
}
constexpr ParamSpec number(std::string_view name, int64_t minimum, int64_t maximum,
                           bool required = false) {
  ParamSpec p;
  p.name = name;
  p.type = ParamType::integer;
  p.minimum = minimum;
  p.maximum = maximum;
  p.required = required;
  return p;
}
constexpr ParamSpec one_of(std::string_view name, std::string_view values) {
  ParamSpec p;
  p.name = name;
  p.type = ParamType::enumeration;
  p.values = values;
  return p;
}

// Every guest endpoint's path parameters, validated like body parameters.
constexpr ParamSpec kNodeParam = text("node", true);
constexpr ParamSpec kVmidParam = number("vmid", 100, kMaxVmid, true);

constexpr ParamSpec kTicketParams[] = {
    text("username", true, 64), text("password", true), text("realm"), text("otp"),
    text("tfa-challenge"),      flag("new-format"),
};
constexpr ParamSpec kResourcesParams[] = {one_of("type", "vm, storage, node, sdn")};
constexpr ParamSpec kGuestParams[] = {kNodeParam, kVmidParam};
constexpr ParamSpec kQemuStartParams[] = {
    kNodeParam,
    kVmidParam,
    flag("skiplock"),
    text("stateuri"),
    text("migratedfrom"),
    one_of("migration_type", "secure, insecure"),
    text("migration_network"),
    text("machine"),
    text("targetstorage"),
    number("timeout", 0, kNoLimit),
    text("force-cpu"),
};
constexpr ParamSpec kLxcStartParams[] = {kNodeParam, kVmidParam, flag("skiplock"), flag("debug")};
constexpr ParamSpec kQemuResumeParams[] = {kNodeParam, kVmidParam, flag("skiplock"),
                                           flag("nocheck")};
constexpr ParamSpec kTaskParams[] = {text("node", true), text("upid", true)};
constexpr ParamSpec kQemuVncproxyParams[] = {kNodeParam, kVmidParam, flag("websocket"),
                                             flag("generate-password")};
constexpr ParamSpec kLxcVncproxyParams[] = {
    kNodeParam,
    kVmidParam,
    flag("websocket"),
    number("width", 16, 4096),
    number("height", 16, 2160),
};
constexpr ParamSpec kVncwebsocketParams[] = {
    kNodeParam,
    kVmidParam,
    number("port", 5900, 5999, true),
    text("vncticket", true, 512),
};

constexpr ParamSpec kQemuTermproxyParams[] = {
    kNodeParam, kVmidParam, one_of("serial", "serial0, serial1, serial2, serial3")};
constexpr ParamSpec kSpiceproxyParams[] = {kNodeParam, kVmidParam, text("proxy")};
constexpr ParamSpec kConfigParams[] = {kNodeParam, kVmidParam, flag("current"), text("snapshot")};
constexpr ParamSpec kNodeTermproxyParams[] = {text("node", true), text("cmd"), text("cmd-opts")};
constexpr ParamSpec kNodeVncwebsocketParams[] = {
    text("node", true),
    number("port", 5900, 5999, true),
    text("vncticket", true, 512),
};

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

RouteMatch simple(Endpoint e, std::string_view method, std::string_view name,
                  std::span<const ParamSpec> schema) {
  RouteMatch m;
  m.endpoint = e;
  m.method = method;
  m.name = name;
  m.schema = schema;
  return m;
}

// /nodes/{node}/{qemu|lxc}/{vmid}/...
std::optional<RouteMatch> guest_route(const std::vector<std::string_view>& s) {
  bool qemu = s[2] == "qemu";
  RouteMatch m;
  m.node = std::string(s[1]);
  m.kind = qemu ? GuestKind::qemu : GuestKind::lxc;
  m.vmid_text = std::string(s[3]);
  m.uri_params = {{"node", m.node}, {"vmid", m.vmid_text}};
  std::string_view rest = s.size() == 6 ? s[5] : "";
  if (s.size() == 6 && s[4] == "status" && rest == "current") {
    m.endpoint = Endpoint::status_current;
    m.method = "GET";
    m.name = "status/current";
    m.schema = kGuestParams;
    m.privilege = "VM.Audit";
  } else if (s.size() == 6 && s[4] == "status" && rest == "start") {
    m.endpoint = Endpoint::start;
    m.method = "POST";
    m.name = "status/start";
    m.schema = qemu ? std::span<const ParamSpec>(kQemuStartParams) : kLxcStartParams;
    m.privilege = "VM.PowerMgmt";
  } else if (s.size() == 6 && s[4] == "status" && rest == "resume") {
    m.endpoint = Endpoint::resume;
    m.method = "POST";
    m.name = "status/resume";
    m.schema = qemu ? std::span<const ParamSpec>(kQemuResumeParams) : kGuestParams;
    m.privilege = "VM.PowerMgmt";
  } else if (s.size() == 5 && s[4] == "vncproxy") {
    m.endpoint = Endpoint::vncproxy;
    m.method = "POST";
    m.name = "vncproxy";
    m.schema = qemu ? std::span<const ParamSpec>(kQemuVncproxyParams) : kLxcVncproxyParams;
    m.privilege = "VM.Console";
  } else if (s.size() == 5 && s[4] == "termproxy") {
    m.endpoint = Endpoint::termproxy;
    m.method = "POST";
    m.name = "termproxy";
    m.schema = qemu ? std::span<const ParamSpec>(kQemuTermproxyParams) : kGuestParams;
    m.privilege = "VM.Console";
  } else if (s.size() == 5 && s[4] == "spiceproxy" && qemu) {
    m.endpoint = Endpoint::spiceproxy;
    m.method = "POST";
    m.name = "spiceproxy";
    m.schema = kSpiceproxyParams;
    m.privilege = "VM.Console";
  } else if (s.size() == 5 && s[4] == "config") {
    m.endpoint = Endpoint::guest_config;
    m.method = "GET";
    m.name = "config";
    m.schema = kConfigParams;
    m.privilege = "VM.Audit";
  } else if (s.size() == 5 && s[4] == "vncwebsocket") {
    m.endpoint = Endpoint::vncwebsocket;
    m.method = "GET";
    m.name = "vncwebsocket";
    m.schema = kVncwebsocketParams;
    m.privilege = "VM.Console";
  } else {
    return std::nullopt;
  }
  return m;
}

}  // namespace

std::optional<RouteMatch> match_route(std::string_view path) {
  std::vector<std::string_view> s = segments(path);
  if (s.size() == 2 && s[0] == "access" && s[1] == "ticket") {
    return simple(Endpoint::ticket, "POST", "access/ticket", kTicketParams);
  }
  if (s.size() == 1 && s[0] == "version") return simple(Endpoint::version, "GET", "version", {});
  if (s.size() == 2 && s[0] == "cluster" && s[1] == "resources") {
    return simple(Endpoint::resources, "GET", "cluster/resources", kResourcesParams);
  }
  if (s.size() == 5 && s[0] == "nodes" && s[2] == "tasks" && s[4] == "status") {
    RouteMatch m = simple(Endpoint::task_status, "GET", "tasks/status", kTaskParams);
    m.node = std::string(s[1]);
    m.upid = std::string(s[3]);
    m.uri_params = {{"node", m.node}, {"upid", m.upid}};
    return m;
  }
  if (s.size() == 3 && s[0] == "nodes" && (s[2] == "termproxy" || s[2] == "vncwebsocket")) {
    bool shell = s[2] == "termproxy";
    RouteMatch m =
        shell ? simple(Endpoint::node_termproxy, "POST", "node termproxy", kNodeTermproxyParams)
              : simple(Endpoint::node_vncwebsocket, "GET", "node vncwebsocket",
                       kNodeVncwebsocketParams);
    m.node = std::string(s[1]);
    m.uri_params = {{"node", m.node}};
    return m;
  }
  if (s.size() >= 5 && s[0] == "nodes" && (s[2] == "qemu" || s[2] == "lxc")) {
    return guest_route(s);
  }
  return std::nullopt;
}

}  // namespace pvb::mock
