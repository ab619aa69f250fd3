#include "engine/proxmox/spice_reply.h"

#include <gtest/gtest.h>

#include <map>

namespace pvb {
namespace {

// As qemu-server answers (PROTOCOL.md section 7): numbers may come as strings or numbers.
constexpr char kReply[] =
    R"({"data":{"type":"spice","title":"VM 100 - web01","host":"pvespiceproxy:6745abcd:100:pve1:61000::0123456789abcdef0123456789abcdef01234567",)"
    R"("proxy":"http://pve1.example.com:3128","tls-port":"61000","password":"0f0e0d0c0b0a",)"
    R"("ca":"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n",)"
    R"("host-subject":"OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1.example.com",)"
    R"("delete-this-file":1,"secure-attention":"Ctrl+Alt+Ins","toggle-fullscreen":"Shift+F11",)"
    R"("release-cursor":"Ctrl+Alt+R","fullscreen":true,"ignored":{"nested":1}}})";

TEST(SpiceReply, DecodesEveryKey) {
  auto t = decode_spiceproxy(kReply);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->tls_port, 61000);
  EXPECT_EQ(t->password, "0f0e0d0c0b0a");
  EXPECT_EQ(t->proxy, "http://pve1.example.com:3128");
  EXPECT_EQ(t->connect_target(),
            "pvespiceproxy:6745abcd:100:pve1:61000::0123456789abcdef0123456789abcdef01234567:"
            "61000");
  std::map<std::string, std::string> keys(t->keys.begin(), t->keys.end());
  EXPECT_EQ(keys["delete-this-file"], "1");
  EXPECT_EQ(keys["fullscreen"], "1");
  EXPECT_EQ(keys["ca"], "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n");
  EXPECT_EQ(keys.count("ignored"), 0u);
  t->wipe_secrets();
  EXPECT_TRUE(t->password.empty() || t->password.find_first_not_of('\0') == std::string::npos);
}

TEST(SpiceReply, RefusesWhatCouldNotBeAConsole) {
  for (const char* bad : {
           R"({"data":{"type":"vnc","host":"h","tls-port":61000,"password":"p"}})",
           R"({"data":{"type":"spice","tls-port":61000,"password":"p"}})",
           R"({"data":{"type":"spice","host":"h","tls-port":0,"password":"p"}})",
           R"({"data":{"type":"spice","host":"h","tls-port":70000,"password":"p"}})",
           R"({"data":{"type":"spice","host":"h","tls-port":61000}})",
           R"({"data":{"type":"spice","host":"a b","tls-port":61000,"password":"p"}})",
           R"({"data":{"type":"spice","host":"h\r\nX: y","tls-port":61000,"password":"p"}})",
           R"({"data":null})",
           R"({"data":[]})",
           "not json",
       }) {
    auto t = decode_spiceproxy(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_EQ(t.error().code(), Errc::protocol) << bad;
    }
  }
}

TEST(SpiceReply, SpiceDisplays) {
  EXPECT_EQ(vga_type("qxl"), "qxl");
  EXPECT_EQ(vga_type("qxl2,memory=32"), "qxl2");
  EXPECT_EQ(vga_type("memory=32,type=virtio"), "virtio");
  EXPECT_EQ(vga_type(""), "");
  for (const char* yes : {"qxl", "qxl4", "virtio", "virtio-gl", "type=qxl,memory=16"}) {
    EXPECT_TRUE(vga_is_spice(yes)) << yes;
  }
  for (const char* no : {"", "std", "cirrus", "vmware", "serial0", "none", "memory=16"}) {
    EXPECT_FALSE(vga_is_spice(no)) << no;
  }
  auto v = decode_vga(R"({"data":{"cores":2,"vga":"qxl,memory=32"}})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "qxl,memory=32");
  auto none = decode_vga(R"({"data":{"cores":2}})");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
}

TEST(SpiceReply, ProxyUrls) {
  struct Case {
    const char* url;
    const char* host;
    uint16_t port;
  } cases[] = {{"http://pve1:3128", "pve1", 3128},
               {"http://192.0.2.10:3128/", "192.0.2.10", 3128},
               {"http://pve1.example.com", "pve1.example.com", 3128},
               {"http://[fd00::1]:3128", "fd00::1", 3128},
               {"http://[fd00::1]", "fd00::1", 3128},
               {"http://pve1:8080", "pve1", 8080}};
  for (const Case& c : cases) {
    auto h = parse_spice_proxy_url(c.url);
    ASSERT_TRUE(h.ok()) << c.url;
    EXPECT_EQ(h->host, c.host) << c.url;
    EXPECT_EQ(h->port, c.port) << c.url;
  }
  for (const char* bad : {"https://pve1:3128", "pve1:3128", "http://", "http://pve1:0",
                          "http://pve1:99999", "http://user@pve1:3128", "http://[fd00::1"}) {
    EXPECT_FALSE(parse_spice_proxy_url(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace pvb
