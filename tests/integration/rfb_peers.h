// Helpers for the end-to-end tests of the RFB-terminating bridge against independent VNC clients:
// pvb-vnc-check (libvncclient), vncsnapshot; reading the .vv as a viewer does, password files in
// the formats those clients read, and scanning outputs for secrets.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/child_process.h"
#include "tests/integration/mock_fixture.h"

namespace pvb::testing {

inline constexpr int kPeerWaitMs = 30000;  // hang guards, not timing assertions

// The value of `key=` in a .vv file with GKeyFile's escapes undone, as a viewer reads it.
std::string vv_value(const std::string& text, const std::string& key);

// Polls `pred` (another process's state) until true or timeout_ms.
bool wait_until(const std::function<bool()>& pred, int timeout_ms = kPeerWaitMs);
// Reads the process's stdout/stderr until its stderr contains `needle`.
bool wait_for_stderr(ChildProcess& p, const std::string& needle, int timeout_ms = kPeerWaitMs);

// The path of pvb-vnc-check (empty when libvncclient was missing at build time).
std::string vnc_check_path();

// pvb-vnc-check on 127.0.0.1:port with `password` in a private file under `dir`; `extra` are its
// further flags (--encodings, --expect ...). Started, not waited for.
std::unique_ptr<ChildProcess> start_vnc_check(const std::string& dir, int port,
                                              const std::string& password,
                                              std::vector<std::string> extra);
// Runs it to its end: its exit code (or -1 when it hung), stderr in *err.
int run_vnc_check(const std::string& dir, int port, const std::string& password,
                  std::vector<std::string> extra, std::string* err = nullptr);

// vncsnapshot (its own RFB 3.3 and DES) on 127.0.0.1:port into `jpeg`; the password in a
// vncpasswd-format file (engine/rfb/vnc_auth.h), never on argv. Its exit code.
int run_vncsnapshot(const std::string& dir, int port, const std::string& password,
                    const std::string& jpeg, std::string* err = nullptr);

// The first stdout line of `p` (read so far) whose "event" is `name`, or "".
std::string event_line(const std::vector<std::string>& lines, const std::string& name);
std::vector<std::string> event_lines(const std::vector<std::string>& lines,
                                     const std::string& name);

// Everything a process said: its stdout lines and stderr.
std::string all_output(const ChildProcess& p);
std::string all_output(const RunResult& r);

}  // namespace pvb::testing
