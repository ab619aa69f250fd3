// vncproxy and vncwebsocket: ports, tickets, passwords, the one-shot listener and its windows.
#include <set>

#include "tests/mock_pveproxy/test/mock_api_fixture.h"

namespace pvb::mock::testing {
namespace {

struct Console {
  std::string port;
  std::string ticket;
  std::string password;
  std::string upid;
};

class ConsoleTest : public MockApiTest {
 protected:
  void SetUp() override { root_ = login("root@pam", kRootPassword); }

  MockResponse vncproxy_reply(const std::string& guest_path, const std::string& body,
                              const HttpHeaders& auth) {
    return call("POST", "/api2/json/nodes/" + guest_path + "/vncproxy", auth, body);
  }
  Console vncproxy(const std::string& guest_path = "pve1/qemu/100",
                   const std::string& body = "websocket=1&generate-password=1",
                   const HttpHeaders* auth = nullptr) {
    MockResponse r = vncproxy_reply(guest_path, body, auth ? *auth : ticket_headers(root_));
    EXPECT_EQ(r.status, 200) << r.reason;
    JsonDoc doc(r.body);
    return Console{doc.str("/data/port").value_or(""), doc.str("/data/ticket").value_or(""),
                   doc.str("/data/password").value_or(""), doc.str("/data/upid").value_or("")};
  }
  // The websocket request as a client sends it: same auth, the whole ticket URL-encoded.
  MockRequest ws_request(const std::string& guest_path, const std::string& port,
                         const std::string& ticket, HttpHeaders auth, bool upgrade = true) {
    if (upgrade) add_upgrade_headers(auth);
    return request("GET",
                   "/api2/json/nodes/" + guest_path + "/vncwebsocket?port=" + port +
                       "&vncticket=" + url_encode(ticket),
                   std::move(auth));
  }
  std::variant<ConsoleGrant, MockResponse> accept(const std::string& guest_path, const Console& c,
                                                  const HttpHeaders* auth = nullptr) {
    return api().accept_vncwebsocket(
        ws_request(guest_path, c.port, c.ticket, auth ? *auth : ticket_headers(root_, false)));
  }
  static std::string refusal(const std::variant<ConsoleGrant, MockResponse>& r) {
    const auto* reply = std::get_if<MockResponse>(&r);
    return reply ? std::to_string(reply->status) + " " + reply->reason : "(granted)";
  }
  std::string task_state(const std::string& upid) {
    MockResponse r = call("GET", "/api2/json/nodes/pve1/tasks/" + url_encode(upid) + "/status",
                          ticket_headers(root_, false));
    JsonDoc doc(r.body);
    std::string state = doc.str("/data/status").value_or("?");
    if (state == "stopped") state += ":" + doc.str("/data/exitstatus").value_or("?");
    return state;
  }

