// Every operating-system specific the project needs, in one small place: private files and
// directories, secret files, the terminal, the environment of child processes, PATH lookup.
// (Sockets and processes go through libuv; the loopback peer-uid lookup lives with the TCP code.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb {

// A directory only the current user can enter (0700), with an unpredictable name, removed
// (with its contents) on destruction. Made under $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp.
class PrivateDir {
 public:
  static Result<PrivateDir> create(std::string_view prefix);
  PrivateDir(PrivateDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  PrivateDir& operator=(PrivateDir&& o) noexcept;
  ~PrivateDir();
  const std::string& path() const { return path_; }
  // Removes the directory and its files now (also done by the destructor).
  void remove();

 private:
  explicit PrivateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Creates `path` new (O_EXCL, O_NOFOLLOW), mode 0600, and writes `content`. An existing file is
// refused with Errc::usage ("refusing to overwrite existing file PATH").
Error write_new_private_file(const std::string& path, std::string_view content);
// Removes a file; a missing one is not an error.
void remove_file(const std::string& path);

// Reads a secret (password) file: refuses one that group or others may read (Errc::usage, with
// the chmod to fix it), strips one trailing newline.
Result<std::string> read_secret_file(const std::string& path);
// Mode bits of a file (for tests and checks), or -1.
int file_mode(const std::string& path);

bool stdin_is_terminal();
bool stderr_is_terminal();
// Prompts on the controlling terminal with echo off and reads one line.
Result<std::string> prompt_secret(std::string_view prompt);

// The environment for a child process: ours, minus every variable whose name starts with one of
// `drop_prefixes` or equals one of `drop_names`. As "NAME=value" strings.
std::vector<std::string> filtered_environment(const std::vector<std::string>& drop_prefixes,
                                              const std::vector<std::string>& drop_names);

// Absolute path of an executable: `name` itself if it contains '/', else looked up in $PATH.
// Empty if not found or not executable.
std::string find_executable(std::string_view name);

// $XDG_CACHE_HOME (default ~/.cache) / app; empty if neither it nor HOME is set.
std::string user_cache_dir(std::string_view app);
// Writes `content` to `path` atomically (a private temporary file renamed over it), mode 0600,
// creating missing parent directories (0700).
Error replace_private_file(const std::string& path, std::string_view content);

// The real user id of this process.
unsigned current_user_id();

// Overwrites a string's bytes before it is freed (best effort against secrets lingering).
void wipe(std::string& s);

}  // namespace pvb
