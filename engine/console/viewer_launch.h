// ViewerLaunch: the viewer's side of a console — its .vv (a private file, a path the user chose,
// or the viewer's standard input) and the viewer process. The .vv carries the bridge's local
// address and password only; no Proxmox secret passes through here in the RFB-aware mode.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/console/viewer_process.h"
#include "engine/console/vv_file.h"
#include "engine/core/loop.h"
#include "engine/core/platform.h"

namespace pvb {

enum class VvMode {
  private_dir,  // a 0600 file in a fresh 0700 directory (default)
  path,         // a 0600 file at a path the user chose (created new)
  stdin_pipe,   // handed to the viewer on standard input ("remote-viewer -"): never on disk
};

class ViewerLaunch {
 public:
  // `name`: the file's name inside a private directory ("console-1.vv").
  ViewerLaunch(Loop& loop, VvMode mode, std::string path, std::string name);
  ~ViewerLaunch();  // removes the file
  ViewerLaunch(const ViewerLaunch&) = delete;
  ViewerLaunch& operator=(const ViewerLaunch&) = delete;

  // Writes the .vv (unless it goes to the viewer's stdin); returns its path, or nullopt.
  Result<std::optional<std::string>> write_vv(const VvFileSpec& spec);
  // Starts the viewer on the .vv. `on_line`: each line it writes to stderr.
  Error launch(const VvFileSpec& spec, const ViewerOptions& options,
               std::function<void(std::string_view)> on_line, ViewerProcess::ExitFn on_exit);

  bool launched() const { return process_ != nullptr; }
  bool running() const { return process_ && process_->running(); }
  int pid() const { return process_ ? process_->pid() : 0; }
  void terminate_after(uint64_t grace_ms);
  std::string stderr_tail(size_t lines) const;
  void remove_vv();

 private:
  Loop& loop_;
  VvMode mode_;
  std::string path_;
  std::string name_;
  std::optional<PrivateDir> dir_;
  std::string written_;  // the file on disk, to remove
  std::unique_ptr<ViewerProcess> process_;
};

}  // namespace pvb
