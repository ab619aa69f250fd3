#include "tests/mock_pveproxy/server/qemu_vm.h"

#include <cstdio>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/core/json_writer.h"

namespace pvb::mock {

namespace {

// QEMU's option values end at a comma; a doubled comma stands for one.
std::string escape_commas(const std::string& s) {
  std::string out;
  for (char c : s) {
    out.push_back(c);
    if (c == ',') out.push_back(',');
  }
  return out;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

std::string vnc_arguments(const std::string& password, const char* protocol = "vnc") {
  JsonWriter w;
  w.begin_object().key("protocol").value(protocol).key("password").value(password).end_object();
  return w.take();
}

std::string expire_arguments(const std::string& time, const char* protocol = "vnc") {
  JsonWriter w;
  w.begin_object().key("protocol").value(protocol).key("time").value(time).end_object();
  return w.take();
}

}  // namespace

std::vector<std::string> qemu_command_line(const QemuVmConfig& c) {
  const std::string dir = c.dir + "/" + std::to_string(c.vmid);
  std::vector<std::string> argv = {c.binary,
                                   "-name",
                                   "guest=" + escape_commas(c.name),
                                   "-display",
                                   "none",
                                   "-vnc",
                                   "unix:" + escape_commas(dir + ".vnc") + ",password=on",
                                   "-qmp",
                                   "unix:" + escape_commas(dir + ".qmp") + ",server=on,wait=off",
                                   "-nodefaults",
                                   "-no-user-config",
                                   "-vga",
                                   c.spice_port != 0 ? "qxl" : "std",
                                   "-m",
                                   "32",
                                   "-machine",
                                   "accel=tcg"};
  if (!c.boot_disk.empty()) {
    argv.insert(argv.end(),
                {"-drive", "file=" + escape_commas(c.boot_disk) + ",format=raw,if=ide,index=0"});
  }
  return argv;
}

std::vector<std::string> qemu_spice_arguments(const QemuVmConfig& c) {
  if (c.spice_port == 0) return {};
  // As qemu-server: TLS only, on loopback (spiceproxy relays), no password until set_password.
  return {"-spice", "tls-port=" + std::to_string(c.spice_port) +
                        ",addr=127.0.0.1,x509-dir=" + escape_commas(c.spice_x509_dir)};
}

std::string qmp_expire_time(int64_t expires, int64_t now) {
  if (expires < now) return "now";
  return "+" + std::to_string(expires - now);
}

QemuVm::QemuVm(Loop& loop, QemuVmConfig config, LogFn log)
    : loop_(loop), config_(std::move(config)), log_(std::move(log)) {}

QemuVm::~QemuVm() {
  qmp_.reset();
  sigchld_.reset();
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    // SIGKILL cannot be caught: this returns at once, and leaves no zombie behind.
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (log_)
      log_("qemu " + std::to_string(config_.vmid) + ": stopped (pid " + std::to_string(pid_) + ")");
  }
}

std::string QemuVm::vnc_socket() const {
  return config_.dir + "/" + std::to_string(config_.vmid) + ".vnc";
}
std::string QemuVm::qmp_socket() const {
  return config_.dir + "/" + std::to_string(config_.vmid) + ".qmp";
}
std::string QemuVm::log_file() const {
  return config_.dir + "/" + std::to_string(config_.vmid) + ".log";
}

// --- starting ------------------------------------------------------------------------------------

void QemuVm::when_ready(DoneFn ready) {
  switch (state_) {
    case State::idle: {
      state_ = State::starting;
      waiting_.push_back(std::move(ready));
      if (Error e = spawn(); e.failed()) die(std::move(e));
      return;
    }
    case State::starting:
      waiting_.push_back(std::move(ready));
      return;
    case State::ready:
    case State::dead:
      loop_.post([ready = std::move(ready), weak = alive_.weak(), this] {
        if (!weak.expired()) ready(death_);
      });
      return;
  }
}

Error QemuVm::spawn() {
  std::vector<std::string> args = qemu_command_line(config_);
  for (std::string& a : qemu_spice_arguments(config_)) args.push_back(std::move(a));
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::unlink(vnc_socket().c_str());
  ::unlink(qmp_socket().c_str());

  // Everything the child needs exists before fork: between fork and exec it may only make
  // async-signal-safe calls.
  int log_fd = ::open(log_file().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_pipe[2] = {-1, -1};  // close-on-exec: it reads EOF once exec succeeded
  if (log_fd < 0 || null_fd < 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    Error e(Errc::io, "qemu " + std::to_string(config_.vmid) + ": cannot prepare " + log_file() +
                          ": " + std::strerror(errno));
    for (int fd : {log_fd, null_fd}) {
      if (fd >= 0) ::close(fd);
    }
    return e;
  }
  sigchld_ = std::make_unique<SignalWatcher>(loop_, SIGCHLD, [this](int) { reap(); });
  sigchld_->unref();  // QMP's connection is what keeps the loop busy, not the watch

  // No signal handler of ours may run in the child: block them all across fork.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Dies with the mock, even when the mock is SIGKILLed. (If the mock died already, stop.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(argv[0], argv.data());
    int error = errno;
    [[maybe_unused]] ssize_t n = ::write(exec_pipe[1], &error, sizeof error);
    ::_exit(127);
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::close(exec_pipe[1]);
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) {
    ::close(exec_pipe[0]);
    return Error(Errc::io, "qemu " + std::to_string(config_.vmid) +
                               ": fork failed: " + std::strerror(fork_errno));
  }
  int exec_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return Error(Errc::io, "cannot run " + config_.binary + ": " + std::strerror(exec_errno));
  }
  pid_ = pid;
  if (log_) {
    log_("qemu " + std::to_string(config_.vmid) + ": started " + config_.binary + " (pid " +
         std::to_string(pid_) + ")");
  }

