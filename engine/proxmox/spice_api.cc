// ProxmoxClient's SPICE calls (PROTOCOL.md section 7), apart from the VNC and terminal ones.
#include "engine/proxmox/proxmox_client.h"

namespace pvb {

void ProxmoxClient::spiceproxy(const Guest& g, const std::string& proxy,
                               std::function<void(Result<SpiceTicket>)> done) {
  FormFields form;
  if (!proxy.empty()) form.emplace_back("proxy", proxy);
  log("spiceproxy for " + g.display_name() + " on " + g.node +
      (proxy.empty() ? "" : " (proxy " + proxy + ")"));
  std::string what = "SPICE console for " + g.display_name();
  request("POST", g.api_path() + "/spiceproxy", std::move(form),
          [what, done](Result<RestResponse> r) {
            if (!r.ok()) return done(r.error());
            if (!r->ok()) {
              Error e = error_from_status(*r, what, Errc::console_refused);
              if (e.code() == Errc::http) e = Error(Errc::console_refused, e.detail());
              return done(e);
            }
            done(decode_spiceproxy(r->body));
          });
}

void ProxmoxClient::qemu_vga(const Guest& g, std::function<void(Result<std::string>)> done) {
  request("GET", g.api_path() + "/config", std::nullopt, [g, done](Result<RestResponse> r) {
    if (!r.ok()) return done(r.error());
    if (!r->ok()) return done(error_from_status(*r, "config of " + g.display_name(), Errc::auth));
    done(decode_vga(r->body));
  });
}

}  // namespace pvb
