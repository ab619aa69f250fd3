// Internal to the mock API: which endpoint a path names, and each endpoint's parameter schema.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tests/mock_pveproxy/inventory.h"
#include "tests/mock_pveproxy/mock_message.h"
#include "tests/mock_pveproxy/param_schema.h"

namespace pvb::mock {

enum class Endpoint {
  ticket,
  version,
  resources,
  status_current,
  start,
  resume,
  task_status,
  vncproxy,
  vncwebsocket,
  guest_config,
  termproxy,
  node_termproxy,
  node_vncwebsocket,
  spiceproxy,
};

struct RouteMatch {
  Endpoint endpoint = Endpoint::version;
  std::string_view method;  // the method the endpoint answers
  std::string_view name;    // for counters: "vncproxy", "status/current", ...
  // The path's parameters as Proxmox's router extracts them (not yet validated).
  std::string node;
  GuestKind kind = GuestKind::qemu;
  std::string vmid_text;
  std::string upid;
  FormFields uri_params;
  std::span<const ParamSpec> schema;  // URI parameters included
  std::string_view privilege;         // needed on /vms/{vmid}; empty when checked elsewhere
};

// The endpoint a path names, whatever the method; nullopt when none does.
std::optional<RouteMatch> match_route(std::string_view path);

}  // namespace pvb::mock
