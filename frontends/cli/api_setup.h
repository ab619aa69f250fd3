// What every command that talks to Proxmox shares (defined in app.cc): credentials, TLS trust and
// proxy, the dialer and the client; the signals that end a command cleanly (their names and exit
// codes: engine/core/signals.h).
#pragma once

#include <csignal>
#include <functional>
#include <memory>
#include <vector>

#include "engine/core/loop.h"
#include "engine/core/signals.h"
#include "engine/proxmox/proxmox_client.h"
#include "frontends/cli/options.h"
#include "frontends/cli/output.h"
#include "frontends/cli/server_access.h"
#include "transports/stack/stack_dialer.h"

namespace pvb {

// Everything a command needs to talk to Proxmox: credentials, TLS trust and proxy, the client.
struct ApiSetup {
  std::unique_ptr<ServerAccess> access;
  std::unique_ptr<StackDialer> dialer;
  std::unique_ptr<ProxmoxClient> client;
};

Result<ApiSetup> make_api(Loop& loop, const CliOptions& o, Output& out);

// Signals that end the process cleanly (sessions tear down, .vv files are removed).
struct SignalSet {
  SignalSet(Loop& loop, std::function<void(int)> fn) {
    for (int s : {SIGINT, SIGTERM, SIGHUP}) {
      watchers.push_back(std::make_unique<SignalWatcher>(loop, s, fn));
      watchers.back()->unref();
    }
  }
  std::vector<std::unique_ptr<SignalWatcher>> watchers;
};

}  // namespace pvb
