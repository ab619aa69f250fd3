#include "engine/proxmox/replies.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

TEST(Replies, LoginTicketAndCsrf) {
  auto r = decode_login(
      R"({"data":{"username":"root@pam","ticket":"PVE:root@pam:6745ABCD::c2ln","CSRFPreventionToken":"6745ABCD:tok","cap":{}}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->ticket, "PVE:root@pam:6745ABCD::c2ln");
  EXPECT_EQ(r->csrf_token, "6745ABCD:tok");
  EXPECT_FALSE(r->need_tfa);
}

TEST(Replies, LoginNeedsTfa) {
  auto r = decode_login(
      R"({"data":{"username":"totp@pve","ticket":"PVE:!tfa!%7B%22totp%22%3Atrue%7D:6745ABCD::sig","NeedTFA":1}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->need_tfa);
}

TEST(Replies, ResourcesLenientTypes) {
  auto r = decode_resources(R"({"data":[
    {"id":"qemu/100","vmid":100,"type":"qemu","node":"pve1","status":"running","name":"web01","tags":"prod;web"},
    {"id":"lxc/200","vmid":"200","type":"lxc","node":"pve2","status":"stopped"},
    {"id":"qemu/9000","vmid":9000,"type":"qemu","node":"pve1","status":"stopped","template":1},
    {"id":"node/pve1","type":"node","node":"pve1"},
    {"type":"qemu","node":"pve1"},
    "junk"
  ]})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].name, "web01");
  EXPECT_EQ((*r)[0].tags, "prod;web");
  EXPECT_EQ((*r)[1].vmid, 200u);
  EXPECT_EQ((*r)[1].type, GuestType::lxc);
  EXPECT_EQ((*r)[1].name, "");
  EXPECT_TRUE((*r)[2].is_template);
}

TEST(Replies, VncproxyPortAsStringAndPassword) {
  auto r = decode_vncproxy(
      R"({"data":{"port":"5901","ticket":"Ab3dEf7h:PVEVNC:6745ABCD::sig","password":"Ab3dEf7h","user":"root@pam","upid":"UPID:pve1:...","cert":"-----BEGIN"}})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->port, 5901);
  EXPECT_EQ(r->vnc_password(), "Ab3dEf7h");
}

TEST(Replies, VncproxyWithoutPasswordUsesTicket) {
  auto r = decode_vncproxy(R"({"data":{"port":5900,"ticket":"PVEVNC:6745ABCD::sig"}})");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->password.has_value());
  EXPECT_EQ(r->vnc_password(), "PVEVNC:6745ABCD::sig");
}

TEST(Replies, VncproxyRejectsBadPorts) {
  for (auto body :
       {R"({"data":{"port":"59x","ticket":"t"}})", R"({"data":{"port":70000,"ticket":"t"}})",
        R"({"data":{"port":0,"ticket":"t"}})", R"({"data":{"ticket":"t"}})",
        R"({"data":{"port":5900}})", R"({"data":null})", R"(not json)", R"([1,2])"}) {
    auto r = decode_vncproxy(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code(), Errc::protocol);
    EXPECT_NE(r.error().detail().find("vncproxy reply"), std::string::npos) << r.error().detail();
  }
}

TEST(Replies, StatusTaskUpid) {
  auto s =
      decode_guest_status(R"({"data":{"status":"running","qmpstatus":"paused","name":"web01"}})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->qmpstatus, "paused");
  auto u = decode_upid(R"({"data":"UPID:pve1:0000ABCD:0001E240:6745ABCD:qmstart:100:root@pam:"})");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(decode_upid(R"({"data":"nope"})").ok());
  auto t1 = decode_task_status(R"({"data":{"status":"running"}})");
  ASSERT_TRUE(t1.ok());
  EXPECT_FALSE(t1->succeeded());
  auto t2 = decode_task_status(R"({"data":{"status":"stopped","exitstatus":"WARNINGS: 1"}})");
  ASSERT_TRUE(t2.ok());
  EXPECT_TRUE(t2->succeeded());
  auto t3 =
      decode_task_status(R"({"data":{"status":"stopped","exitstatus":"start failed: boom"}})");
  ASSERT_TRUE(t3.ok());
  EXPECT_FALSE(t3->succeeded());
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

TEST(Replies, Termproxy) {
  auto t = decode_termproxy(
      R"({"data":{"port":"5901","ticket":"PVEVNC:AB::cd","user":"root@pam!tok","upid":"UPID:x"}})");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->port, 5901);
  EXPECT_EQ(t->ticket, "PVEVNC:AB::cd");
  EXPECT_EQ(t->user, "root@pam!tok");
  EXPECT_EQ(t->upid, "UPID:x");
  auto bad = decode_termproxy(R"({"data":{"port":"0","ticket":"x"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::protocol);
  EXPECT_NE(bad.error().message().find("termproxy reply"), std::string::npos);
}

TEST(Replies, SerialPortsOfAQemuConfig) {
  auto p = decode_serial_ports(
      R"({"data":{"serial3":"socket","name":"x","serial0":"/dev/ttyS0","serialx":"no","serial4":"no"}})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<int>{0, 3}));
  auto none = decode_serial_ports(R"({"data":{"name":"x"}})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(decode_serial_ports(R"({"data":[]})").ok());
}

}  // namespace
}  // namespace pvb
