#include "engine/console/viewer_process.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "engine/core/platform.h"

namespace pvb {

// Owned jointly by the ViewerProcess and libuv's handles: the process handle must outlive the
// ViewerProcess object if the child is still running when it is destroyed.
struct ViewerProcess::State {
  uv_process_t process{};
  uv_pipe_t stdin_pipe{};
  uv_pipe_t stderr_pipe{};
  uv_write_t write_req{};
  bool has_stdin = false;
  bool stderr_open = false;
  bool exited = false;
  std::string stdin_content;
  ExitFn on_exit;
  // The viewer's standard error: the last keep_bytes of it, and the line being assembled.
  size_t keep_bytes = 0;
  std::string tail;
  std::string line;
  std::function<void(std::string_view)> on_line;
  char read_buffer[4096];
  std::unique_ptr<Timer> term_timer;
  std::shared_ptr<State> self;  // keeps the state alive until libuv closed its handles
  int open_handles = 0;

  void handle_closed() {
    if (--open_handles == 0) self.reset();
  }

  void take_stderr(const char* data, size_t n) {
    tail.append(data, n);
    if (tail.size() > keep_bytes) tail.erase(0, tail.size() - keep_bytes);
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n' || line.size() >= keep_bytes) {
        if (on_line && !exited) on_line(line);
        line.clear();
        if (data[i] == '\n') continue;
      }
      line.push_back(data[i]);
    }
  }

  void close_stderr() {
    if (!stderr_open) return;
    stderr_open = false;
    if (on_line && !exited && !line.empty()) on_line(line);  // the last line had no newline
    line.clear();
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&stderr_pipe));
    uv_close(reinterpret_cast<uv_handle_t*>(&stderr_pipe),
             [](uv_handle_t* h) { static_cast<State*>(h->data)->handle_closed(); });
  }

  // The child is gone, and what it wrote is in the pipe: read it all now, so the exit report is
  // complete whatever order libuv would have told us in. (A grandchild still holding the pipe
  // is not waited for.)
  void drain_stderr() {
    if (!stderr_open) return;
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&stderr_pipe), &fd) == 0) {
      // Never block here, and never read forever from a grandchild that keeps writing.
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      size_t budget = 1024 * 1024;
      while (budget > 0) {
        ssize_t n = ::read(fd, read_buffer, sizeof read_buffer);
        if (n > 0) {
          take_stderr(read_buffer, static_cast<size_t>(n));
          budget -= std::min(budget, static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;  // EOF, or nothing more right now (EAGAIN: the pipe is non-blocking)
      }
    }
    close_stderr();
  }
};

