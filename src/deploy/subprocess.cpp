// Child processes with files for output and a timeout (see subprocess.h).
#include "deploy/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace slingshot {
namespace {

// In the child: point `fd` at `path` (or /dev/null); exits 127 on failure.
void redirect(int fd, const std::string& path, int flags) {
  const int f = ::open(path.empty() ? "/dev/null" : path.c_str(), flags, 0644);
  if (f < 0 || ::dup2(f, fd) < 0) ::_exit(127);
  ::close(f);
}

}  // namespace

Result<RunningProcess> start_process(const ProcessSpec& spec) {
  if (spec.argv.empty()) return internal_error("start_process: empty argv");
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return io_error("cannot start " + spec.argv[0] + ": fork failed");
  if (pid == 0) {
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) ::_exit(127);
    redirect(0, "", O_RDONLY);
    redirect(1, spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
    redirect(2, spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return RunningProcess{pid};
}

ProcessResult wait_process(const RunningProcess& process, double timeout_seconds) {
  ProcessResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(process.pid, &status, WNOHANG);
    if (done == process.pid) break;
    if (done < 0) return r;  // not our child any more: report failure
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(process.pid, SIGKILL);
      ::waitpid(process.pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.exit_status = 128 + WTERMSIG(status);
  return r;
}

Result<ProcessResult> run_process(const ProcessSpec& spec, double timeout_seconds) {
  SLING_ASSIGN_OR_RETURN(RunningProcess p, start_process(spec));
  return wait_process(p, timeout_seconds);
}

bool program_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  const std::string all(path);
  for (size_t pos = 0; pos <= all.size();) {
    const size_t colon = all.find(':', pos);
    const std::string dir = all.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return false;
}

}  // namespace slingshot