  QmpClientOptions options;
  options.connect_timeout_ms = config_.start_timeout_ms;
  qmp_ = std::make_unique<QmpClient>(loop_, qmp_socket(), options);
  qmp_->set_on_closed([this](const Error& e) { die(e); });
  qmp_->start([this](const Error& e) { qmp_ready(e); });
  return Error();
}

void QemuVm::qmp_ready(const Error& error) {
  if (state_ != State::starting) return;
  if (error.failed()) {
    die(error);
    return;
  }
  state_ = State::ready;
  if (log_) {
    log_("qemu " + std::to_string(config_.vmid) + ": QEMU " + qmp_->qemu_version() +
         " ready, VNC on " + vnc_socket());
  }
  std::vector<DoneFn> waiting = std::move(waiting_);
  waiting_.clear();
  std::weak_ptr<char> alive = alive_.weak();
  for (DoneFn& ready : waiting) {
    ready(Error());
    if (alive.expired()) return;
  }
}

// --- the password --------------------------------------------------------------------------------

void QemuVm::arm_vnc_password(const std::string& password, const std::string& expire_time,
                              DoneFn done) {
  if (state_ != State::ready) {
    Error e = state_ == State::dead ? death_
                                    : Error(Errc::internal, "qemu: set_password before QMP ready");
    loop_.post([done = std::move(done), e, weak = alive_.weak()] {
      if (!weak.expired()) done(e);
    });
    return;
  }
  // As Proxmox's `qm vncproxy`: the password first, then its expiry (QMP runs them in order).
  qmp_->execute("set_password", vnc_arguments(password),
                [this, expire_time, done = std::move(done)](Result<std::string> set) mutable {
                  if (!set.ok()) return done(set.error());
                  qmp_->execute("expire_password", expire_arguments(expire_time),
                                [done = std::move(done)](Result<std::string> expired) {
                                  done(expired.ok() ? Error() : expired.error());
                                });
                });
}

void QemuVm::screendump(const std::string& path, DoneFn done) {
  if (state_ != State::ready) {
    loop_.post([done = std::move(done), weak = alive_.weak()] {
      if (!weak.expired()) done(Error(Errc::internal, "qemu: screendump before QMP ready"));
    });
    return;
  }
  const std::string part = path + ".part";
  JsonWriter w;
  w.begin_object().key("filename").value(part).end_object();
  qmp_->execute("screendump", w.take(),
                [part, path, done = std::move(done)](Result<std::string> r) {
                  if (!r.ok()) return done(r.error());
                  if (std::rename(part.c_str(), path.c_str()) != 0) {
                    return done(Error(Errc::io, "qemu: cannot rename its screendump to " + path));
                  }
                  done(Error());
                });
}

void QemuVm::send_key(const std::string& qcode, DoneFn done) {
  if (state_ != State::ready) {
    loop_.post([done = std::move(done), weak = alive_.weak()] {
      if (!weak.expired()) done(Error(Errc::internal, "qemu: send-key before QMP ready"));
    });
    return;
  }
  JsonWriter w;
  w.begin_object().key("keys").begin_array();
  w.begin_object().key("type").value("qcode").key("data").value(qcode).end_object();
  w.end_array().end_object();
  qmp_->execute("send-key", w.take(), [done = std::move(done)](Result<std::string> r) {
    done(r.ok() ? Error() : r.error());
  });
}

void QemuVm::arm_spice_password(const std::string& password, const std::string& expire_time,
                                DoneFn done) {
  if (state_ != State::ready) {
    Error e = state_ == State::dead ? death_
                                    : Error(Errc::internal, "qemu: set_password before QMP ready");
    loop_.post([done = std::move(done), e, weak = alive_.weak()] {
      if (!weak.expired()) done(e);
    });
    return;
  }
  // As qemu-server's spiceproxy call: set_password, then expire_password (protocol spice).
  qmp_->execute("set_password", vnc_arguments(password, "spice"),
                [this, expire_time, done = std::move(done)](Result<std::string> set) mutable {
                  if (!set.ok()) return done(set.error());
                  qmp_->execute("expire_password", expire_arguments(expire_time, "spice"),
                                [done = std::move(done)](Result<std::string> expired) {
                                  done(expired.ok() ? Error() : expired.error());
                                });
                });
}

// --- the end -------------------------------------------------------------------------------------

void QemuVm::reap() {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return;  // someone else's child, or ours still runs
  pid_ = -1;
  die(Error(Errc::connection_lost,
            "qemu " + std::to_string(config_.vmid) + " " + describe_status(status)));
}

void QemuVm::die(Error error) {
  if (state_ == State::dead) return;
  state_ = State::dead;
  if (pid_ > 0) {
    // QMP failed or ended first: a QEMU we cannot drive must not linger.
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (error.ok())
    error = Error(Errc::connection_lost, "qemu " + std::to_string(config_.vmid) + " ended");
  death_ = Error(error.code(), error.message() + log_tail(), error.native());
  if (log_) log_(death_.message());
  if (qmp_) qmp_->close();
  std::vector<DoneFn> waiting = std::move(waiting_);
  waiting_.clear();
  // Posted: die() may run inside when_ready(), and callbacks never come from inside a call.
  loop_.post([waiting = std::move(waiting), weak = alive_.weak(), this] {
    for (const DoneFn& ready : waiting) {
      if (weak.expired()) return;
      ready(death_);
    }
  });
}

std::string QemuVm::log_tail() const {
  std::ifstream in(log_file());
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  if (last.empty()) return "";
  if (last.size() > 300) last.resize(300);
  return " (" + log_file() + ": " + last + ")";
}

}  // namespace pvb::mock
