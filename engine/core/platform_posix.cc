#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/core/platform.h"

extern char** environ;

namespace pvb {

static std::string errno_text(int e) {
  return std::strerror(e);
}

Result<PrivateDir> PrivateDir::create(std::string_view prefix) {
  std::string base;
  for (const char* var : {"XDG_RUNTIME_DIR", "TMPDIR"}) {
    const char* v = std::getenv(var);
    if (v && *v && access(v, W_OK | X_OK) == 0) {
      base = v;
      break;
    }
  }
  if (base.empty()) base = "/tmp";
  std::string templ = base + "/" + std::string(prefix) + "-XXXXXX";
  // mkdtemp creates the directory 0700 with an unpredictable name, atomically.
  if (mkdtemp(templ.data()) == nullptr) {
    int e = errno;
    return Error(Errc::io, "cannot create a private directory in " + base + ": " + errno_text(e),
                 e);
  }
  return PrivateDir(templ);
}

PrivateDir& PrivateDir::operator=(PrivateDir&& o) noexcept {
  if (this != &o) {
    remove();
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}

PrivateDir::~PrivateDir() {
  remove();
}

void PrivateDir::remove() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  path_.clear();
}

Error write_new_private_file(const std::string& path, std::string_view content) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == EEXIST) return Error(Errc::usage, "refusing to overwrite existing file " + path, e);
    return Error(Errc::io, "cannot create " + path + ": " + errno_text(e), e);
  }
  // The umask may only remove bits; make sure it is exactly 0600 anyway.
  fchmod(fd, 0600);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(path.c_str());
      return Error(Errc::io, "cannot write " + path + ": " + errno_text(e), e);
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(path.c_str());
    return Error(Errc::io, "cannot write " + path + ": " + errno_text(e), e);
  }
  return Error();
}

void remove_file(const std::string& path) {
  if (!path.empty()) unlink(path.c_str());
}

int file_mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

Result<std::string> read_secret_file(const std::string& path, std::string_view what) {
  const std::string named = std::string(what) + " " + path;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return Error(Errc::usage, "cannot read " + named + ": " + errno_text(e), e);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error(Errc::usage, named + " is not a regular file");
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    close(fd);
    return Error(Errc::usage, named + " is accessible by other users; run: chmod 600 " + path);
  }
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 64 * 1024) {
      close(fd);
      wipe(out);
      return Error(Errc::usage, named + " is too large");
    }
  }
  std::memset(buf, 0, sizeof buf);
  close(fd);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

Result<std::optional<UserFile>> read_user_file(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR) return std::optional<UserFile>();
    return Error(Errc::usage, "cannot read " + path + ": " + errno_text(e), e);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error(Errc::usage, path + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    close(fd);
    return Error(Errc::usage,
                 path + " is too large (over " + std::to_string(max_bytes) + " bytes)");
  }
  UserFile f;
  f.readable_by_others = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
  f.writable_by_others =
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || (st.st_uid != getuid() && st.st_uid != 0);
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      wipe(f.text);
      return Error(Errc::usage, "cannot read " + path + ": " + errno_text(e), e);
    }
    if (n == 0) break;
    f.text.append(buf, static_cast<size_t>(n));
    if (f.text.size() > max_bytes) {
      close(fd);
      wipe(f.text);
      return Error(Errc::usage,
                   path + " is too large (over " + std::to_string(max_bytes) + " bytes)");
    }
  }
  std::memset(buf, 0, sizeof buf);
  close(fd);
  return std::optional<UserFile>(std::move(f));
}

