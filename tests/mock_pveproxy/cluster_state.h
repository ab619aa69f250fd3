// What changes while the mock runs: guest power states, tasks, and open console listeners.
// Nothing runs in the background: every question is answered from the injected clock, so a start
// with a 2-second delay is "running" as soon as the clock says 2 seconds have passed.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/clock.h"
#include "engine/core/random.h"
#include "tests/mock_pveproxy/inventory.h"

namespace pvb::mock {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

struct GuestState {
  bool running = false;
  bool paused = false;              // qmpstatus "paused"
  int64_t running_since_s = 0;      // for uptime
  int64_t start_ready_ms = kNever;  // a pending start completes then
  bool starting() const { return start_ready_ms != kNever; }
};

struct TaskRecord {
  std::string upid;
  std::string node;
  uint32_t pid = 0;
  uint32_t pstart = 0;
  int64_t starttime = 0;
  std::string type;         // qmstart, vzstart, qmresume, vzresume, vncproxy
  std::string id;           // the vmid
  std::string user;         // authid: root@pam or root@pam!pvebridge
  int64_t end_ms = kNever;  // stopped from then on
  std::string exitstatus;   // "OK" or the error

  bool stopped_at(int64_t now_ms) const { return now_ms >= end_ms; }
};

// A vncproxy listener, waiting for its websocket or relaying it.
struct ConsoleRecord {
  uint16_t port = 0;
  uint32_t vmid = 0;
  std::string authid;
  std::string password;  // generated VNC password, or empty
  std::string ticket;
  int64_t issued_ms = 0;
  bool connected = false;
  std::string upid;  // the vncproxy task
  // termproxy listeners: the ticket's path ("/vms/100", "/nodes/pve1"), and what runs there.
  bool terminal = false;
  std::string acl_path;
  std::string node;
  std::string terminal_kind;  // "lxc", "serial0".."serial3", "shell"
};

class ClusterState {
 public:
  // Keeps references to all arguments: they must outlive it.
  ClusterState(const Inventory& inventory, const Clock& clock, Random& random);

  int64_t now_ms() const { return clock_.unix_seconds() * 1000; }

  // Applies what the clock says has happened: starts completed, listeners given up after
  // `ws_window_ms` without a websocket (their tasks end then).
  void settle(uint64_t ws_window_ms);

  const GuestState& guest(uint32_t vmid) const { return guests_.at(vmid); }
  // Begins a start that completes at now + delay_ms.
  void begin_start(uint32_t vmid, uint64_t delay_ms);
  void resume(uint32_t vmid) { guests_.at(vmid).paused = false; }
  // The guest is off now (no pending start).
  void stop(uint32_t vmid) { guests_.at(vmid) = GuestState{}; }

  // Creates a task record ending at end_ms with `exitstatus`; returns its UPID
  // (UPID:node:PID:PSTART:STARTTIME:type:id:user: with 8-digit hex numbers).
  const TaskRecord& add_task(std::string node, std::string type, std::string id, std::string user,
                             int64_t end_ms, std::string exitstatus);
  const TaskRecord* find_task(std::string_view upid) const;

  // The lowest free port of first..last (a node's are 5900..5999), or nullopt when all are taken.
  std::optional<uint16_t> free_port(uint16_t first, uint16_t last) const;
  void open_console(ConsoleRecord console);
  ConsoleRecord* find_console(uint16_t port);
  size_t open_console_count() const { return consoles_.size(); }
  // The websocket arrived: the listener stays open (its task runs) until release_console.
  void connect_console(uint16_t port);
  // The console session ended: frees the port and ends the vncproxy task with OK.
  void release_console(uint16_t port);

 private:
  void end_task(const std::string& upid, int64_t end_ms, std::string exitstatus);

  const Clock& clock_;
  Random& random_;
  std::map<uint32_t, GuestState> guests_;
  std::map<std::string, TaskRecord, std::less<>> tasks_;
  std::map<uint16_t, ConsoleRecord> consoles_;
};

}  // namespace pvb::mock
