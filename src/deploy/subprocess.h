// Child processes for the deploy tools (arm-none-eabi-gcc, qemu-system-arm): started in a
// working directory with stdout and stderr sent to files, waited for with a timeout after
// which the child is killed. POSIX, native only.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace slingshot {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH
  std::string cwd;                // empty: the current directory
  std::string stdout_path;        // empty: /dev/null
  std::string stderr_path;        // empty: /dev/null
};

struct ProcessResult {
  int exit_status = -1;  // the exit code, or 128 + signal number
  bool timed_out = false;
};

// A started child; wait_process() must be called once for each.
struct RunningProcess {
  int pid = -1;
};

Result<RunningProcess> start_process(const ProcessSpec& spec);
// Waits up to `timeout_seconds` (killing the child after that).
ProcessResult wait_process(const RunningProcess& process, double timeout_seconds);

// Start and wait.
Result<ProcessResult> run_process(const ProcessSpec& spec, double timeout_seconds);

// True if `program` is an executable on PATH.
bool program_on_path(const std::string& program);

}  // namespace slingshot