  Session root_;
};

// --- vncproxy ----------------------------------------------------------------------------------

TEST_F(ConsoleTest, QemuVncproxyGivesPasswordPrefixedTicketAndStringPort) {
  MockOptions o;
  o.cert_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  MockResponse r =
      vncproxy_reply("pve1/qemu/100", "websocket=1&generate-password=1", ticket_headers(root_));
  ASSERT_EQ(r.status, 200) << r.reason;
  JsonDoc doc(r.body);
  EXPECT_EQ(doc.str("/data/port"), "5900");  // a JSON string, as Proxmox sends it
  EXPECT_FALSE(doc.num("/data/port"));
  EXPECT_EQ(doc.str("/data/user"), "root@pam");
  EXPECT_EQ(doc.str("/data/cert"), o.cert_pem);
  std::string password = doc.str("/data/password").value_or("");
  ASSERT_EQ(password.size(), 8u);
  for (char c : password) {
    EXPECT_TRUE(c >= '!' && c <= '`') << password;
  }
  std::string ticket = doc.str("/data/ticket").value_or("");
  EXPECT_TRUE(ticket.starts_with(password + ":PVEVNC:6553F100::")) << ticket;
  std::string upid = doc.str("/data/upid").value_or("");
  EXPECT_TRUE(upid.starts_with("UPID:pve1:")) << upid;
  EXPECT_TRUE(upid.ends_with(":vncproxy:100:root@pam:")) << upid;
  EXPECT_EQ(task_state(upid), "running");
}

TEST_F(ConsoleTest, PasswordsComeFromTheWholeRangeAndTheirTicketsVerify) {
  // qemu-server draws 8 characters from '!'..'`': a backslash, quotes and ':' included.
  std::set<char> seen;
  for (int i = 0; i < 60; ++i) {
    Console c = vncproxy();
    ASSERT_EQ(c.password.size(), 8u);
    for (char ch : c.password) {
      EXPECT_TRUE(ch >= '!' && ch <= '`') << c.password;
      seen.insert(ch);
    }
    // The ticket is "<password>:PVEVNC:...", and a ':' inside the password does not fool it.
    ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", c)))
        << c.password << " " << refusal(accept("pve1/qemu/100", c));
    api().release_console(static_cast<uint16_t>(std::stoi(c.port)));
  }
  for (char ch : std::string("\\\"':=&#%?`!@")) EXPECT_TRUE(seen.count(ch)) << ch;
  EXPECT_GT(seen.size(), 60u);
}

TEST_F(ConsoleTest, AFixedPasswordWithEveryAwkwardCharacterVerifies) {
  MockOptions o;
  o.fixed_vnc_password = "\\\"':=&#%";
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  Console c = vncproxy();
  EXPECT_EQ(c.password, o.fixed_vnc_password);
  auto r = accept("pve1/qemu/100", c);
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(r)) << refusal(r);
  EXPECT_EQ(std::get<ConsoleGrant>(r).vnc_password, o.fixed_vnc_password);
}

TEST_F(ConsoleTest, TheThreeGenerationsOfGeneratePassword) {
  const std::string refused =
      "property is not defined in schema and the schema does not allow additional properties";
  for (VncproxyGeneration g :
       {VncproxyGeneration::old, VncproxyGeneration::middle, VncproxyGeneration::next}) {
    SCOPED_TRACE(std::string(vncproxy_generation_name(g)));
    MockOptions o;
    o.generation = g;
    make_api(o);
    root_ = login("root@pam", kRootPassword);
    MockResponse with =
        vncproxy_reply("pve1/qemu/100", "websocket=1&generate-password=1", ticket_headers(root_));
    if (g == VncproxyGeneration::middle) {
      EXPECT_EQ(with.status, 200) << with.reason;
      EXPECT_TRUE(JsonDoc(with.body).str("/data/password"));
    } else {
      EXPECT_EQ(with.status, 400);
      EXPECT_EQ(with.reason, "Parameter verification failed.");
      EXPECT_EQ(JsonDoc(with.body).str("/errors/generate-password"), refused);
    }
    Console without = vncproxy("pve1/qemu/100", "websocket=1");
    if (g == VncproxyGeneration::next) {
      EXPECT_EQ(without.password.size(), 8u);  // generated unasked
      EXPECT_TRUE(without.ticket.starts_with(without.password + ":PVEVNC:")) << without.ticket;
    } else {
      EXPECT_TRUE(without.password.empty());  // the ticket is the password
      EXPECT_TRUE(without.ticket.starts_with("PVEVNC:")) << without.ticket;
    }
    EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", without)));
  }
  // What /version says follows the generation, unless told otherwise.
  MockOptions o;
  EXPECT_EQ(o.pve_version(), "8.4.1");
  o.generation = VncproxyGeneration::old;
  EXPECT_EQ(o.pve_version(), "6.1-11");
  EXPECT_EQ(o.pve_release(), "6.1");
  o.generation = VncproxyGeneration::next;
  EXPECT_EQ(o.pve_release(), "10.0");
  o.version = "9.0.5";
  EXPECT_EQ(o.pve_version(), "9.0.5");
  EXPECT_EQ(o.pve_release(), "9.0");
}

TEST_F(ConsoleTest, PasswordsDifferBetweenCalls) {
  Console a = vncproxy();
  Console b = vncproxy();
  EXPECT_NE(a.password, b.password);
}

TEST_F(ConsoleTest, QemuWithoutGeneratePasswordHasNoPassword) {
  Console c = vncproxy("pve1/qemu/100", "websocket=1");
  EXPECT_TRUE(c.password.empty());
  EXPECT_TRUE(c.ticket.starts_with("PVEVNC:")) << c.ticket;
}

TEST_F(ConsoleTest, LxcRefusesGeneratePassword) {
  MockResponse r =
      vncproxy_reply("pve1/lxc/200", "websocket=1&generate-password=1", ticket_headers(root_));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason, "Parameter verification failed.");
  EXPECT_EQ(JsonDoc(r.body).str("/errors/generate-password"),
            "property is not defined in schema and the schema does not allow additional "
            "properties");
  Console c = vncproxy("pve1/lxc/200", "websocket=1&width=800&height=600");
  EXPECT_TRUE(c.password.empty());
  EXPECT_TRUE(c.ticket.starts_with("PVEVNC:")) << c.ticket;
}

