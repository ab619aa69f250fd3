// Every operating-system specific the project needs, in one small place: private files and
// directories, secret files, the terminal, the environment of child processes, PATH lookup.
// (Sockets and processes go through libuv; the loopback peer-uid lookup lives with the TCP code.)
#pragma once

#include <optional>
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
// the chmod to fix it), strips one trailing newline. `what` names it in errors.
Result<std::string> read_secret_file(const std::string& path,
                                     std::string_view what = "password file");
// Mode bits of a file (for tests and checks), or -1.
int file_mode(const std::string& path);

// A user's own small text file (a configuration) and who else may touch it.
struct UserFile {
  std::string text;
  bool readable_by_others = false;  // group or others may read it
  bool writable_by_others = false;  // group or others may write it, or it belongs to another
                                    // user than us and root
};
// Reads a regular file of at most max_bytes. A missing file is nullopt, not an error; anything
// else that fails (a directory, too large, unreadable) is Errc::usage naming the path.
Result<std::optional<UserFile>> read_user_file(const std::string& path, size_t max_bytes);

// What a finished command printed on its standard output, and how it ended.
struct CommandOutput {
  std::string out;      // at most the max_output bytes asked for
  int exit_code = 0;    // when it exited
  int term_signal = 0;  // when a signal ended it (exit_code is then -1)
};
// Runs a program without a shell: argv[0] is looked up in PATH, standard input and standard error
// are ours (so it may prompt on the terminal), standard output is captured. Waits for it to end,
// however long that takes. Its environment is ours without the variables whose names start with
// one of drop_env_prefixes. A program that cannot be found or started is Errc::usage.
Result<CommandOutput> run_and_capture(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& drop_env_prefixes,
                                      size_t max_output);

bool stdin_is_terminal();
bool stdout_is_terminal();
// Prompts on the controlling terminal with echo off and reads one line.
Result<std::string> prompt_secret(std::string_view prompt);
// Prompts on the controlling terminal (echo on: a question, not a secret) and reads one line;
// end of input reads as an empty line. Errc::usage when there is no terminal.
Result<std::string> prompt_line(std::string_view prompt);

// The environment for a child process: ours, minus every variable whose name starts with one of
// `drop_prefixes` or equals one of `drop_names`. As "NAME=value" strings.
std::vector<std::string> filtered_environment(const std::vector<std::string>& drop_prefixes,
                                              const std::vector<std::string>& drop_names);

// Absolute path of an executable: `name` itself if it contains '/', else looked up in $PATH.
// Empty if not found or not executable.
std::string find_executable(std::string_view name);

// $XDG_CACHE_HOME (default ~/.cache) / app; empty if neither it nor HOME is set.
std::string user_cache_dir(std::string_view app);
// $XDG_DATA_HOME (only if absolute, default ~/.local/share) / app; empty if neither is usable.
std::string user_data_dir(std::string_view app);
// Writes `content` to `path` atomically (a private temporary file renamed over it), mode 0600,
// creating missing parent directories (0700).
Error replace_private_file(const std::string& path, std::string_view content);

// The real user id of this process.
unsigned current_user_id();

// Overwrites a string's bytes before it is freed (best effort against secrets lingering).
void wipe(std::string& s);

}  // namespace pvb
