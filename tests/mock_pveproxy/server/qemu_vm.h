// QemuVm: one real QEMU standing in for one Proxmox guest (mock-pveproxy --qemu). It is started
// the way a Proxmox node starts a guest's display, minus the disks:
//   qemu-system-x86_64 -name NAME -display none -vnc unix:DIR/VMID.vnc,password=on
//     -qmp unix:DIR/VMID.qmp,server=on,wait=off -nodefaults -no-user-config -vga std -m 32
//     -machine accel=tcg
// No disk and no NIC: SeaBIOS shows its "No bootable device" screen, a non-blank picture, within
// a second under TCG, and then idles (about 1% of a CPU). Not -no-reboot: SeaBIOS resets the
// machine every 60 s to retry the boot, which must not end QEMU. With a boot_disk (the echo
// guest, --qemu-echo-guest) it boots that instead. VNC with password=on refuses
// every client until QMP set_password gives it one, which is what makes the console's one-shot
// password meaningful.
//
// The process: fork + exec (not uv_spawn: the child must ask for PR_SET_PDEATHSIG before exec,
// so a mock that crashes or is SIGKILLed takes its QEMUs with it). QEMU's stdin is /dev/null,
// its stdout and stderr go to DIR/VMID.log (a failure to start quotes its last line), and it is
// in its own process group, so a Ctrl-C meant for the mock reaches QEMU only through the mock's
// orderly shutdown. Its end is noticed through SIGCHLD (waitpid on its pid only) and through the
// QMP connection closing. The destructor SIGKILLs and reaps it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/loop.h"
#include "tests/mock_pveproxy/server/qmp_client.h"

namespace pvb::mock {

struct QemuVmConfig {
  std::string binary;  // absolute path of qemu-system-x86_64
  std::string dir;     // private directory for the sockets and the log (short: socket paths)
  uint32_t vmid = 0;
  std::string name;  // -name: QEMU's VNC desktop name becomes "QEMU (NAME)", as on Proxmox
  uint64_t start_timeout_ms = 10000;  // from exec to QMP ready
  // SPICE (mock spiceproxy): a TLS port on 127.0.0.1 and the directory of ca-cert.pem,
  // server-cert.pem and server-key.pem; 0: no SPICE (and -vga std instead of qxl).
  uint16_t spice_port = 0;
  std::string spice_x509_dir;
  // Set: the guest boots this raw disk image (IDE) instead of finding none (qemu_echo_guest.h).
  std::string boot_disk;
};

// QEMU's argv for `config` (argv[0] is the binary). Commas in the name and the paths are doubled,
// QEMU's escape inside option values.
std::vector<std::string> qemu_command_line(const QemuVmConfig& config);
// The -spice arguments that follow it when config.spice_port is set.
std::vector<std::string> qemu_spice_arguments(const QemuVmConfig& config);

// expire_password's `time` for a password that expires at unix time `expires`, asked at `now`:
// "+N" (what Proxmox sends: "+30") or "now" when it has expired already. QEMU refuses the
// password once its clock is past the expiry, like the fake VM (clock > expires).
std::string qmp_expire_time(int64_t expires, int64_t now);

class QemuVm {
 public:
  using LogFn = std::function<void(const std::string&)>;
  using DoneFn = std::function<void(const Error&)>;

  QemuVm(Loop& loop, QemuVmConfig config, LogFn log);
  ~QemuVm();  // SIGKILLs QEMU if it still runs, and reaps it
  QemuVm(const QemuVm&) = delete;
  QemuVm& operator=(const QemuVm&) = delete;

  // Starts QEMU on the first call. `ready` (always from the loop, never from inside this call)
  // once QMP is negotiated, or with why QEMU could not start or has ended.
  void when_ready(DoneFn ready);
  // What `qm vncproxy` does when a console connects: set_password, then expire_password at
  // `expire_time` ("+30", "now"). `done` once QEMU accepted both. Needs ready.
  void arm_vnc_password(const std::string& password, const std::string& expire_time, DoneFn done);
  // The same for SPICE (protocol spice), as qemu-server's spiceproxy does before it answers.
  void arm_spice_password(const std::string& password, const std::string& expire_time, DoneFn done);

  // QMP screendump (QEMU writes a binary PPM of its display) to `path`, atomically: QEMU writes
  // PATH.part, renamed over `path` once it answered. `done` with the outcome; needs ready.
  void screendump(const std::string& path, DoneFn done);

  // QMP send-key: one key pressed and released, as a keyboard would (`qcode`: "a", "ret").
  // `done` with the outcome; needs ready.
  void send_key(const std::string& qcode, DoneFn done);

  // For tests: any QMP command, once ready.
  QmpClient* qmp() { return qmp_.get(); }
  const QemuVmConfig& config() const { return config_; }
  std::string vnc_socket() const;
  std::string qmp_socket() const;
  std::string log_file() const;
  pid_t pid() const { return pid_; }
  // QEMU could not start, or has ended: this VM is done (make a new one to start again).
  bool dead() const { return state_ == State::dead; }
  bool ready() const { return state_ == State::ready; }

 private:
  enum class State { idle, starting, ready, dead };

  Error spawn();
  void qmp_ready(const Error& error);
  void reap();  // SIGCHLD: has our child ended?
  void die(Error error);
  std::string log_tail() const;

  Loop& loop_;
  QemuVmConfig config_;
  LogFn log_;
  State state_ = State::idle;
  pid_t pid_ = -1;
  std::unique_ptr<SignalWatcher> sigchld_;
  std::unique_ptr<QmpClient> qmp_;
  std::vector<DoneFn> waiting_;
  Error death_;
  AliveToken alive_;
};

}  // namespace pvb::mock
