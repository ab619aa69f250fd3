// MockApi: parsing requests, and the stages every request passes through. The endpoints
// themselves are in mock_api_guests.cc and mock_api_console.cc.
#include "tests/mock_pveproxy/mock_api.h"

#include <simdjson.h>

#include "tests/mock_pveproxy/mock_api_internal.h"

namespace pvb::mock {

MockApi::MockApi(Inventory inventory, MockOptions options, Clock& clock, Random& random)
    : inventory_(std::move(inventory)),
      options_(std::move(options)),
      clock_(clock),
      random_(random),
      authority_(clock_, random_, options_),
      login_(inventory_, authority_, clock_),
      state_(inventory_, clock_, random_) {}

namespace {

constexpr std::string_view kApiPrefix = "/api2/";

// Perl's uri_unescape, as pveproxy applies to the path: bad escapes stay as they are.
std::string unescape_path(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// "application/json; charset=utf-8" -> "application/json"
std::string media_type(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  std::string out(t);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A JSON body's members as parameters, the way Perl sees decoded values: strings as they are,
// booleans as 1/0, numbers and nested values as JSON text, null as absent.
std::variant<FormFields, MockResponse> json_body_fields(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc); err != simdjson::SUCCESS) {
    return bare_reply(501, std::string("malformed JSON string: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    return bare_reply(501, "Not a HASH reference: the JSON body must be an object");
  }
  FormFields fields;
  for (auto member : obj) {
    std::string_view s;
    bool b = false;
    if (member.value.is_null()) continue;
    if (member.value.get_string().get(s) == simdjson::SUCCESS) {
      fields.emplace_back(std::string(member.key), std::string(s));
    } else if (member.value.get_bool().get(b) == simdjson::SUCCESS) {
      fields.emplace_back(std::string(member.key), b ? "1" : "0");
    } else {
      fields.emplace_back(std::string(member.key), simdjson::minify(member.value));
    }
  }
  return fields;
}

}  // namespace

std::variant<MockRequest, MockResponse> MockApi::parse(std::string method, std::string target,
                                                       const HttpHeaders& headers,
                                                       std::string body) {
  SplitTarget split = split_target(target);
  std::string path = unescape_path(split.path);
  auto fail = [&](MockResponse r) {
    ++counters_.requests;
    return finish(std::move(r), path);
  };
  if (!path.starts_with(kApiPrefix)) return fail(bare_reply(404, "no such file '" + path + "'"));
  std::string_view rest = std::string_view(path).substr(kApiPrefix.size());
  std::string_view format = rest.substr(0, rest.find('/'));
  std::string rel = std::string(rest.substr(format.size()));
  if (rel.empty()) rel = "/";
  if (format != "json") {
    return fail(bare_reply(501, "no formatter for uri " + rel + ", " + std::string(format)));
  }

  MockRequest req;
  req.method = std::move(method);
  req.path = rel;
  req.headers = headers;
  std::optional<FormFields> query = parse_form(split.query);
  if (!query) return fail(bare_reply(400, "malformed %-escape in the query string"));
  req.query = std::move(*query);

  if (req.method == "POST" || req.method == "PUT" || req.method == "DELETE") {
    std::optional<std::string_view> ct = headers.get("Content-Type");
    if (ct && media_type(*ct) == "application/json") {
      auto fields = json_body_fields(body);
      if (auto* error = std::get_if<MockResponse>(&fields)) return fail(std::move(*error));
      req.params = std::move(std::get<FormFields>(fields));
    } else {
      std::optional<FormFields> form = parse_form(body);
      if (!form) return fail(bare_reply(400, "malformed %-escape in the form body"));
      req.params = std::move(*form);
    }
  }
  for (const auto& [name, value] : req.query) set_field(req.params, name, value);
  // pveproxy drops the ExtJS cache buster before checking parameters.
  std::erase_if(req.params, [](const auto& f) { return f.first == "_dc"; });
  return req;
}

MockResponse MockApi::handle(const MockRequest& request) {
  ++counters_.requests;
  state_.settle(options_.ws_window_ms);
  return finish(dispatch(request, nullptr), request.path);
}

MockResponse MockApi::finish(MockResponse reply, std::string_view path) {
  if (options_.not_proxmox()) {
    // Another HTTPS server on the port: whatever was asked, it has no such file.
    reply = bare_reply(404, "File not found");
    reply.body = "<html><body><h1>404 File not found</h1></body></html>";
    reply.content_type = "text/html";
  }
  if (reply.status == 401) {
    ++counters_.auth_failures;
    reply.delay_ms += options_.auth_fail_delay_ms;
  }
  if (std::optional<uint64_t> slow = options_.slow_ms()) reply.delay_ms += *slow;
  // Any strict prefix of a JSON object is invalid JSON: cut the body in half.
  if (options_.malformed_json_for(path) && !reply.body.empty()) {
    reply.body.resize(reply.body.size() / 2);
  }
  reply.oversized_header = options_.oversized_header();
  return reply;
}

MockResponse MockApi::dispatch(const MockRequest& request, UpgradeContext* upgrade) {
  std::optional<RouteMatch> route = match_route(request.path);
  bool is_ticket_path = route && route->endpoint == Endpoint::ticket;

  AuthId who;
  if (is_ticket_path) {
    // Logging in needs no authentication, but an API token cannot be traded for a ticket.
    for (std::string_view h : request.headers.get_all("Authorization")) {
      if (extract_auth_value(h, "PVEAPIToken")) {
        return bare_reply(401, "API tokens cannot be used to create tickets");
      }
    }
  } else {
    auto auth =
        authenticate_request(inventory_, authority_, clock_, request.method, request.headers);
    if (auto* failure = std::get_if<AuthFailure>(&auth)) return bare_reply(401, failure->message);
    who = std::get<AuthId>(auth);
  }

  std::string endpoint_key = request.method + " " + std::string(route ? route->name : "unknown");
  ++counters_.by_endpoint[endpoint_key];
  if (is_ticket_path && request.method == "GET") return data_reply("null");  // a dummy, as in PVE
  if (!route || route->method != request.method) {
    return error_reply(501, "Method '" + request.method + " " + request.path + "' not implemented");
  }
  return route_request(request, *route, who, upgrade);
}

MockResponse MockApi::route_request(const MockRequest& request, const RouteMatch& route,
                                    const AuthId& who, UpgradeContext* upgrade) {
  ParamErrors duplicates;
  for (const auto& [name, value] : route.uri_params) {
    if (find_field(request.params, name)) {
      duplicates.emplace_back(name, "duplicate parameter (already defined in URI)");
    }
  }
  if (!duplicates.empty()) return param_error_reply(duplicates);

  if (!route.privilege.empty()) {
    std::string acl_path = "/vms/" + route.vmid_text;
    if (!has_privilege(inventory_, who, acl_path, route.privilege)) {
      return error_reply(403, permission_message(acl_path, route.privilege));
    }
  }
  // pveproxy proxies node paths to the node, which must resolve.
  if (!route.node.empty() && route.node != "localhost" &&
      inventory_.find_node(route.node) == nullptr) {
    return error_reply(500, "hostname lookup '" + route.node +
                                "' failed - failed to get address info for: " + route.node +
                                ": Name or service not known");
  }

  FormFields all = request.params;
  for (const auto& [name, value] : route.uri_params) all.emplace_back(name, value);
  std::span<const ParamSpec> schema = route.schema;
  std::vector<ParamSpec> widened;  // vncwebsocket's port follows --console-ports
  if (route.endpoint == Endpoint::vncwebsocket || route.endpoint == Endpoint::node_vncwebsocket) {
    widened.assign(schema.begin(), schema.end());
    for (ParamSpec& p : widened) {
      if (p.name != "port") continue;
      p.minimum = options_.console_port_first;
      p.maximum = options_.console_port_last;
    }
    schema = widened;
  }
  if (ParamErrors errors = check_params(all, schema); !errors.empty()) {
    return param_error_reply(errors);
  }

  switch (route.endpoint) {
    case Endpoint::ticket:
      return login_.login(request.params);
    case Endpoint::version:
      return version();
    case Endpoint::resources:
      return resources(request, who);
    case Endpoint::task_status:
      return task_status(route, who);
    case Endpoint::node_termproxy:
      return node_termproxy(route, who);
    case Endpoint::node_vncwebsocket:
      return node_vncwebsocket(request, route, who, upgrade);
    default:
      break;
  }

  // The guest endpoints: the guest must live on that node, with that type.
  uint32_t vmid = static_cast<uint32_t>(*parse_pve_integer(route.vmid_text));
  const GuestEntry* guest = inventory_.find_guest(vmid);
  if (guest == nullptr || guest->node != route.node || guest->type != route.kind) {
    return error_reply(500, "Configuration file 'nodes/" + route.node + "/" +
                                (route.kind == GuestKind::qemu ? "qemu-server" : "lxc") + "/" +
                                route.vmid_text + ".conf' does not exist");
  }
  switch (route.endpoint) {
    case Endpoint::status_current:
      return status_current(*guest);
    case Endpoint::start:
      return start(request, *guest, who);
    case Endpoint::resume:
      return resume(*guest, who);
    case Endpoint::vncproxy:
      return vncproxy(request, *guest, who);
    case Endpoint::vncwebsocket:
      return vncwebsocket(request, *guest, who, upgrade);
    case Endpoint::guest_config:
      return guest_config(*guest);
    case Endpoint::termproxy:
      return termproxy(request, *guest, who);
    case Endpoint::spiceproxy:
      return spiceproxy(request, *guest, who);
    default:
      break;
  }
  return error_reply(500, "internal error: endpoint not handled");
}

void MockApi::release_console(uint16_t port) {
  state_.release_console(port);
}

void MockApi::stop_guest(uint32_t vmid) {
  if (inventory_.find_guest(vmid) != nullptr) state_.stop(vmid);
}

void MockApi::expire_auth() {
  authority_.forget_tickets(random_);
  // A second ago (0 would mean "never expires").
  const int64_t now = clock_.unix_seconds();
  const int64_t past = now - 1 != 0 ? now - 1 : -1;
  for (UserEntry& user : inventory_.users) {
    for (TokenEntry& token : user.tokens) token.expire = past;
  }
}

std::optional<GuestStatus> MockApi::guest_status(uint32_t vmid) {
  state_.settle(options_.ws_window_ms);
  const GuestEntry* guest = inventory_.find_guest(vmid);
  if (guest == nullptr) return std::nullopt;
  const GuestState& s = state_.guest(vmid);
  return GuestStatus{s.running ? "running" : "stopped", qmpstatus(s), s.starting()};
}

size_t MockApi::open_consoles() {
  state_.settle(options_.ws_window_ms);
  return state_.open_console_count();
}

MockCounters MockApi::counters() const {
  MockCounters c = counters_;
  c.logins = login_.counters();
  return c;
}

}  // namespace pvb::mock
