// mock-pveproxy --qemu: the console of every qemu guest with an `rfb` console is relayed to a real
// QEMU instead of the fake VM (lxc guests keep the fake VM, as vncterm serves them on Proxmox;
// benchmark consoles stay what they are).
//
// QemuFleet owns one QemuVm per guest, started lazily by the guest's first console websocket
// (so the mock still starts in milliseconds) and kept for the next ones; one that died is started
// again by the next console. Its sockets and logs live in a private directory removed at exit.
//
// QemuConsole is the relay's VM side for one websocket: on start() it waits for the guest's QEMU,
// then does what Proxmox's `qm vncproxy` does when the websocket connects — QMP set_password with
// the console's VNC password (the generated one, else the whole ticket: QEMU's VNC
// authentication uses its first 8 bytes) and expire_password "+30" (--vnc-password-life-s) —
// and only then connects to QEMU's VNC Unix socket, so the client's RFB never reaches QEMU before
// its password is set. Bytes written before that wait (the Transport contract); a QEMU that
// cannot start ends the console with the reason.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/core/platform.h"
#include "engine/io/transport_overlay.h"
#include "tests/mock_pveproxy/server/qemu_vm.h"
#include "tests/mock_pveproxy/server/vm_console.h"

namespace pvb::mock {

class QemuConsole final : public TransportOverlay {
 public:
  using LogFn = std::function<void(const std::string&)>;

  // `password` is wiped once QEMU has it; `expire_time` as qmp_expire_time() makes it.
  QemuConsole(Loop& loop, std::weak_ptr<QemuVm> vm, std::string password, std::string expire_time,
              std::string label, LogFn log);
  ~QemuConsole() override;

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  // QEMU's VNC socket is connected (the password was set first).
  bool vnc_connected() const { return lower_ != nullptr; }

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  void vm_ready(const Error& error);
  void password_armed(const Error& error);
  void fail(Error error);

  std::weak_ptr<QemuVm> vm_;
  std::string password_;
  std::string expire_time_;
  std::string label_;  // "console 5900: qemu/100" for the log
  LogFn log_;
  // lower_: QEMU's VNC socket, once the password is set; write_queue(): what was written before.
  bool started_ = false;
  bool end_pending_ = false;
  bool close_pending_ = false;  // close(Flush) before the VNC socket existed
  bool vnc_paused_ = false;     // our read_disable passed on to the VNC socket
  AliveToken alive_;
};

struct QemuFleetOptions {
  std::string binary;                 // absolute path of qemu-system-x86_64
  uint64_t start_timeout_ms = 10000;  // exec to QMP ready
  // Set: every QEMU also serves SPICE (-vga qxl, -spice tls-port=<a free port>) with the
  // certificates of this directory (ca-cert.pem, server-cert.pem, server-key.pem).
  std::string spice_x509_dir;
  // Every QEMU boots the echo guest (qemu_echo_guest.h), whose screen changes only with a key.
  bool echo_guest = false;
};

class QemuFleet final : public QemuConsoleSource {
 public:
  using LogFn = std::function<void(const std::string&)>;

  // Makes the private directory. Nothing is started yet.
  static Result<std::unique_ptr<QemuFleet>> create(Loop& loop, QemuFleetOptions options, LogFn log);
  ~QemuFleet() override;  // stops being the console source, kills every QEMU, removes the dir
  QemuFleet(const QemuFleet&) = delete;
  QemuFleet& operator=(const QemuFleet&) = delete;

  // Makes this fleet the process's source of qemu consoles (see vm_console.h).
  void install();

  std::unique_ptr<Transport> open_console(Loop& loop, const ConsoleGrant& grant,
                                          Clock& clock) override;

  // The guest's QEMU: the running one, or a new one (not started until asked to).
  std::shared_ptr<QemuVm> vm_for(uint32_t vmid, const std::string& name);
  size_t vms_made() const { return vms_made_; }
  // Every running QEMU's screen as DIR/<vmid>.ppm (QMP screendump, atomically); failures are
  // logged.
  void dump_screens(const std::string& dir);
  const std::string& dir() const { return dir_.path(); }
  // With the echo guest: the next key ("a".."z", in turn) typed into every running QEMU, so each
  // one's screen changes (SIGUSR2's step). Returns how many were sent; failures are logged.
  size_t type_step();

 private:
  QemuFleet(Loop& loop, QemuFleetOptions options, LogFn log, PrivateDir dir);

  Loop& loop_;
  QemuFleetOptions options_;
  LogFn log_;
  PrivateDir dir_;
  std::map<uint32_t, std::shared_ptr<QemuVm>> vms_;
  size_t vms_made_ = 0;
  uint64_t keys_typed_ = 0;
  bool installed_ = false;
};

}  // namespace pvb::mock
