#include "tests/mock_pveproxy/server/qemu_consoles.h"

#include "tests/mock_pveproxy/server/unix_stream_transport.h"

namespace pvb::mock {

// --- QemuConsole ---------------------------------------------------------------------------------

QemuConsole::QemuConsole(Loop& loop, std::weak_ptr<QemuVm> vm, std::string password,
                         std::string expire_time, std::string label, LogFn log)
    : Transport(loop),
      vm_(std::move(vm)),
      password_(std::move(password)),
      expire_time_(std::move(expire_time)),
      label_(std::move(label)),
      log_(std::move(log)) {}

QemuConsole::~QemuConsole() {
  wipe(password_);
  if (vnc_) vnc_->set_sink(nullptr);
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

  vnc_ = UnixStreamTransport::connect(loop(), vm->vnc_socket());
  vnc_->set_sink(this);
  // Our level is the socket's from now on (pending_ moves into it): the same marks cross together.
  vnc_->set_write_watermarks(write_high_mark(), write_low_mark());
  if (!reading_enabled()) {
    vnc_paused_ = true;
    vnc_->read_disable(true);
  }
  if (!pending_.empty() || end_pending_) vnc_->write(pending_, end_pending_);
  if (close_pending_) vnc_->close(CloseMode::Flush);
  vnc_->start();
}

void QemuConsole::fail(Error error) {
  if (closed()) return;
  if (log_) log_(label_ + ": " + error.message());
  pending_.clear();
  if (vnc_) {
    vnc_->set_sink(nullptr);
    vnc_->close(CloseMode::Abort);
  }
  finish(std::move(error));
}

void QemuConsole::write(ByteChain& data, bool end_stream) {
  if (closed() || end_pending_ || close_pending_) {
    data.clear();
    return;
  }
  if (vnc_) {
    vnc_->write(data, end_stream);
    return;
  }
  pending_.move_from(data);
  end_pending_ = end_stream;
  update_write_level();
}

void QemuConsole::close(CloseMode mode) {
  if (closed()) return;
  if (vnc_) {
    vnc_->close(mode);  // its on_closed finishes us
    return;
  }
  if (mode == CloseMode::Abort || pending_.empty()) {
    // Nothing for QEMU yet: nothing to flush. (A password already on its way is harmless: it
    // expires like any other.)
    pending_.clear();
    finish(Error());
    return;
  }
  close_pending_ = true;
}

size_t QemuConsole::pending_write_bytes() const {
  return pending_.size() + (vnc_ ? vnc_->pending_write_bytes() : 0);
}

void QemuConsole::on_read_enable_changed(bool enabled) {
  if (!vnc_ || vnc_paused_ == !enabled) return;
  vnc_paused_ = !enabled;
  vnc_->read_disable(!enabled);
}

// --- QEMU's VNC socket ---------------------------------------------------------------------------

void QemuConsole::on_connected() {
  emit_connected();
}

void QemuConsole::on_data(ByteChain& data, bool end_stream) {
  emit_data(data, end_stream);
}

void QemuConsole::on_write_high() {
  update_write_level();
}

void QemuConsole::on_write_low() {
  update_write_level();
}

void QemuConsole::on_closed(const Error& error) {
  finish(error);
}

// --- QemuFleet -----------------------------------------------------------------------------------

Result<std::unique_ptr<QemuFleet>> QemuFleet::create(Loop& loop, QemuFleetOptions options,
                                                     LogFn log) {
  Result<PrivateDir> dir = PrivateDir::create("mock-pveproxy-qemu");
  if (!dir.ok()) return dir.error();
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

std::shared_ptr<QemuVm> QemuFleet::vm_for(uint32_t vmid, const std::string& name) {
  std::shared_ptr<QemuVm>& vm = vms_[vmid];
  if (!vm || vm->dead()) {
    QemuVmConfig config;
    config.binary = options_.binary;
    config.dir = dir_.path();
    config.vmid = vmid;
    config.name = name;
    config.start_timeout_ms = options_.start_timeout_ms;
    vm = std::make_shared<QemuVm>(loop_, std::move(config), log_);
    ++vms_made_;
  }
  return vm;
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
