// MockApi: authentication stages, resources, status, start, resume, tasks, errors and faults.
#include <regex>

#include "tests/mock_pveproxy/test/mock_api_fixture.h"

namespace pvb::mock::testing {
namespace {

class ApiTest : public MockApiTest {
 protected:
  void SetUp() override { root_ = login("root@pam", kRootPassword); }
  MockResponse get(const std::string& path, const Session* s = nullptr) {
    return call("GET", "/api2/json" + path, ticket_headers(s ? *s : root_, false));
  }
  MockResponse post(const std::string& path, const std::string& body = "",
                    const Session* s = nullptr) {
    return call("POST", "/api2/json" + path, ticket_headers(s ? *s : root_), body);
  }
  // The task's status object, polled now.
  std::string task_state(const std::string& node, const std::string& upid) {
    MockResponse r = get("/nodes/" + node + "/tasks/" + url_encode(upid) + "/status");
    EXPECT_EQ(r.status, 200) << r.reason;
    JsonDoc doc(r.body);
    std::string state = doc.str("/data/status").value_or("?");
    if (state == "stopped") state += ":" + doc.str("/data/exitstatus").value_or("?");
    return state;
  }
  // Finds the resource with `id` ("qemu/100") in a cluster/resources reply; -1 when absent.
  static int64_t index_of(const JsonDoc& doc, const std::string& id) {
    for (int64_t i = 0; i < doc.size("/data"); ++i) {
      if (doc.str("/data/" + std::to_string(i) + "/id") == id) return i;
    }
    return -1;
  }

  Session root_;
};

// --- authentication stages ---------------------------------------------------------------------

TEST_F(ApiTest, NoCredentialsIs401NoTicketWithoutBody) {
  MockResponse r = call("GET", "/api2/json/version");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "No ticket");
  EXPECT_EQ(r.delay_ms, 3000u);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(ApiTest, GetNeedsNoCsrf) {
  EXPECT_EQ(call("GET", "/api2/json/version", ticket_headers(root_, false)).status, 200);
}

TEST_F(ApiTest, PostWithTicketNeedsCsrf) {
  MockResponse r =
      call("POST", "/api2/json/nodes/pve1/qemu/101/status/start", ticket_headers(root_, false));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "permission denied - invalid csrf token");
  EXPECT_EQ(r.delay_ms, 3000u);
  Session alice = login("alice@pve", kAlicePassword);
  Session mixed{"root@pam", root_.ticket, alice.csrf};  // someone else's token
  EXPECT_EQ(
      call("POST", "/api2/json/nodes/pve1/qemu/101/status/start", ticket_headers(mixed)).reason,
      "permission denied - invalid csrf token");
  EXPECT_EQ(post("/nodes/pve1/qemu/101/status/start").status, 200);
  EXPECT_EQ(api().guest_status(101)->starting, true);
}

TEST_F(ApiTest, TokenNeedsNoCsrf) {
  EXPECT_EQ(call("GET", "/api2/json/cluster/resources", token_headers()).status, 200);
  MockResponse r = call("POST", "/api2/json/nodes/pve1/qemu/101/status/start", token_headers());
  ASSERT_EQ(r.status, 200) << r.reason;
  EXPECT_NE(JsonDoc(r.body).str("/data").value_or("").find(":qmstart:101:root@pam!pvebridge:"),
            std::string::npos);
}

TEST_F(ApiTest, BadTokenIs401) {
  MockResponse r = call("GET", "/api2/json/version",
                        token_headers("root@pam!pvebridge=00000000-0000-0000-0000-000000000000"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "invalid token value!");
  EXPECT_EQ(r.delay_ms, 3000u);
}

TEST_F(ApiTest, TicketExpiresAfterTwoHours) {
  clock_.advance(7199);
  EXPECT_EQ(get("/version").status, 200);
  clock_.advance(1);
  MockResponse r = get("/version");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "permission denied - invalid PVE ticket");
}

// The expire_auth fault's hook: tickets issued before stop verifying at once, a new login works,
// and every API token is refused as expired.
TEST_F(ApiTest, ExpireAuthInvalidatesEveryTicketAndRevokesEveryToken) {
  ASSERT_EQ(call("GET", "/api2/json/version", token_headers()).status, 200);
  api().expire_auth();
  MockResponse r = get("/version");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "permission denied - invalid PVE ticket");
  MockResponse t = call("GET", "/api2/json/version", token_headers());
  EXPECT_EQ(t.status, 401);
  EXPECT_EQ(t.reason, "token 'pvebridge' access expired");
  Session again = login("root@pam", kRootPassword);
  EXPECT_EQ(get("/version", &again).status, 200);
  EXPECT_EQ(post("/nodes/pve1/qemu/100/vncproxy", "", &again).status, 200);
}

