// What every console (VNC, SPICE, terminal) does about its guest's state before it opens:
//   running                 ready;
//   paused, no --start      ready too: the console shows the paused screen (the caller says so);
//   paused, --start         resumed (POST status/resume), then ready;
//   stopped, --start        started (POST status/start, its task awaited), then ready;
//   stopped, no --start     refused: Errc::not_running, "... is stopped; add --start to start it".
// A guest the resources list already called running needs no status call unless --start must
// know whether it is paused.
#pragma once

#include <functional>
#include <memory>

#include "engine/core/error.h"
#include "engine/proxmox/guest.h"
#include "engine/proxmox/proxmox_client.h"

namespace pvb {

enum class GuestReadiness { running, paused, resumed, started };

struct GuestReadyHooks {
  // False once the caller no longer wants the answer (its session is ending).
  std::function<bool()> wanted;
  // Called just before the guest is started or resumed (`resume`), e.g. to say so.
  std::function<void(bool resume)> starting;
};

// Calls `done` once with how the guest is ready, or why it is not. Nothing is called once
// `alive` has expired or hooks.wanted() says no. `done` may be called before this returns (a
// guest already known to be running).
void make_guest_ready(ProxmoxClient& api, const Guest& guest, bool start_guest,
                      std::weak_ptr<char> alive, GuestReadyHooks hooks,
                      std::function<void(Result<GuestReadiness>)> done);

}  // namespace pvb