TEST_F(ConsoleTest, StoppedGuestIsNotRunning) {
  MockResponse r = vncproxy_reply("pve1/qemu/101", "websocket=1", ticket_headers(root_));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "VM 101 not running");
  EXPECT_EQ(vncproxy_reply("pve2/lxc/201", "websocket=1", ticket_headers(root_)).reason,
            "CT 201 not running");
  EXPECT_EQ(vncproxy_reply("pve2/qemu/100", "websocket=1", ticket_headers(root_)).reason,
            "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist");
}

TEST_F(ConsoleTest, PortsAreUniqueAmongOpenConsolesAndFreedOnRelease) {
  EXPECT_EQ(vncproxy().port, "5900");
  EXPECT_EQ(vncproxy("pve1/qemu/300").port, "5901");
  EXPECT_EQ(api().open_consoles(), 2u);
  api().release_console(5900);
  EXPECT_EQ(vncproxy("pve1/qemu/301").port, "5900");
}

TEST_F(ConsoleTest, AllPortsTaken) {
  MockOptions o;
  o.ws_window_ms = 1000000;
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  for (int i = 0; i < 100; ++i) vncproxy();
  MockResponse r = vncproxy_reply("pve1/qemu/100", "websocket=1", ticket_headers(root_));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "unable to find free port (5900-5999)");
}

TEST_F(ConsoleTest, AWiderPortRangeServesMoreConsolesAndTheirWebsockets) {
  MockOptions o;
  o.ws_window_ms = 1000000;
  o.console_port_first = 5900;
  o.console_port_last = 6001;
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  Console last;
  for (int i = 0; i < 102; ++i) last = vncproxy();
  EXPECT_EQ(last.port, "6001");
  MockResponse r = vncproxy_reply("pve1/qemu/100", "websocket=1", ticket_headers(root_));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "unable to find free port (5900-6001)");
  // The websocket's port parameter follows the range (a node's schema stops at 5999).
  EXPECT_EQ(refusal(accept("pve1/qemu/100", last)), "(granted)");
}

// --- vncwebsocket ------------------------------------------------------------------------------

TEST_F(ConsoleTest, WebsocketIsAcceptedOnceWithEverythingTheRelayNeeds) {
  Console c = vncproxy();
  auto first = accept("pve1/qemu/100", c);
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(first)) << refusal(first);
  const ConsoleGrant& g = std::get<ConsoleGrant>(first);
  EXPECT_EQ(g.node, "pve1");
  EXPECT_EQ(g.vmid, 100u);
  EXPECT_EQ(g.type, GuestKind::qemu);
  EXPECT_EQ(g.name, "web01");
  EXPECT_EQ(g.console, ConsoleKind::rfb);
  EXPECT_EQ(g.port, 5900);
  EXPECT_EQ(g.vnc_password, c.password);
  EXPECT_EQ(g.vnc_password_expires, kStartTime + 30);
  EXPECT_EQ(g.authid, "root@pam");
  EXPECT_EQ(g.ws_protocol, "binary");
  EXPECT_EQ(g.ws_accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455's example key
  EXPECT_EQ(g.delay_ms, 0u);

  auto second = accept("pve1/qemu/100", c);
  EXPECT_EQ(refusal(second), "500 failed to connect: Connection refused");
  EXPECT_EQ(api().counters().ws_accepted, 1u);
  EXPECT_EQ(api().counters().ws_refused, 1u);
}

TEST_F(ConsoleTest, ReleaseEndsTheVncproxyTask) {
  Console c = vncproxy();
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", c)));
  clock_.advance(60);  // a connected console outlives the window
  EXPECT_EQ(task_state(c.upid), "running");
  EXPECT_EQ(api().open_consoles(), 1u);
  api().release_console(5900);
  EXPECT_EQ(task_state(c.upid), "stopped:OK");
  EXPECT_EQ(api().open_consoles(), 0u);
}

TEST_F(ConsoleTest, ContainerConsoleUsesTheTicketAsVncPassword) {
  Console c = vncproxy("pve1/lxc/200", "websocket=1");
  auto r = accept("pve1/lxc/200", c);
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(r)) << refusal(r);
  EXPECT_EQ(std::get<ConsoleGrant>(r).vnc_password, c.ticket);
  EXPECT_EQ(std::get<ConsoleGrant>(r).type, GuestKind::lxc);
}