TEST_F(ApiTest, CookieWithoutUrlEncodingStillWorks) {
  HttpHeaders h;
  h.add("Cookie", "foo=bar; PVEAuthCookie=" + root_.ticket);
  EXPECT_EQ(call("GET", "/api2/json/version", h).status, 200);
}

// --- routing and errors ------------------------------------------------------------------------

TEST_F(ApiTest, VersionReportsPveVersion) {
  MockResponse r = get("/version");
  JsonDoc doc(r.body);
  EXPECT_EQ(doc.str("/data/release"), "8.4");
  EXPECT_TRUE(doc.has("/data/version"));
  MockOptions old;
  old.old_pveproxy = true;
  make_api(old);
  root_ = login("root@pam", kRootPassword);
  EXPECT_EQ(JsonDoc(get("/version").body).str("/data/release"), "8.3");
}

TEST_F(ApiTest, UnknownPathIs501NotImplemented) {
  MockResponse r = get("/nodes/x");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.reason, "Method 'GET /nodes/x' not implemented");
  EXPECT_TRUE(JsonDoc(r.body).is_null("/data"));
  EXPECT_EQ(post("/version").reason, "Method 'POST /version' not implemented");
  // Authentication comes first, as in pveproxy.
  EXPECT_EQ(call("GET", "/api2/json/nodes/x").status, 401);
}

TEST_F(ApiTest, OutsideTheApiIs404AndOtherFormatsAre501) {
  EXPECT_EQ(call("GET", "/index.html").status, 404);
  MockResponse r = call("GET", "/api2/extjs/version");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.reason, "no formatter for uri /version, extjs");
}

TEST_F(ApiTest, PathIsPercentDecoded) {
  EXPECT_EQ(get("/nodes/pve1/qemu/%31%30%30/status/current").status, 200);
}

TEST_F(ApiTest, UnknownNodeFailsHostnameLookup) {
  MockResponse r = get("/nodes/pve9/qemu/100/status/current");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason,
            "hostname lookup 'pve9' failed - failed to get address info for: pve9: Name or "
            "service not known");
}

TEST_F(ApiTest, WrongNodeOrTypeIsMissingConfiguration) {
  MockResponse r = get("/nodes/pve2/qemu/100/status/current");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "Configuration file 'nodes/pve2/qemu-server/100.conf' does not exist");
  EXPECT_EQ(get("/nodes/pve1/lxc/100/status/current").reason,
            "Configuration file 'nodes/pve1/lxc/100.conf' does not exist");
  EXPECT_EQ(get("/nodes/pve1/qemu/555/status/current").reason,
            "Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist");
}

TEST_F(ApiTest, BadVmidIsAParameterError) {
  MockResponse r = get("/nodes/pve1/qemu/abc/status/current");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(JsonDoc(r.body).str("/errors/vmid"), "type check ('integer') failed - got 'abc'");
  EXPECT_EQ(JsonDoc(get("/nodes/pve1/qemu/99/status/current").body).str("/errors/vmid"),
            "value must have a minimum value of 100");
}

TEST_F(ApiTest, UnknownAndDuplicateParametersAreRefused) {
  MockResponse extra = post("/nodes/pve1/qemu/101/status/start", "bogus=1");
  EXPECT_EQ(extra.status, 400);
  EXPECT_TRUE(JsonDoc(extra.body).has("/errors/bogus"));
  MockResponse dup = post("/nodes/pve1/qemu/101/status/start", "vmid=101");
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(JsonDoc(dup.body).str("/errors/vmid"), "duplicate parameter (already defined in URI)");
}

