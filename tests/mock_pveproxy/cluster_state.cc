#include "tests/mock_pveproxy/cluster_state.h"

#include <cstdio>

namespace pvb::mock {

ClusterState::ClusterState(const Inventory& inventory, const Clock& clock, Random& random)
    : clock_(clock), random_(random) {
  for (const GuestEntry& g : inventory.guests) {
    GuestState s;
    s.running = g.status == "running";
    s.paused = g.qmpstatus == "paused";
    // Guests that are up when the mock starts have been up for a while.
    if (s.running) s.running_since_s = clock.unix_seconds() - 86400;
    guests_.emplace(g.vmid, s);
  }
}

void ClusterState::settle(uint64_t ws_window_ms) {
  int64_t now = now_ms();
  for (auto& [vmid, g] : guests_) {
    if (g.starting() && now >= g.start_ready_ms) {
      g.running = true;
      g.paused = false;
      g.running_since_s = g.start_ready_ms / 1000;
      g.start_ready_ms = kNever;
    }
  }
  for (auto it = consoles_.begin(); it != consoles_.end();) {
    const ConsoleRecord& c = it->second;
    int64_t deadline = c.issued_ms + static_cast<int64_t>(ws_window_ms);
    if (!c.connected && now > deadline) {
      end_task(c.upid, deadline, "connection timed out");
      it = consoles_.erase(it);
    } else {
      ++it;
    }
  }
}

void ClusterState::begin_start(uint32_t vmid, uint64_t delay_ms) {
  guests_.at(vmid).start_ready_ms = now_ms() + static_cast<int64_t>(delay_ms);
}

const TaskRecord& ClusterState::add_task(std::string node, std::string type, std::string id,
                                         std::string user, int64_t end_ms, std::string exitstatus) {
  TaskRecord t;
  t.node = std::move(node);
  t.type = std::move(type);
  t.id = std::move(id);
  t.user = std::move(user);
  t.end_ms = end_ms;
  t.exitstatus = std::move(exitstatus);
  t.starttime = clock_.unix_seconds();
  // Plausible worker pid and start tick; distinct per task so UPIDs never collide.
  do {
    t.pid = 1000 + random_.next_u32() % 4000000;
    t.pstart = random_.next_u32() % 100000000;
    char buf[64];
    std::snprintf(buf, sizeof buf, ":%08X:%08X:%08llX:", t.pid, t.pstart,
                  static_cast<unsigned long long>(t.starttime));
    t.upid = "UPID:" + t.node + buf + t.type + ":" + t.id + ":" + t.user + ":";
  } while (tasks_.count(t.upid) != 0);
  auto [it, inserted] = tasks_.emplace(t.upid, std::move(t));
  return it->second;
}

const TaskRecord* ClusterState::find_task(std::string_view upid) const {
  auto it = tasks_.find(upid);
  return it == tasks_.end() ? nullptr : &it->second;
}

void ClusterState::end_task(const std::string& upid, int64_t end_ms, std::string exitstatus) {
  auto it = tasks_.find(upid);
  if (it == tasks_.end()) return;
  it->second.end_ms = end_ms;
  it->second.exitstatus = std::move(exitstatus);
}

std::optional<uint16_t> ClusterState::free_port(uint16_t first, uint16_t last) const {
  for (uint32_t p = first; p <= last; ++p) {
    if (consoles_.count(static_cast<uint16_t>(p)) == 0) return static_cast<uint16_t>(p);
  }
  return std::nullopt;
}

void ClusterState::open_console(ConsoleRecord console) {
  uint16_t port = console.port;
  consoles_[port] = std::move(console);
}

ConsoleRecord* ClusterState::find_console(uint16_t port) {
  auto it = consoles_.find(port);
  return it == consoles_.end() ? nullptr : &it->second;
}

void ClusterState::connect_console(uint16_t port) {
  if (ConsoleRecord* c = find_console(port)) c->connected = true;
}

void ClusterState::release_console(uint16_t port) {
  auto it = consoles_.find(port);
  if (it == consoles_.end()) return;
  end_task(it->second.upid, now_ms(), "OK");
  consoles_.erase(it);
}

}  // namespace pvb::mock
