// MockApi console endpoints: vncproxy opens a listener and hands out port, ticket and password;
// vncwebsocket (plain GET or websocket upgrade) checks the ticket and takes the listener.
#include "engine/core/json_writer.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/mock_api_internal.h"
#include "tests/mock_pveproxy/mock_crypto.h"

namespace pvb::mock {

namespace {

// 8 characters from '!' to '`' (0x21..0x60), as qemu-server makes them: backslash, both quotes,
// ':', '=', '&', '#', '%', '?' and '`' included (about one password in eight holds a backslash).
std::string make_vnc_password(Random& random) {
  std::string password;
  while (password.size() < kVncPasswordLength) {
    unsigned char b = 0;
    random.fill(&b, 1);
    password.push_back(static_cast<char>('!' + b % 64));  // 256 = 4 * 64: every one equally likely
  }
  return password;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// PVE::Tools::split_list: items separated by commas, semicolons or whitespace.
std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t end = s.find_first_of(",; \t", i);
    if (end == std::string_view::npos) end = s.size();
    if (end > i) out.push_back(s.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

struct UpgradeHeaders {
  std::string protocol;
  std::string accept;
};

// pveproxy's checks of a websocket upgrade, in its order and with its messages (all 501).
std::variant<UpgradeHeaders, MockResponse> check_upgrade_headers(const HttpHeaders& headers) {
  std::string upgrade = lower(headers.get("Upgrade").value_or(""));
  if (upgrade != "websocket") {
    return bare_reply(501, "unable to upgrade to protocol '" + upgrade + "'");
  }
  std::string_view version = headers.get("Sec-WebSocket-Version").value_or("");
  if (version != "13") {
    return bare_reply(501, "unsupported websocket-version '" + std::string(version) + "'");
  }
  std::optional<std::string_view> protocols = headers.get("Sec-WebSocket-Protocol");
  if (!protocols || protocols->empty()) return bare_reply(501, "missing websocket-protocol header");
  UpgradeHeaders out;
  for (std::string_view p : split_list(*protocols)) {
    if (out.protocol.empty() && p == "base64") out.protocol = "base64";
    if (p == "binary") out.protocol = "binary";
  }
  if (out.protocol.empty()) {
    return bare_reply(501,
                      "unsupported websocket-protocol protocol '" + std::string(*protocols) + "'");
  }
  std::optional<std::string_view> key = headers.get("Sec-WebSocket-Key");
  if (!key || key->empty()) return bare_reply(501, "missing websocket-key");
  out.accept = websocket_accept(*key);
  return out;
}

}  // namespace

MockResponse MockApi::vncproxy(const MockRequest& request, const GuestEntry& g, const AuthId& who) {
  std::string vmid = std::to_string(g.vmid);
  // refuse_vncproxy=N: the N calls after the first are refused, as a node busy restarting.
  ++vncproxy_calls_;
  if (std::optional<uint64_t> n = options_.refuse_vncproxy();
      n && vncproxy_calls_ > 1 && vncproxy_calls_ <= *n + 1) {
    return error_reply(503, "service temporarily unavailable (fault refuse_vncproxy)");
  }
  if (!state_.guest(g.vmid).running) {
    return error_reply(500, std::string(guest_word(g.type)) + " " + vmid + " not running");
  }
  std::optional<uint16_t> port =
      state_.free_port(options_.console_port_first, options_.console_port_last);
  if (!port) {
    return error_reply(500, "unable to find free port (" +
                                std::to_string(options_.console_port_first) + "-" +
                                std::to_string(options_.console_port_last) + ")");
  }

  // (lxc's schema has no generate-password: the parameter check refused it already.) qemu's knows
  // it only in the middle generation; before and after, the schema refuses it as unknown.
  const bool asked = find_field(request.params, "generate-password") != nullptr;
  if (asked && options_.generation != VncproxyGeneration::middle) {
    return param_error_reply(
        {{"generate-password",
          "property is not defined in schema and the schema does not allow additional "
          "properties"}});
  }
  bool generate = options_.generation == VncproxyGeneration::next ||
                  (options_.generation == VncproxyGeneration::middle &&
                   boolean_param(request.params, "generate-password"));
  std::string password;
  if (generate) {
    password = options_.fixed_vnc_password.empty() ? make_vnc_password(random_)
                                                   : options_.fixed_vnc_password;
  }
  std::string authid = who.full();
  std::string ticket = authority_.vnc_ticket(authid, "/vms/" + vmid, *port, password);
  const TaskRecord& task = state_.add_task(g.node, "vncproxy", vmid, authid, kNever, "");

  ConsoleRecord console;
  console.port = *port;
  console.vmid = g.vmid;
  console.authid = authid;
  console.password = password;
  console.ticket = ticket;
  console.issued_ms = state_.now_ms();
  console.upid = task.upid;
  state_.open_console(console);
  ++counters_.vncproxy;

  JsonWriter w;
  w.begin_object();
  w.key("user").value(authid);
  w.key("ticket").value(ticket);
  w.key("port").value(std::to_string(*port));  // a string, as Proxmox sends it
  w.key("upid").value(task.upid);
  w.key("cert").value(options_.cert_pem);
  if (generate) w.key("password").value(password);
  w.end_object();
  return data_reply(w.str());
}

MockResponse MockApi::vncwebsocket(const MockRequest& request, const GuestEntry& g,
                                   const AuthId& who, UpgradeContext* upgrade) {
  auto port = static_cast<uint16_t>(*parse_pve_integer(*find_field(request.params, "port")));
  const std::string& ticket = *find_field(request.params, "vncticket");
  std::string authid = who.full();
  bool ticket_ok =
      !options_.reject_ticket() &&
      authority_.verify_vnc_ticket(ticket, authid, "/vms/" + std::to_string(g.vmid), port);
  MockResponse reply;
  if (ticket_ok) {
    JsonWriter w;
    w.begin_object().key("port").value(std::to_string(port)).end_object();
    reply = data_reply(w.str());
  } else {
    reply = error_reply(500, "permission denied - invalid PVEVNC ticket");
  }
  if (upgrade == nullptr) return reply;  // a plain GET: nothing to relay, nothing used up

  // pveproxy checks the upgrade headers after the handler ran, whatever its result.
  auto headers = check_upgrade_headers(request.headers);
  if (auto* bad = std::get_if<MockResponse>(&headers)) return std::move(*bad);
  if (reply.status != 200) return reply;

  // The listener must still be waiting, for this very ticket: one websocket per vncproxy call,
  // within the window (settle() closed expired listeners).
  ConsoleRecord* console = state_.find_console(port);
  if (console == nullptr || console->connected || console->vmid != g.vmid ||
      console->ticket != ticket) {
    return error_reply(500, "failed to connect: Connection refused");
  }
  state_.connect_console(port);

  const UpgradeHeaders& up = std::get<UpgradeHeaders>(headers);
  ConsoleGrant grant;
  grant.node = g.node;
  grant.vmid = g.vmid;
  grant.type = g.type;
  grant.name = g.name;
  grant.console = g.console;
  grant.port = port;
  grant.vnc_password = console->password.empty() ? console->ticket : console->password;
  grant.vnc_password_expires = clock_.unix_seconds() + options_.vnc_password_life_s;
  grant.authid = authid;
  grant.ws_protocol = up.protocol;
  grant.ws_accept = up.accept;
  if (console->terminal) attach_terminal(grant, *console);
  upgrade->grant = std::move(grant);
  return bare_reply(101, "Switching Protocols");
}

std::variant<ConsoleGrant, MockResponse> MockApi::accept_vncwebsocket(const MockRequest& request) {
  if (!request.headers.get("Upgrade")) {
    ++counters_.ws_refused;
    return handle(request);
  }
  ++counters_.requests;
  state_.settle(options_.ws_window_ms);
  UpgradeContext upgrade;
  MockResponse reply = dispatch(request, &upgrade);
  if (upgrade.grant) {
    ++counters_.ws_accepted;
    upgrade.grant->delay_ms = options_.slow_ms().value_or(0);
    return std::move(*upgrade.grant);
  }
  ++counters_.ws_refused;
  return finish(std::move(reply), request.path);
}

}  // namespace pvb::mock