TEST_F(ApiTest, ParseRefusesBadEscapesAndBadJson) {
  MockResponse query = call("GET", "/api2/json/cluster/resources?type=%zz");
  EXPECT_EQ(query.status, 400);
  MockResponse form = call("POST", "/api2/json/access/ticket", {}, "username=%4");
  EXPECT_EQ(form.status, 400);
  MockResponse json = call("POST", "/api2/json/access/ticket", {}, "{not json", "application/json");
  EXPECT_EQ(json.status, 501);
  EXPECT_TRUE(json.reason.starts_with("malformed JSON string")) << json.reason;
  MockResponse array = call("POST", "/api2/json/access/ticket", {}, "[1]", "application/json");
  EXPECT_EQ(array.status, 501);
}

TEST_F(ApiTest, ParseMergesQueryOverBodyAndDropsCacheBuster) {
  HttpHeaders h;
  h.add("Content-Type", "application/json; charset=UTF-8");
  auto parsed = api().parse("POST", "/api2/json/nodes/pve1/qemu/100/vncproxy?websocket=1&_dc=123",
                            h, R"({"websocket":false,"generate-password":true,"width":800})");
  ASSERT_TRUE(std::holds_alternative<MockRequest>(parsed));
  const MockRequest& req = std::get<MockRequest>(parsed);
  EXPECT_EQ(req.path, "/nodes/pve1/qemu/100/vncproxy");
  EXPECT_EQ(*find_field(req.params, "websocket"), "1");
  EXPECT_EQ(*find_field(req.params, "generate-password"), "1");
  EXPECT_EQ(*find_field(req.params, "width"), "800");
  EXPECT_EQ(find_field(req.params, "_dc"), nullptr);
  EXPECT_EQ(*find_field(req.query, "_dc"), "123");
}

TEST_F(ApiTest, GetBodyIsIgnored) {
  auto parsed = api().parse("GET", "/api2/json/version", {}, "junk=%zz");
  ASSERT_TRUE(std::holds_alternative<MockRequest>(parsed));
  EXPECT_TRUE(std::get<MockRequest>(parsed).params.empty());
}

// --- resources ---------------------------------------------------------------------------------

TEST_F(ApiTest, ResourcesListsGuestsWithProxmoxFields) {
  MockResponse r = get("/cluster/resources?type=vm");
  ASSERT_EQ(r.status, 200);
  JsonDoc doc(r.body);
  EXPECT_EQ(doc.size("/data"), static_cast<int64_t>(api().inventory().guests.size()));

  int64_t web = index_of(doc, "qemu/100");
  ASSERT_GE(web, 0);
  std::string at = "/data/" + std::to_string(web);
  EXPECT_EQ(doc.num(at + "/vmid"), 100);
  EXPECT_EQ(doc.str(at + "/type"), "qemu");
  EXPECT_EQ(doc.str(at + "/node"), "pve1");
  EXPECT_EQ(doc.str(at + "/status"), "running");
  EXPECT_EQ(doc.str(at + "/name"), "web01");
  EXPECT_EQ(doc.str(at + "/tags"), "prod;web");
  EXPECT_EQ(doc.str(at + "/pool"), "production");
  EXPECT_FALSE(doc.has(at + "/template"));  // only present when 1

  std::string tpl = "/data/" + std::to_string(index_of(doc, "qemu/9000"));
  EXPECT_EQ(doc.num(tpl + "/template"), 1);
  std::string unnamed = "/data/" + std::to_string(index_of(doc, "qemu/104"));
  EXPECT_FALSE(doc.has(unnamed + "/name"));
  EXPECT_EQ(doc.str(unnamed + "/lock"), "backup");
  EXPECT_EQ(doc.str("/data/" + std::to_string(index_of(doc, "qemu/103")) + "/name"), "数据库");
  EXPECT_EQ(doc.str("/data/" + std::to_string(index_of(doc, "lxc/200")) + "/type"), "lxc");
  EXPECT_EQ(index_of(doc, "node/pve1"), -1);  // type=vm: guests only
}