Result<std::unique_ptr<ViewerProcess>> ViewerProcess::spawn(Loop& loop,
                                                            const ViewerOptions& options,
                                                            const std::string& vv_argument,
                                                            std::string stdin_content,
                                                            ExitFn on_exit) {
  std::string path = find_executable(options.program);
  if (path.empty()) {
    return Error(Errc::viewer, "viewer '" + options.program +
                                   "' not found: install the virt-viewer package (apt install "
                                   "virt-viewer) or name another with --viewer");
  }
  auto st = std::make_shared<State>();
  st->on_exit = std::move(on_exit);
  st->stdin_content = std::move(stdin_content);
  st->keep_bytes = options.stderr_keep_bytes == 0 ? 1 : options.stderr_keep_bytes;
  st->on_line = options.on_stderr_line;

  std::vector<std::string> argv_s;
  argv_s.push_back(path);
  for (const auto& a : options.args) argv_s.push_back(a);
  argv_s.push_back(vv_argument);
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s =
      filtered_environment(options.drop_env_prefixes, options.drop_env_names);
  std::vector<char*> env;
  for (auto& e : env_s) env.push_back(e.data());
  env.push_back(nullptr);

  uv_stdio_container_t stdio[3];
  st->has_stdin = !st->stdin_content.empty();
  if (st->has_stdin) {
    uv_pipe_init(loop.raw(), &st->stdin_pipe, 0);
    st->stdin_pipe.data = st.get();
    ++st->open_handles;
    stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
    stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&st->stdin_pipe);
  } else {
    stdio[0].flags = UV_IGNORE;
  }
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 1;
  uv_pipe_init(loop.raw(), &st->stderr_pipe, 0);
  st->stderr_pipe.data = st.get();
  st->stderr_open = true;
  ++st->open_handles;
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&st->stderr_pipe);

  uv_process_options_t po{};
  po.file = argv_s[0].c_str();
  po.args = argv.data();
  po.env = env.data();
  po.stdio_count = 3;
  po.stdio = stdio;
  po.exit_cb = [](uv_process_t* p, int64_t status, int sig) {
    auto* s = static_cast<State*>(p->data);
    s->drain_stderr();
    s->exited = true;
    if (s->term_timer) s->term_timer->stop();
    ExitFn fn = std::move(s->on_exit);
    uv_close(reinterpret_cast<uv_handle_t*>(p),
             [](uv_handle_t* h) { static_cast<State*>(h->data)->handle_closed(); });
    if (fn) fn(status, sig);
  };
  st->process.data = st.get();
  int rc = uv_spawn(loop.raw(), &st->process, &po);
  if (rc != 0) {
    st->self = st;
    st->close_stderr();
    if (st->has_stdin) {
      st->self = st;
      uv_close(reinterpret_cast<uv_handle_t*>(&st->stdin_pipe),
               [](uv_handle_t* h) { static_cast<State*>(h->data)->handle_closed(); });
    }
    // libuv requires closing the process handle even when spawn fails.
    st->self = st;
    ++st->open_handles;
    uv_close(reinterpret_cast<uv_handle_t*>(&st->process),
             [](uv_handle_t* h) { static_cast<State*>(h->data)->handle_closed(); });
    return Error(Errc::viewer, "cannot start viewer " + path + ": " + uv_strerror(rc), rc);
  }
  ++st->open_handles;
  st->self = st;
  st->term_timer = std::make_unique<Timer>(loop);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&st->stderr_pipe),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* s = static_cast<State*>(h->data);
        *buf = uv_buf_init(s->read_buffer, sizeof s->read_buffer);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* s = static_cast<State*>(stream->data);
        if (n > 0) s->take_stderr(buf->base, static_cast<size_t>(n));
        if (n < 0) s->close_stderr();  // EOF or an error: nothing more will come
      });

  if (st->has_stdin) {
    uv_buf_t buf =
        uv_buf_init(st->stdin_content.data(), static_cast<unsigned>(st->stdin_content.size()));
    st->write_req.data = st.get();
    uv_write(&st->write_req, reinterpret_cast<uv_stream_t*>(&st->stdin_pipe), &buf, 1,
             [](uv_write_t* req, int) {
               auto* s = static_cast<State*>(req->data);
               wipe(s->stdin_content);
               // Closing stdin tells the viewer the .vv is complete.
               uv_close(reinterpret_cast<uv_handle_t*>(&s->stdin_pipe),
                        [](uv_handle_t* h) { static_cast<State*>(h->data)->handle_closed(); });
             });
  }
  return std::unique_ptr<ViewerProcess>(new ViewerProcess(st));
}

ViewerProcess::~ViewerProcess() {
  if (state_ && !state_->exited) {
    // We are going away while the viewer still runs: it must not outlive the bridge it shows.
    uv_process_kill(&state_->process, SIGTERM);
    state_->on_exit = nullptr;
    state_->on_line = nullptr;  // its owner is going away
  }
  if (state_) state_->term_timer.reset();
}

int ViewerProcess::pid() const {
  return state_->process.pid;
}
bool ViewerProcess::running() const {
  return !state_->exited;
}

std::string ViewerProcess::stderr_tail(size_t max_lines) const {
  std::string_view t = state_->tail;
  // Drop a line cut at the front by the bound.
  if (state_->tail.size() >= state_->keep_bytes) {
    size_t nl = t.find('\n');
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
  }
  std::vector<std::string_view> lines;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    std::string_view l = t.substr(0, nl);
    if (!l.empty()) lines.push_back(l);
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
  }
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); ++i) {
    if (!out.empty()) out += '\n';
    out += lines[i];
  }
  return out;
}

void ViewerProcess::terminate_after(uint64_t grace_ms) {
  if (state_->exited) return;
  std::weak_ptr<State> weak = state_;
  state_->term_timer->start(grace_ms, [weak] {
    if (auto s = weak.lock(); s && !s->exited) uv_process_kill(&s->process, SIGTERM);
  });
}

}  // namespace pvb
