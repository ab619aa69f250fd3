#include "engine/console/spice_vv.h"

#include <glib.h>
#include <gtest/gtest.h>

namespace pvb {
namespace {

// GLib's own parser is the oracle: what remote-viewer will read.
std::string keyfile_get(const std::string& text, const char* key) {
  GKeyFile* kf = g_key_file_new();
  GError* err = nullptr;
  std::string out = "<missing>";
  if (g_key_file_load_from_data(kf, text.data(), text.size(), G_KEY_FILE_NONE, &err)) {
    gchar* v = g_key_file_get_string(kf, "virt-viewer", key, nullptr);
    if (v) {
      out = v;
      g_free(v);
    }
  } else {
    out = std::string("<parse error: ") + err->message + ">";
    g_error_free(err);
  }
  g_key_file_free(kf);
  return out;
}

SpiceTicket ticket() {
  SpiceTicket t;
  t.keys = {{"type", "spice"},
            {"title", "VM 100 - web01"},
            {"host", "pvespiceproxy:6745abcd:100:pve1:61000::0123:61000"},
            {"proxy", "http://pve1.internal:3128"},
            {"tls-port", "61000"},
            {"password", "secret"},
            // As Proxmox writes it: "\n" as two characters.
            {"ca", "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"},
            {"host-subject", "OU=PVE Cluster Node,O=Proxmox Virtual Environment,CN=pve1"},
            {"delete-this-file", "1"},
            {"release-cursor", "Ctrl+Alt+R"},
            {"bad key=x", "dropped"}};
  t.host = t.keys[2].second;
  t.tls_port = 61000;
  t.password = "secret";
  return t;
}

TEST(SpiceVv, ProxmoxKeysWithOurProxy) {
  SpiceVvSpec spec;
  spec.proxy = "http://192.0.2.10:3128";
  std::string text = build_spice_vv_file(ticket(), spec);
  EXPECT_EQ(keyfile_get(text, "type"), "spice");
  EXPECT_EQ(keyfile_get(text, "proxy"), "http://192.0.2.10:3128");
  EXPECT_EQ(keyfile_get(text, "host"), "pvespiceproxy:6745abcd:100:pve1:61000::0123:61000");
  EXPECT_EQ(keyfile_get(text, "tls-port"), "61000");
  EXPECT_EQ(keyfile_get(text, "password"), "secret");
  // GLib turns Proxmox's "\n" into the PEM's line breaks.
  EXPECT_EQ(keyfile_get(text, "ca"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(keyfile_get(text, "title"), "VM 100 - web01");
  EXPECT_EQ(keyfile_get(text, "release-cursor"), "Ctrl+Alt+R");
  EXPECT_EQ(keyfile_get(text, "delete-this-file"), "1");
  EXPECT_EQ(keyfile_get(text, "fullscreen"), "<missing>");
  EXPECT_EQ(text.find("pve1.internal"), std::string::npos) << "Proxmox's proxy must not survive";
  EXPECT_EQ(text.find("dropped"), std::string::npos);
  // One of each key.
  EXPECT_EQ(text.find("proxy="), text.rfind("proxy="));
  EXPECT_EQ(text.find("\ntype="), text.rfind("\ntype="));
}

TEST(SpiceVv, TitleAndFullscreenOfTheUser) {
  SpiceVvSpec spec;
  spec.proxy = "http://[::1]:40000";
  spec.title = " web01\\ \"prod\"\n";
  spec.fullscreen = true;
  std::string text = build_spice_vv_file(ticket(), spec);
  EXPECT_EQ(keyfile_get(text, "title"), " web01\\ \"prod\"\n");
  EXPECT_EQ(keyfile_get(text, "fullscreen"), "1");
  EXPECT_EQ(keyfile_get(text, "proxy"), "http://[::1]:40000");
}

TEST(SpiceVv, ValuesAsProxmoxSentThem) {
  EXPECT_EQ(keyfile_value_as_sent("a\\nb"), "a\\nb");       // already escaped: kept
  EXPECT_EQ(keyfile_value_as_sent("a\nb\r\x01"), "a\\nb");  // raw breaks escaped, controls gone
  EXPECT_EQ(keyfile_value_as_sent("ends\\"), "ends");       // a lone backslash GLib would refuse
  EXPECT_EQ(keyfile_value_as_sent("ends\\\\"), "ends\\\\");
  EXPECT_EQ(keyfile_value_as_sent(" lead"), "\\slead");
  // Whatever Proxmox sends, GLib reads the file.
  SpiceTicket t = ticket();
  t.keys.emplace_back("title2", std::string("x\\") + "\xff" + "\n\\q");
  std::string text = build_spice_vv_file(t, SpiceVvSpec{"http://h:1", "", false, true});
  EXPECT_EQ(keyfile_get(text, "type"), "spice") << text;
}

}  // namespace
}  // namespace pvb