TEST_F(ApiTest, ResourcesWithoutTypeIncludesNodes) {
  JsonDoc doc(get("/cluster/resources").body);
  EXPECT_GE(index_of(doc, "node/pve1"), 0);
  EXPECT_GE(index_of(doc, "qemu/100"), 0);
  JsonDoc nodes(get("/cluster/resources?type=node").body);
  EXPECT_EQ(nodes.size("/data"), 3);
  JsonDoc storage(get("/cluster/resources?type=storage").body);
  EXPECT_EQ(storage.size("/data"), 0);
  EXPECT_EQ(get("/cluster/resources?type=disk").status, 400);
}

TEST_F(ApiTest, ResourcesAreFilteredPerUser) {
  Session alice = login("alice@pve", kAlicePassword);
  JsonDoc doc(get("/cluster/resources?type=vm", &alice).body);
  EXPECT_GE(index_of(doc, "qemu/100"), 0);   // VM.Audit without VM.Console: listed
  EXPECT_EQ(index_of(doc, "qemu/102"), -1);  // no privileges at all: hidden
  EXPECT_EQ(doc.size("/data"), static_cast<int64_t>(api().inventory().guests.size()) - 1);
  JsonDoc no_nodes(get("/cluster/resources", &alice).body);
  EXPECT_EQ(index_of(no_nodes, "node/pve1"), -1);  // no Sys.Audit
}

TEST_F(ApiTest, PrivilegeSeparatedTokenSeesOnlyItsAcl) {
  Inventory inv = Inventory::builtin_default();
  inv.users[0].tokens[0].privsep = true;
  inv.users[0].tokens[0].acl = {{"/vms/100", {"VM.Audit"}}};
  make_api({}, inv);
  JsonDoc doc(call("GET", "/api2/json/cluster/resources?type=vm", token_headers()).body);
  EXPECT_EQ(doc.size("/data"), 1);
  EXPECT_GE(index_of(doc, "qemu/100"), 0);
}

// --- status, start, resume, tasks --------------------------------------------------------------

TEST_F(ApiTest, StatusCurrentReportsStateAndQmpstatus) {
  JsonDoc running(get("/nodes/pve1/qemu/100/status/current").body);
  EXPECT_EQ(running.str("/data/status"), "running");
  EXPECT_EQ(running.str("/data/qmpstatus"), "running");
  EXPECT_EQ(running.str("/data/name"), "web01");
  JsonDoc paused(get("/nodes/pve1/qemu/105/status/current").body);
  EXPECT_EQ(paused.str("/data/status"), "running");
  EXPECT_EQ(paused.str("/data/qmpstatus"), "paused");
  JsonDoc stopped(get("/nodes/pve1/qemu/101/status/current").body);
  EXPECT_EQ(stopped.str("/data/status"), "stopped");
  JsonDoc ct(get("/nodes/pve2/lxc/201/status/current").body);
  EXPECT_EQ(ct.str("/data/status"), "stopped");
  EXPECT_EQ(ct.str("/data/type"), "lxc");
  EXPECT_FALSE(ct.has("/data/qmpstatus"));
}

