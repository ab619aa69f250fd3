#include "engine/proxmox/guest_readiness.h"

#include <utility>

namespace pvb {

void make_guest_ready(ProxmoxClient& api, const Guest& guest, bool start_guest,
                      std::weak_ptr<char> alive, GuestReadyHooks hooks,
                      std::function<void(Result<GuestReadiness>)> done) {
  if (guest.status == "running" && !start_guest) return done(GuestReadiness::running);
  auto still = [alive, wanted = hooks.wanted] { return !alive.expired() && (!wanted || wanted()); };
  api.guest_status(guest, [&api, guest, start_guest, still, hooks = std::move(hooks),
                           done = std::move(done)](Result<GuestStatus> s) mutable {
    if (!still()) return;
    if (!s.ok()) return done(s.error());
    const bool paused = s->status == "running" && s->qmpstatus == "paused";
    if (s->status == "running" && !paused) return done(GuestReadiness::running);
    if (paused && !start_guest) return done(GuestReadiness::paused);
    if (!start_guest) {
      return done(Error(Errc::not_running, "guest " + guest.display_name() + " on " + guest.node +
                                               " is " + s->status + "; add --start to start it"));
    }
    if (hooks.starting) hooks.starting(paused);
    if (!still()) return;
    api.start_guest(guest, paused, [paused, still, done = std::move(done)](Error e) {
      if (!still()) return;
      if (e.failed()) return done(e);
      done(paused ? GuestReadiness::resumed : GuestReadiness::started);
    });
  });
}

}  // namespace pvb