Result<CommandOutput> run_and_capture(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& drop_env_prefixes,
                                      size_t max_output) {
  if (argv.empty() || argv[0].empty()) return Error(Errc::usage, "no command to run");
  std::string program = find_executable(argv[0]);
  if (program.empty()) {
    return Error(Errc::usage, "command '" + argv[0] + "' not found or not executable");
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    int e = errno;
    return Error(Errc::io, "cannot run " + program + ": " + errno_text(e), e);
  }
  std::vector<std::string> args = argv;
  args[0] = program;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::vector<std::string> env_s = filtered_environment(drop_env_prefixes, {});
  std::vector<char*> cenv;
  for (auto& e : env_s) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copy: the child keeps only its standard output end.
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // We ignore SIGPIPE; the command should not inherit that.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return Error(Errc::usage, "cannot run " + program + ": " + errno_text(rc), rc);
  }

  CommandOutput result;
  char buf[4096];
  while (true) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    // Past the limit, keep reading (and dropping) so the command never blocks on a full pipe.
    size_t room = max_output - std::min(max_output, result.out.size());
    result.out.append(buf, std::min(room, static_cast<size_t>(n)));
  }
  std::memset(buf, 0, sizeof buf);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      int e = errno;
      wipe(result.out);
      return Error(Errc::io, "waiting for " + program + ": " + errno_text(e), e);
    }
  }
  if (WIFSIGNALED(status)) {
    result.exit_code = -1;
    result.term_signal = WTERMSIG(status);
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

bool stdin_is_terminal() {
  return isatty(STDIN_FILENO) == 1;
}
bool stdout_is_terminal() {
  return isatty(STDOUT_FILENO) == 1;
}

namespace {

// Shows `prompt` on the terminal `fd` and reads one line (at most 4 KiB, without its line end).
std::string ask_on_terminal(int fd, std::string_view prompt) {
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c;
  while (true) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line.push_back(c);
    if (line.size() > 4096) break;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

Result<std::string> prompt_secret(std::string_view prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Error(Errc::usage, "no terminal to prompt for a secret on");
  struct termios old_t;
  bool have_termios = tcgetattr(fd, &old_t) == 0;
  if (have_termios) {
    struct termios t = old_t;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    t.c_lflag |= ECHONL;
    tcsetattr(fd, TCSAFLUSH, &t);
  }
  std::string line = ask_on_terminal(fd, prompt);
  if (have_termios) tcsetattr(fd, TCSAFLUSH, &old_t);
  close(fd);
  return line;
}

Result<std::string> prompt_line(std::string_view prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Error(Errc::usage, "no terminal to ask on");
  std::string line = ask_on_terminal(fd, prompt);
  close(fd);
  return line;
}

std::vector<std::string> filtered_environment(const std::vector<std::string>& drop_prefixes,
                                              const std::vector<std::string>& drop_names) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view name = kv.substr(0, kv.find('='));
    bool drop = false;
    for (const auto& p : drop_prefixes) drop |= name.substr(0, p.size()) == p;
    for (const auto& n : drop_names) drop |= name == n;
    if (!drop) out.emplace_back(kv);
  }
  return out;
}

std::string find_executable(std::string_view name) {
  if (name.empty()) return {};
  if (name.find('/') != std::string_view::npos) {
    std::string p(name);
    return access(p.c_str(), X_OK) == 0 ? p : std::string();
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    auto colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    std::string candidate = std::string(dir.empty() ? "." : dir) + "/" + std::string(name);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

std::string user_cache_dir(std::string_view app) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/" + std::string(app);
  const char* home = std::getenv("HOME");
  if (home && *home == '/') return std::string(home) + "/.cache/" + std::string(app);
  return {};
}

std::string user_data_dir(std::string_view app) {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/" + std::string(app);
  const char* home = std::getenv("HOME");
  if (home && *home == '/') return std::string(home) + "/.local/share/" + std::string(app);
  return {};
}

// mkdir -p with mode 0700 for every directory it creates (the XDG base directory rule); existing
// ones are left as they are.
static Error make_private_dirs(const std::string& dir) {
  for (size_t at = dir.find('/', 1);; at = dir.find('/', at + 1)) {
    std::string prefix = dir.substr(0, at);
    if (!prefix.empty() && mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      int e = errno;
      return Error(Errc::io, "cannot create " + prefix + ": " + errno_text(e), e);
    }
    if (at == std::string::npos) return Error();
  }
}

Error replace_private_file(const std::string& path, std::string_view content) {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (Error e = make_private_dirs(path.substr(0, slash)); e.failed()) return e;
  }
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) {
    int e = errno;
    return Error(Errc::io, "cannot write " + path + ": " + errno_text(e), e);
  }
  fchmod(fd, 0600);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return Error(Errc::io, "cannot write " + path + ": " + errno_text(e), e);
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return Error(Errc::io, "cannot write " + path + ": " + errno_text(e), e);
  }
  return Error();
}

unsigned current_user_id() {
  return static_cast<unsigned>(getuid());
}

void wipe(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace pvb
