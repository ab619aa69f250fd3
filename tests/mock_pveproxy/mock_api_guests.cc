// MockApi endpoints about guests and tasks: version, cluster/resources, status/current,
// status/start, status/resume, tasks/{upid}/status.
#include "engine/core/json_writer.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/mock_api_internal.h"

namespace pvb::mock {

namespace {

constexpr std::string_view kRoot = "root@pam";

// Plausible load figures; only their presence and types matter to clients.
void write_guest_resource(JsonWriter& w, const GuestEntry& g, const GuestState& s, int64_t now) {
  w.begin_object();
  w.key("id").value(std::string(guest_kind_name(g.type)) + "/" + std::to_string(g.vmid));
  w.key("type").value(guest_kind_name(g.type));
  w.key("vmid").value(static_cast<int64_t>(g.vmid));
  w.key("node").value(g.node);
  // Like pvestatd, which records a running VM's QEMU run state (qmpstatus) as its status.
  w.key("status").value(!s.running ? "stopped" : s.paused ? "paused" : "running");
  if (!g.name.empty()) w.key("name").value(g.name);
  if (g.is_template) w.key("template").value(1);
  if (!g.tags.empty()) w.key("tags").value(g.tags);
  if (!g.pool.empty()) w.key("pool").value(g.pool);
  if (!g.lock.empty()) w.key("lock").value(g.lock);
  if (!g.hastate.empty()) w.key("hastate").value(g.hastate);
  w.key("maxcpu").value(static_cast<int64_t>(g.maxcpu));
  w.key("maxmem").value(g.maxmem);
  w.key("maxdisk").value(g.maxdisk);
  w.key("cpu").value(s.running ? 0.03125 : 0.0);
  w.key("mem").value(s.running ? g.maxmem / 4 : uint64_t{0});
  w.key("disk").value(uint64_t{0});
  w.key("uptime").value(s.running ? now - s.running_since_s : int64_t{0});
  for (const char* counter : {"netin", "netout", "diskread", "diskwrite"}) {
    w.key(counter).value(s.running ? uint64_t{1048576} : uint64_t{0});
  }
  w.end_object();
}

void write_node_resource(JsonWriter& w, const NodeEntry& n) {
  bool online = n.status == "online";
  w.begin_object();
  w.key("id").value("node/" + n.node);
  w.key("type").value("node");
  w.key("node").value(n.node);
  w.key("status").value(n.status);
  w.key("level").value("");
  w.key("maxcpu").value(8);
  w.key("maxmem").value(uint64_t{34359738368});
  w.key("cpu").value(online ? 0.05 : 0.0);
  w.key("mem").value(online ? uint64_t{8589934592} : uint64_t{0});
  w.key("uptime").value(online ? 864000 : 0);
  w.end_object();
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return !s.empty();
}

// UPID:node:pid(8 hex):pstart(8-9 hex):starttime(8 hex):type:id:user:
bool upid_well_formed(std::string_view upid) {
  if (!upid.starts_with("UPID:") || !upid.ends_with(":")) return false;
  std::string_view rest = upid.substr(5, upid.size() - 6);
  std::vector<std::string_view> f;
  while (true) {
    size_t colon = rest.find(':');
    f.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return f.size() == 7 && !f[0].empty() && f[1].size() == 8 && is_hex(f[1]) &&
         (f[2].size() == 8 || f[2].size() == 9) && is_hex(f[2]) && f[3].size() == 8 &&
         is_hex(f[3]) && !f[4].empty() && !f[6].empty();
}

}  // namespace

MockResponse MockApi::version() {
  JsonWriter w;
  w.begin_object()
      .key("version")
      .value(options_.pve_version())
      .key("release")
      .value(options_.pve_release())
      .key("repoid")
      .value("c2f5e3f1a9b7d6e4")
      .end_object();
  return data_reply(w.str());
}

MockResponse MockApi::resources(const MockRequest& request, const AuthId& who) {
  const std::string* type = find_field(request.params, "type");
  bool want_vms = type == nullptr || *type == "vm";
  bool want_nodes = type == nullptr || *type == "node";
  int64_t now = clock_.unix_seconds();
  JsonWriter w;
  w.begin_array();
  if (want_nodes) {
    for (const NodeEntry& n : inventory_.nodes) {
      if (has_privilege(inventory_, who, "/nodes/" + n.node, "Sys.Audit"))
        write_node_resource(w, n);
    }
  }
  if (want_vms) {
    for (const GuestEntry& g : inventory_.guests) {
      // Only guests the caller may audit are listed, the rest silently left out.
      if (has_privilege(inventory_, who, "/vms/" + std::to_string(g.vmid), "VM.Audit")) {
        write_guest_resource(w, g, state_.guest(g.vmid), now);
      }
    }
  }
  w.end_array();
  return data_reply(w.str());
}

MockResponse MockApi::status_current(const GuestEntry& g) {
  const GuestState& s = state_.guest(g.vmid);
  JsonWriter w;
  w.begin_object();
  w.key("vmid").value(static_cast<int64_t>(g.vmid));
  w.key("status").value(s.running ? "running" : "stopped");
  if (g.type == GuestKind::qemu) {
    w.key("qmpstatus").value(qmpstatus(s));
  } else {
    w.key("type").value("lxc");
  }
  if (!g.name.empty()) w.key("name").value(g.name);
  if (!g.lock.empty()) w.key("lock").value(g.lock);
  if (!g.tags.empty()) w.key("tags").value(g.tags);
  if (g.is_template) w.key("template").value(1);
  w.key("cpus").value(static_cast<int64_t>(g.maxcpu));
  w.key("maxmem").value(g.maxmem);
  w.key("mem").value(s.running ? g.maxmem / 4 : uint64_t{0});
  w.key("maxdisk").value(g.maxdisk);
  w.key("disk").value(uint64_t{0});
  w.key("cpu").value(s.running ? 0.03125 : 0.0);
  w.key("uptime").value(s.running ? clock_.unix_seconds() - s.running_since_s : int64_t{0});
  w.key("ha").begin_object().key("managed").value(g.hastate.empty() ? 0 : 1).end_object();
  w.end_object();
  return data_reply(w.str());
}

MockResponse MockApi::start(const MockRequest& request, const GuestEntry& g, const AuthId& who) {
  bool skiplock = boolean_param(request.params, "skiplock");
  if (skiplock && who.full() != kRoot) {
    return param_error_reply({{"skiplock", "Only root may use this option."}});
  }
  const GuestState& s = state_.guest(g.vmid);
  std::string vmid = std::to_string(g.vmid);
  std::string word(guest_word(g.type));
  bool up = s.running || s.starting();
  // pve-container refuses before forking the task; qemu-server finds out inside the task.
  if (g.type == GuestKind::lxc && up) return error_reply(500, "CT " + vmid + " already running");

  std::string failure;
  if (g.is_template) {
    failure = g.type == GuestKind::qemu ? "you can't start a vm if it's a template"
                                        : "you can't start a CT if it's a template";
  } else if (!g.lock.empty() && !skiplock) {
    failure = word + " " + vmid + " is locked (" + g.lock + ")";
  } else if (up) {
    failure = word + " " + vmid + " already running";
  }
  std::string type = g.type == GuestKind::qemu ? "qmstart" : "vzstart";
  int64_t end_ms = state_.now_ms();
  if (failure.empty()) {
    state_.begin_start(g.vmid, options_.start_delay_ms);
    end_ms = state_.guest(g.vmid).start_ready_ms;
    ++counters_.starts;
  }
  const TaskRecord& task =
      state_.add_task(g.node, type, vmid, who.full(), end_ms, failure.empty() ? "OK" : failure);
  JsonWriter w;
  w.value(task.upid);
  return data_reply(w.str());
}

MockResponse MockApi::resume(const GuestEntry& g, const AuthId& who) {
  std::string vmid = std::to_string(g.vmid);
  if (!state_.guest(g.vmid).running) {
    return error_reply(500, std::string(guest_word(g.type)) + " " + vmid + " not running");
  }
  state_.resume(g.vmid);
  ++counters_.resumes;
  std::string type = g.type == GuestKind::qemu ? "qmresume" : "vzresume";
  const TaskRecord& task = state_.add_task(g.node, type, vmid, who.full(), state_.now_ms(), "OK");
  JsonWriter w;
  w.value(task.upid);
  return data_reply(w.str());
}

MockResponse MockApi::task_status(const RouteMatch& route, const AuthId& who) {
  if (!upid_well_formed(route.upid)) {
    return param_error_reply({{"upid", "unable to parse worker upid '" + route.upid + "'"}});
  }
  const TaskRecord* task = state_.find_task(route.upid);
  // A task is only known to the node that ran it.
  if (task == nullptr || task->node != route.node) {
    return param_error_reply({{"upid", "no such task"}});
  }
  std::string node_path = "/nodes/" + route.node;
  if (task->user != who.full() && !has_privilege(inventory_, who, node_path, "Sys.Audit")) {
    return error_reply(403, permission_message(node_path, "Sys.Audit"));
  }
  bool stopped = task->stopped_at(state_.now_ms());
  std::string_view user = task->user;
  std::string_view tokenid;
  if (size_t bang = user.find('!'); bang != std::string_view::npos) {
    tokenid = user.substr(bang + 1);
    user = user.substr(0, bang);
  }
  JsonWriter w;
  w.begin_object();
  w.key("upid").value(task->upid);
  w.key("node").value(task->node);
  w.key("pid").value(static_cast<int64_t>(task->pid));
  w.key("pstart").value(static_cast<int64_t>(task->pstart));
  w.key("starttime").value(task->starttime);
  w.key("type").value(task->type);
  w.key("id").value(task->id);
  w.key("user").value(user);
  if (!tokenid.empty()) w.key("tokenid").value(tokenid);
  w.key("status").value(stopped ? "stopped" : "running");
  if (stopped) w.key("exitstatus").value(task->exitstatus);
  w.end_object();
  return data_reply(w.str());
}

}  // namespace pvb::mock
