#include "tests/mock_pveproxy/server/qemu_consoles.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/mock_pveproxy/server/qemu_echo_guest.h"
#include "tests/mock_pveproxy/server/unix_stream_transport.h"

namespace pvb::mock {

namespace {
constexpr const char* kEchoGuestDisk = "echo-guest.img";  // in the fleet's private directory
}  // namespace

// --- QemuConsole ---------------------------------------------------------------------------------

QemuConsole::QemuConsole(Loop& loop, std::weak_ptr<QemuVm> vm, std::string password,
                         std::string expire_time, std::string label, LogFn log)
    : TransportOverlay(loop),
      vm_(std::move(vm)),
      password_(std::move(password)),
      expire_time_(std::move(expire_time)),
      label_(std::move(label)),
      log_(std::move(log)) {}

QemuConsole::~QemuConsole() {
  wipe(password_);
}

void QemuConsole::start() {
  if (started_ || closed()) return;
  started_ = true;
  std::shared_ptr<QemuVm> vm = vm_.lock();
  if (!vm) return fail(Error(Errc::connection_lost, label_ + ": the guest's QEMU is gone"));
  vm->when_ready([this, weak = alive_.weak()](const Error& e) {
    if (!weak.expired()) vm_ready(e);
  });
}

void QemuConsole::vm_ready(const Error& error) {
  if (closed()) return;
  if (error.failed()) return fail(error);
  std::shared_ptr<QemuVm> vm = vm_.lock();
  if (!vm) return fail(Error(Errc::connection_lost, label_ + ": the guest's QEMU is gone"));
  vm->arm_vnc_password(password_, expire_time_, [this, weak = alive_.weak()](const Error& e) {
    if (!weak.expired()) password_armed(e);
  });
}

void QemuConsole::password_armed(const Error& error) {
  wipe(password_);
  if (closed()) return;
  if (error.failed()) return fail(error);
  std::shared_ptr<QemuVm> vm = vm_.lock();
  if (!vm) return fail(Error(Errc::connection_lost, label_ + ": the guest's QEMU is gone"));
  if (log_) log_(label_ + ": VNC password set in QEMU, expires " + expire_time_);

  attach_lower(UnixStreamTransport::connect(loop(), vm->vnc_socket()));
  if (!reading_enabled()) {
    vnc_paused_ = true;
    lower_->read_disable(true);
  }
  if (!write_queue().empty() || end_pending_) {
    WatermarkChain::Batch batch_check(write_queue());  // from our queue to the socket's: no dip
    ByteChain queued;
    write_queue().move_to(queued);
    write_lower(queued, end_pending_);
  }
  if (close_pending_) lower_->close(CloseMode::Flush);
  lower_->start();
}

void QemuConsole::fail(Error error) {
  if (closed()) return;
  if (log_) log_(label_ + ": " + error.message());
  if (lower_) {
    lower_->set_sink(nullptr);
    lower_->close(CloseMode::Abort);
  }
  finish(std::move(error));
  write_queue().clear();
}

void QemuConsole::write(ByteChain& data, bool end_stream) {
  if (closed() || end_pending_ || close_pending_) {
    data.clear();
    return;
  }
  if (lower_) {
    write_lower(data, end_stream);
    return;
  }
  end_pending_ = end_stream;
  write_queue().move_from(data);
}

void QemuConsole::close(CloseMode mode) {
  if (closed()) return;
  if (lower_) {
    lower_->close(mode);  // its on_closed finishes us
    return;
  }
  if (mode == CloseMode::Abort || write_queue().empty()) {
    // Nothing for QEMU yet: nothing to flush. (A password already on its way is harmless: it
    // expires like any other.)
    finish(Error());
    write_queue().clear();
    return;
  }
  close_pending_ = true;
}

void QemuConsole::on_read_enable_changed(bool enabled) {
  if (!lower_ || vnc_paused_ == !enabled) return;
  vnc_paused_ = !enabled;
  lower_->read_disable(!enabled);
}

// --- QemuFleet -----------------------------------------------------------------------------------

Result<std::unique_ptr<QemuFleet>> QemuFleet::create(Loop& loop, QemuFleetOptions options,
                                                     LogFn log) {
  Result<PrivateDir> dir = PrivateDir::create("mock-pveproxy-qemu");
  if (!dir.ok()) return dir.error();
  if (options.echo_guest) {
    if (Error e = write_echo_guest(dir->path() + "/" + kEchoGuestDisk); e.failed()) return e;
  }
  return std::unique_ptr<QemuFleet>(
      new QemuFleet(loop, std::move(options), std::move(log), std::move(*dir)));
}

QemuFleet::QemuFleet(Loop& loop, QemuFleetOptions options, LogFn log, PrivateDir dir)
    : loop_(loop), options_(std::move(options)), log_(std::move(log)), dir_(std::move(dir)) {}

QemuFleet::~QemuFleet() {
  if (installed_) set_qemu_console_source(nullptr);
  vms_.clear();  // kills and reaps every QEMU before the directory goes
}

void QemuFleet::install() {
  set_qemu_console_source(this);
  installed_ = true;
}

namespace {

// A port the kernel has just said is free on 127.0.0.1 (QEMU binds it a moment later; the race
// with another program is a test's risk, not a user's).
uint16_t free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace

std::shared_ptr<QemuVm> QemuFleet::vm_for(uint32_t vmid, const std::string& name) {
  std::shared_ptr<QemuVm>& vm = vms_[vmid];
  if (!vm || vm->dead()) {
    QemuVmConfig config;
    config.binary = options_.binary;
    config.dir = dir_.path();
    config.vmid = vmid;
    config.name = name;
    config.start_timeout_ms = options_.start_timeout_ms;
    if (options_.echo_guest) config.boot_disk = dir_.path() + "/" + kEchoGuestDisk;
    if (!options_.spice_x509_dir.empty()) {
      config.spice_x509_dir = options_.spice_x509_dir;
      config.spice_port = free_tcp_port();
    }
    vm = std::make_shared<QemuVm>(loop_, std::move(config), log_);
    ++vms_made_;
  }
  return vm;
}

void QemuFleet::dump_screens(const std::string& dir) {
  for (auto& [vmid, vm] : vms_) {
    if (vm->dead()) continue;
    vm->screendump(dir + "/" + std::to_string(vmid) + ".ppm", [this, id = vmid](const Error& e) {
      if (e.failed()) log_("qemu/" + std::to_string(id) + ": screendump: " + e.message());
    });
  }
}

size_t QemuFleet::type_step() {
  if (!options_.echo_guest) return 0;
  const std::string key = echo_guest_key(keys_typed_++);
  size_t sent = 0;
  for (auto& [vmid, vm] : vms_) {
    if (!vm->ready()) continue;  // one still starting boots after this key
    ++sent;
    vm->send_key(key, [this, id = vmid, key](const Error& e) {
      if (e.failed()) log_("qemu/" + std::to_string(id) + ": send-key " + key + ": " + e.message());
    });
  }
  return sent;
}

std::unique_ptr<Transport> QemuFleet::open_console(Loop& loop, const ConsoleGrant& grant,
                                                   Clock& clock) {
  std::shared_ptr<QemuVm> vm = vm_for(grant.vmid, vm_desktop_name(grant));
  std::string label =
      "console " + std::to_string(grant.port) + ": qemu/" + std::to_string(grant.vmid);
  return std::make_unique<QemuConsole>(
      loop, vm, grant.vnc_password,
      qmp_expire_time(grant.vnc_password_expires, clock.unix_seconds()), std::move(label), log_);
}

}  // namespace pvb::mock
