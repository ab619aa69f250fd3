#include "engine/console/viewer_launch.h"

namespace pvb {

ViewerLaunch::ViewerLaunch(Loop& loop, VvMode mode, std::string path, std::string name)
    : loop_(loop), mode_(mode), path_(std::move(path)), name_(std::move(name)) {}

ViewerLaunch::~ViewerLaunch() {
  remove_vv();
}

Result<std::optional<std::string>> ViewerLaunch::write_vv(const VvFileSpec& spec) {
  if (mode_ == VvMode::stdin_pipe) return std::optional<std::string>();
  std::string path = path_;
  if (mode_ == VvMode::private_dir) {
    auto dir = PrivateDir::create("pvebridge");
    if (!dir.ok()) return dir.error();
    dir_.emplace(std::move(*dir));
    path = dir_->path() + "/" + name_;
  }
  std::string text = build_vv_file(spec);
  Error e = write_new_private_file(path, text);
  wipe(text);
  if (e.failed()) return e;
  written_ = path;
  return std::optional<std::string>(path);
}

Error ViewerLaunch::launch(const VvFileSpec& spec, const ViewerOptions& options,
                           std::function<void(std::string_view)> on_line,
                           ViewerProcess::ExitFn on_exit) {
  std::string arg = written_;
  std::string content;
  if (mode_ == VvMode::stdin_pipe) {
    arg = "-";
    content = build_vv_file(spec);
  }
  ViewerOptions viewer = options;
  viewer.on_stderr_line = std::move(on_line);
  auto v = ViewerProcess::spawn(loop_, viewer, arg, std::move(content), std::move(on_exit));
  if (!v.ok()) return v.error();
  process_ = std::move(*v);
  return Error();
}

void ViewerLaunch::terminate_after(uint64_t grace_ms) {
  if (running()) process_->terminate_after(grace_ms);
}

std::string ViewerLaunch::stderr_tail(size_t lines) const {
  return process_ ? process_->stderr_tail(lines) : std::string();
}

void ViewerLaunch::remove_vv() {
  if (!written_.empty()) {
    remove_file(written_);
    written_.clear();
  }
  dir_.reset();
}

}  // namespace pvb
