// SPICE's parsers (issue 16): spiceproxy's reply into the .vv pvebridge writes, and the CONNECT
// head the relay reads from a local client, on the same input.
//
// Invariants:
// - decode_spiceproxy: failures are Errc::protocol and one line; a decoded ticket has a tls-port
//   in 1..65535 and a host that cannot break a request line (no blank, CR, LF);
// - the .vv built from it loads in GLib (remote-viewer's parser) with exactly one group,
//   [virt-viewer], type=spice, and exactly one proxy, ours, whatever Proxmox's keys said;
// - parse_connect_head: failures are protocol or too_large; a complete head is no longer than
//   the input, ends in a blank line, and its target has no blank or control character.
#include <glib.h>

#include <cstdint>
#include <string>

#include "engine/console/spice_relay.h"
#include "engine/console/spice_vv.h"
#include "engine/proxmox/spice_reply.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

void check_vv(const SpiceTicket& t) {
  SpiceVvSpec spec;
  spec.proxy = "http://127.0.0.1:40000";
  std::string text = build_spice_vv_file(t, spec);
  GKeyFile* kf = g_key_file_new();
  GError* err = nullptr;
  bool loaded = g_key_file_load_from_data(kf, text.data(), text.size(), G_KEY_FILE_NONE, &err);
  std::string why = err ? err->message : "";
  if (err) g_error_free(err);
  FUZZ_CHECK(loaded, "GLib refused the .vv: " + why + ": " + printable(text));
  gsize groups = 0;
  gchar** names = g_key_file_get_groups(kf, &groups);
  FUZZ_CHECK(groups == 1 && std::string(names[0]) == "virt-viewer",
             "groups in the .vv: " + printable(text));
  g_strfreev(names);
  gchar* type = g_key_file_get_string(kf, "virt-viewer", "type", nullptr);
  gchar* proxy = g_key_file_get_string(kf, "virt-viewer", "proxy", nullptr);
  FUZZ_CHECK(type && std::string(type) == "spice", "type: " + printable(text));
  FUZZ_CHECK(proxy && std::string(proxy) == spec.proxy, "proxy: " + printable(text));
  g_free(type);
  g_free(proxy);
  g_key_file_free(kf);
  FUZZ_CHECK(text.find("\nproxy=") == text.rfind("\nproxy="), "two proxies: " + printable(text));
}

void check_connect_head(std::string_view input) {
  auto h = parse_connect_head(input);
  if (!h.ok()) {
    Errc c = h.error().code();
    FUZZ_CHECK(c == Errc::protocol || c == Errc::too_large,
               std::string("CONNECT head failed with ") + errc_name(c));
    FUZZ_CHECK(is_one_line(h.error().message()), "multi-line error");
    return;
  }
  if (!*h) return;
  const ConnectHead& head = **h;
  FUZZ_CHECK(head.length <= input.size(), "head longer than the input");
  FUZZ_CHECK(input.substr(0, head.length).ends_with("\n\n") ||
                 input.substr(0, head.length).ends_with("\r\n\r\n"),
             "head does not end in a blank line");
  for (char c : head.target) {
    FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f,
               "target holds a blank or control character: " + printable(head.target));
  }
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  std::string_view input(reinterpret_cast<const char*>(bytes), size);
  auto t = decode_spiceproxy(input);
  if (t.ok()) {
    FUZZ_CHECK(t->tls_port >= 1, "tls-port 0");
    FUZZ_CHECK(t->host.find_first_of(" \t\r\n") == std::string::npos,
               "host breaks a request line: " + fuzz::printable(t->host));
    fuzz::check_vv(*t);
  } else {
    FUZZ_CHECK(t.error().code() == Errc::protocol,
               std::string("spiceproxy reply failed with ") + errc_name(t.error().code()));
    FUZZ_CHECK(fuzz::is_one_line(t.error().message()), "multi-line error");
  }
  (void)parse_spice_proxy_url(input);
  (void)vga_is_spice(input);
  fuzz::check_connect_head(input);
  return 0;
}
