// Runs pvebridge on a pseudo-terminal (its controlling terminal, stdin, stdout and stderr), so the
// questions it asks only on a terminal can be answered by a test.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pvb::testing {

struct PtyResult {
  int exit_code = -1;  // or 128+signal; -1 if it had to be killed
  std::string output;  // everything it wrote to the terminal (stdout and stderr, \r\n line ends)
};

// Each (text, answer): once `text` has appeared in the output (after the previous one), `answer`
// and a newline are typed. Bounded by timeout_ms: a run that hangs is killed and fails the test.
PtyResult run_pvebridge_in_pty(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env,
                               const std::vector<std::pair<std::string, std::string>>& script,
                               int timeout_ms = 30000);

}  // namespace pvb::testing