TEST_F(ApiTest, StartIsATaskAndTheGuestRunsAfterTheDelay) {
  MockOptions o;
  o.start_delay_ms = 5000;
  make_api(o);
  root_ = login("root@pam", kRootPassword);

  MockResponse r = post("/nodes/pve1/qemu/101/status/start");
  ASSERT_EQ(r.status, 200) << r.reason;
  std::string upid = JsonDoc(r.body).str("/data").value_or("");
  EXPECT_TRUE(std::regex_match(
      upid, std::regex(R"(UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:6553F100:qmstart:101:root@pam:)")))
      << upid;

  EXPECT_EQ(JsonDoc(get("/nodes/pve1/qemu/101/status/current").body).str("/data/status"),
            "stopped");
  EXPECT_EQ(task_state("pve1", upid), "running");
  clock_.advance(4);
  EXPECT_EQ(task_state("pve1", upid), "running");
  EXPECT_EQ(api().guest_status(101)->status, "stopped");
  clock_.advance(1);
  EXPECT_EQ(task_state("pve1", upid), "stopped:OK");
  EXPECT_EQ(JsonDoc(get("/nodes/pve1/qemu/101/status/current").body).str("/data/status"),
            "running");
  EXPECT_EQ(api().counters().starts, 1u);

  JsonDoc task(get("/nodes/pve1/tasks/" + url_encode(upid) + "/status").body);
  EXPECT_EQ(task.str("/data/type"), "qmstart");
  EXPECT_EQ(task.str("/data/id"), "101");
  EXPECT_EQ(task.str("/data/user"), "root@pam");
  EXPECT_EQ(task.num("/data/starttime"), kStartTime);
}

TEST_F(ApiTest, StartFailuresEndTheTaskWithTheError) {
  auto start_task_result = [&](const std::string& path) {
    MockResponse r = post(path);
    EXPECT_EQ(r.status, 200) << r.reason;
    std::string upid = JsonDoc(r.body).str("/data").value_or("");
    return task_state(upid.substr(5, 4), upid);
  };
  EXPECT_EQ(start_task_result("/nodes/pve1/qemu/100/status/start"),
            "stopped:VM 100 already running");
  EXPECT_EQ(start_task_result("/nodes/pve3/qemu/104/status/start"),
            "stopped:VM 104 is locked (backup)");
  EXPECT_EQ(start_task_result("/nodes/pve1/qemu/9000/status/start"),
            "stopped:you can't start a vm if it's a template");
  EXPECT_EQ(start_task_result("/nodes/pve3/qemu/104/status/start"),
            "stopped:VM 104 is locked (backup)");
  // root may skip the lock.
  MockResponse skip = post("/nodes/pve3/qemu/104/status/start", "skiplock=1");
  ASSERT_EQ(skip.status, 200);
  EXPECT_TRUE(api().guest_status(104)->starting);
}

TEST_F(ApiTest, ContainerAlreadyRunningFailsBeforeTheTask) {
  MockResponse r = post("/nodes/pve1/lxc/200/status/start");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.reason, "CT 200 already running");
  MockResponse ok = post("/nodes/pve2/lxc/201/status/start");
  ASSERT_EQ(ok.status, 200);
  EXPECT_NE(JsonDoc(ok.body).str("/data").value_or("").find(":vzstart:201:"), std::string::npos);
}

TEST_F(ApiTest, OnlyRootMaySkipLocks) {
  Session alice = login("alice@pve", kAlicePassword);
  MockResponse r = post("/nodes/pve3/qemu/104/status/start", "skiplock=1", &alice);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(JsonDoc(r.body).str("/errors/skiplock"), "Only root may use this option.");
}

TEST_F(ApiTest, ResumeUnpausesAndRefusesStoppedGuests) {
  MockResponse r = post("/nodes/pve1/qemu/105/status/resume");
  ASSERT_EQ(r.status, 200) << r.reason;
  std::string upid = JsonDoc(r.body).str("/data").value_or("");
  EXPECT_NE(upid.find(":qmresume:105:"), std::string::npos);
  EXPECT_EQ(task_state("pve1", upid), "stopped:OK");
  EXPECT_EQ(api().guest_status(105)->qmpstatus, "running");
  MockResponse stopped = post("/nodes/pve1/qemu/101/status/resume");
  EXPECT_EQ(stopped.status, 500);
  EXPECT_EQ(stopped.reason, "VM 101 not running");
}

