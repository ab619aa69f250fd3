#include "engine/console/viewer.h"

#include <csignal>
#include <cstring>

#include "engine/core/platform.h"

namespace pvb {

// Owned jointly by the ViewerProcess and libuv's handles: the process handle must outlive the
// ViewerProcess object if the child is still running when it is destroyed.
struct ViewerProcess::State {
  uv_process_t process{};
  uv_pipe_t stdin_pipe{};
  uv_write_t write_req{};
  bool has_stdin = false;
  bool exited = false;
  std::string stdin_content;
  ExitFn on_exit;
  std::unique_ptr<Timer> term_timer;
  std::shared_ptr<State> self;  // keeps the state alive until libuv closed its handles
  int open_handles = 0;

  void handle_closed() {
    if (--open_handles == 0) self.reset();
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
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;

  uv_process_options_t po{};
  po.file = argv_s[0].c_str();
  po.args = argv.data();
  po.env = env.data();
  po.stdio_count = 3;
  po.stdio = stdio;
  po.exit_cb = [](uv_process_t* p, int64_t status, int sig) {
    auto* s = static_cast<State*>(p->data);
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
  }
  if (state_) state_->term_timer.reset();
}

int ViewerProcess::pid() const {
  return state_->process.pid;
}
bool ViewerProcess::running() const {
  return !state_->exited;
}

void ViewerProcess::terminate_after(uint64_t grace_ms) {
  if (state_->exited) return;
  std::weak_ptr<State> weak = state_;
  state_->term_timer->start(grace_ms, [weak] {
    if (auto s = weak.lock(); s && !s->exited) uv_process_kill(&s->process, SIGTERM);
  });
}

}  // namespace pvb