TEST_F(ConsoleTest, BenchmarkGuestsNameTheirConsoleKind) {
  Console c = vncproxy("pve1/qemu/301");
  auto r = accept("pve1/qemu/301", c);
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(r)) << refusal(r);
  EXPECT_EQ(std::get<ConsoleGrant>(r).console, ConsoleKind::sink);
}

TEST_F(ConsoleTest, TicketIsBoundToThePort) {
  Console a = vncproxy();
  Console b = vncproxy();  // 5901
  Console swapped{b.port, a.ticket, "", ""};
  EXPECT_EQ(refusal(accept("pve1/qemu/100", swapped)),
            "500 permission denied - invalid PVEVNC ticket");
}

TEST_F(ConsoleTest, TicketIsBoundToTheGuest) {
  Console c = vncproxy("pve1/qemu/100");
  vncproxy("pve1/qemu/300");
  EXPECT_EQ(refusal(accept("pve1/qemu/300", c)), "500 permission denied - invalid PVEVNC ticket");
}

TEST_F(ConsoleTest, TicketIsBoundToTheUserOrToken) {
  Console c = vncproxy();
  Session totp_user = login("alice@pve", kAlicePassword);
  HttpHeaders alice = ticket_headers(totp_user, false);
  // alice may use the console of 300 but not root's ticket for it.
  Console root_300 = vncproxy("pve1/qemu/300");
  EXPECT_EQ(refusal(accept("pve1/qemu/300", root_300, &alice)),
            "500 permission denied - invalid PVEVNC ticket");
  // root's own token is another identity.
  HttpHeaders token = token_headers();
  EXPECT_EQ(refusal(accept("pve1/qemu/100", c, &token)),
            "500 permission denied - invalid PVEVNC ticket");
  // The ticket still works for its owner afterwards: refusals use nothing up.
  EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", c)));
}

TEST_F(ConsoleTest, TokenConsoleEndToEnd) {
  HttpHeaders token = token_headers();
  Console c = vncproxy("pve1/qemu/100", "websocket=1&generate-password=1", &token);
  auto r = accept("pve1/qemu/100", c, &token);
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(r)) << refusal(r);
  EXPECT_EQ(std::get<ConsoleGrant>(r).authid, "root@pam!pvebridge");
}

TEST_F(ConsoleTest, TicketTooOldIsRefused) {
  MockOptions o;
  o.ws_window_ms = 1000000;  // only the ticket's own lifetime matters here
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  Console a = vncproxy();
  Console b = vncproxy();
  clock_.advance(39);
  EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", a)));
  clock_.advance(1);
  EXPECT_EQ(refusal(accept("pve1/qemu/100", b)), "500 permission denied - invalid PVEVNC ticket");
}

TEST_F(ConsoleTest, TicketFromTheFutureIsRefused) {
  Console c = vncproxy();
  clock_.advance(-20);
  EXPECT_EQ(refusal(accept("pve1/qemu/100", c)), "500 permission denied - invalid PVEVNC ticket");
  clock_.advance(1);
  EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", c)));
}

TEST_F(ConsoleTest, ListenerGivesUpAfterTheWindow) {
  Console a = vncproxy();
  Console b = vncproxy();
  clock_.advance(10);
  EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", a)));
  clock_.advance(1);
  EXPECT_EQ(refusal(accept("pve1/qemu/100", b)), "500 failed to connect: Connection refused");
  EXPECT_EQ(task_state(b.upid), "stopped:connection timed out");
  EXPECT_EQ(api().open_consoles(), 1u);  // a's
}

TEST_F(ConsoleTest, WindowIsConfigurable) {
  MockOptions o;
  o.ws_window_ms = 2000;
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  Console c = vncproxy();
  clock_.advance(3);
  EXPECT_EQ(refusal(accept("pve1/qemu/100", c)), "500 failed to connect: Connection refused");
}

TEST_F(ConsoleTest, UserWithoutConsolePrivilegeGets403) {
  Session alice = login("alice@pve", kAlicePassword);
  Console c = vncproxy();
  HttpHeaders h = ticket_headers(alice, false);
  EXPECT_EQ(refusal(accept("pve1/qemu/100", c, &h)),
            "403 Permission check failed (/vms/100, VM.Console)");
}

TEST_F(ConsoleTest, AuthFailureIsADelayed401) {
  Console c = vncproxy();
  HttpHeaders none;
  auto r = accept("pve1/qemu/100", c, &none);
  ASSERT_TRUE(std::holds_alternative<MockResponse>(r));
  EXPECT_EQ(std::get<MockResponse>(r).status, 401);
  EXPECT_EQ(std::get<MockResponse>(r).delay_ms, 3000u);
  EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", c)));
}