TEST_F(ApiTest, TaskStatusErrors) {
  MockResponse garbage = get("/nodes/pve1/tasks/nonsense/status");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(JsonDoc(garbage.body).str("/errors/upid"), "unable to parse worker upid 'nonsense'");
  std::string unknown = "UPID:pve1:00001234:00005678:6553F100:qmstart:100:root@pam:";
  EXPECT_EQ(
      JsonDoc(get("/nodes/pve1/tasks/" + url_encode(unknown) + "/status").body).str("/errors/upid"),
      "no such task");
  // A task is known only on its node.
  std::string upid = JsonDoc(post("/nodes/pve1/qemu/101/status/start").body).str("/data").value();
  EXPECT_EQ(get("/nodes/pve2/tasks/" + url_encode(upid) + "/status").status, 400);
  // Someone else's task needs Sys.Audit on the node.
  Session alice = login("alice@pve", kAlicePassword);
  MockResponse other = get("/nodes/pve1/tasks/" + url_encode(upid) + "/status", &alice);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.reason, "Permission check failed (/nodes/pve1, Sys.Audit)");
}

TEST_F(ApiTest, TokenTaskReportsUserAndTokenid) {
  MockResponse r = call("POST", "/api2/json/nodes/pve2/lxc/201/status/start", token_headers());
  std::string upid = JsonDoc(r.body).str("/data").value_or("");
  MockResponse t =
      call("GET", "/api2/json/nodes/pve2/tasks/" + url_encode(upid) + "/status", token_headers());
  JsonDoc doc(t.body);
  EXPECT_EQ(doc.str("/data/user"), "root@pam");
  EXPECT_EQ(doc.str("/data/tokenid"), "pvebridge");
}

TEST_F(ApiTest, PermissionErrorsAre403) {
  Session alice = login("alice@pve", kAlicePassword);
  MockResponse r = post("/nodes/pve1/qemu/100/vncproxy", "websocket=1", &alice);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.reason, "Permission check failed (/vms/100, VM.Console)");
  EXPECT_EQ(r.delay_ms, 0u);
  EXPECT_EQ(get("/nodes/pve2/qemu/102/status/current", &alice).reason,
            "Permission check failed (/vms/102, VM.Audit)");
  EXPECT_EQ(post("/nodes/pve1/qemu/101/status/start", "", &alice).status, 200);
}

// --- faults ------------------------------------------------------------------------------------

TEST_F(ApiTest, MalformedJsonFaultBreaksMatchingReplies) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("malformed_json=/cluster/resources").ok());
  make_api(o);
  root_ = login("root@pam", kRootPassword);  // /access/ticket does not match: fine
  ASSERT_FALSE(root_.ticket.empty());
  MockResponse r = get("/cluster/resources");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
  EXPECT_FALSE(JsonDoc(r.body).valid());
  EXPECT_TRUE(JsonDoc(get("/version").body).valid());
}

TEST_F(ApiTest, SlowFaultDelaysEveryReply) {
  MockOptions o;
  ASSERT_TRUE(o.add_fault("slow=250").ok());
  make_api(o);
  EXPECT_EQ(login_reply("root@pam", kRootPassword).delay_ms, 250u);
  EXPECT_EQ(call("GET", "/api2/json/version").delay_ms, 3250u);  // 401 delay + slow
  EXPECT_EQ(call("GET", "/index.html").delay_ms, 250u);          // parse errors too
}

TEST_F(ApiTest, OversizedHeaderFaultFlagsEveryReply) {
  EXPECT_FALSE(get("/version").oversized_header);
  MockOptions o;
  ASSERT_TRUE(o.add_fault("oversized_header").ok());
  make_api(o);
  EXPECT_TRUE(login_reply("root@pam", kRootPassword).oversized_header);
  EXPECT_TRUE(call("GET", "/api2/json/version").oversized_header);
}

TEST_F(ApiTest, CountersCountEndpoints) {
  get("/version");
  get("/version");
  get("/nodes/x");
  MockCounters c = api().counters();
  EXPECT_EQ(c.by_endpoint["GET version"], 2u);
  EXPECT_EQ(c.by_endpoint["GET unknown"], 1u);
  EXPECT_EQ(c.by_endpoint["POST access/ticket"], 1u);
  EXPECT_EQ(c.requests, 4u);
}

}  // namespace
}  // namespace pvb::mock::testing