TEST_F(ConsoleTest, UpgradeHeadersAreCheckedLikePveproxy) {
  Console c = vncproxy();
  auto with_headers = [&](auto edit) {
    HttpHeaders h = ticket_headers(root_, false);
    add_upgrade_headers(h);
    edit(h);
    return refusal(api().accept_vncwebsocket(
        request("GET",
                "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=" + c.port +
                    "&vncticket=" + url_encode(c.ticket),
                h)));
  };
  EXPECT_EQ(with_headers([](HttpHeaders& h) { h.remove("Sec-WebSocket-Protocol"); }),
            "501 missing websocket-protocol header");
  EXPECT_EQ(with_headers([](HttpHeaders& h) {
              h.remove("Sec-WebSocket-Protocol");
              h.add("Sec-WebSocket-Protocol", "chat");
            }),
            "501 unsupported websocket-protocol protocol 'chat'");
  EXPECT_EQ(with_headers([](HttpHeaders& h) {
              h.remove("Sec-WebSocket-Version");
              h.add("Sec-WebSocket-Version", "8");
            }),
            "501 unsupported websocket-version '8'");
  EXPECT_EQ(with_headers([](HttpHeaders& h) { h.remove("Sec-WebSocket-Key"); }),
            "501 missing websocket-key");
  EXPECT_EQ(with_headers([](HttpHeaders& h) {
              h.remove("Upgrade");
              h.add("Upgrade", "h2c");
            }),
            "501 unable to upgrade to protocol 'h2c'");
  // None of that used the listener up.
  EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", c)));
}

TEST_F(ConsoleTest, Base64ProtocolIsChosenOnlyWithoutBinary) {
  Console a = vncproxy();
  HttpHeaders h = ticket_headers(root_, false);
  add_upgrade_headers(h, "base64");
  auto r = api().accept_vncwebsocket(request(
      "GET",
      "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=" + url_encode(a.ticket),
      h));
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(r)) << refusal(r);
  EXPECT_EQ(std::get<ConsoleGrant>(r).ws_protocol, "base64");

  Console b = vncproxy();
  HttpHeaders both = ticket_headers(root_, false);
  add_upgrade_headers(both, "base64, binary");
  auto r2 = api().accept_vncwebsocket(request("GET",
                                              "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=" +
                                                  b.port + "&vncticket=" + url_encode(b.ticket),
                                              both));
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(r2)) << refusal(r2);
  EXPECT_EQ(std::get<ConsoleGrant>(r2).ws_protocol, "binary");
}

TEST_F(ConsoleTest, PlainGetAnswersThePortAndUsesNothingUp) {
  Console c = vncproxy();
  MockResponse r = api().handle(ws_request("pve1/qemu/100", c.port, c.ticket,
                                           ticket_headers(root_, false), /*upgrade=*/false));
  ASSERT_EQ(r.status, 200) << r.reason;
  EXPECT_EQ(JsonDoc(r.body).str("/data/port"), "5900");
  EXPECT_TRUE(std::holds_alternative<ConsoleGrant>(accept("pve1/qemu/100", c)));
}

TEST_F(ConsoleTest, ParameterErrorsOnTheWebsocket) {
  Console c = vncproxy();
  auto r = api().accept_vncwebsocket(
      ws_request("pve1/qemu/100", "80", c.ticket, ticket_headers(root_, false)));
  ASSERT_TRUE(std::holds_alternative<MockResponse>(r));
  EXPECT_EQ(std::get<MockResponse>(r).status, 400);
  EXPECT_EQ(JsonDoc(std::get<MockResponse>(r).body).str("/errors/port"),
            "value must have a minimum value of 5900");
}

TEST_F(ConsoleTest, RejectTicketFaultRefusesEveryTicket) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("reject_ticket").ok());
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  Console c = vncproxy();
  EXPECT_EQ(refusal(accept("pve1/qemu/100", c)), "500 permission denied - invalid PVEVNC ticket");
}

TEST_F(ConsoleTest, SlowFaultDelaysTheUpgrade) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("slow=40").ok());
  make_api(o);
  root_ = login("root@pam", kRootPassword);
  Console c = vncproxy();
  auto r = accept("pve1/qemu/100", c);
  ASSERT_TRUE(std::holds_alternative<ConsoleGrant>(r)) << refusal(r);
  EXPECT_EQ(std::get<ConsoleGrant>(r).delay_ms, 40u);
}

}  // namespace
}  // namespace pvb::mock::testing
