// The harness firmware build with its content-keyed cache (see firmware_build.h).
#include "deploy/firmware_build.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/file_io.h"
#include "deploy/subprocess.h"

#ifndef SLING_FIRMWARE_SOURCE_DIR
#define SLING_FIRMWARE_SOURCE_DIR ""
#endif

namespace slingshot {
namespace fs = std::filesystem;
namespace {

constexpr double kCompileTimeoutSeconds = 600;
constexpr int64_t kMaxSourceBytes = int64_t{1} << 30;

// FNV-1a, 64 bits: a content key for the cache, not a security measure.
struct ContentHash {
  uint64_t h = 1469598103934665603ull;
  void add(const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;  // separator: ("ab","c") != ("a","bc")
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

std::vector<std::string> common_flags(const FirmwareTarget& t, const std::string& src) {
  std::vector<std::string> f = t.cpu_flags;
  for (const char* s : {"-mthumb", "-O3", "-ffp-contract=off", "-ffunction-sections", "-fdata-sections", "-Wall",
                        "-Wextra", "-Wno-missing-field-initializers"})
    f.push_back(s);
  f.push_back("-DSLING_CORE_CLOCK_HZ=" + std::to_string(t.core_clock_hz) + "u");
  f.push_back("-I" + src);
  return f;
}

std::vector<std::string> cxx_flags() { return {"-std=c++20", "-fno-exceptions", "-fno-rtti"}; }

// The model-independent firmware sources, relative to the source dir.
std::vector<std::string> library_sources(const std::string& src, bool dsp) {
  std::vector<std::string> files = {"cortexm/startup.c", "cortexm/instruction_counter.c"};
  auto add_dir = [&](const std::string& dir, auto&& keep) {
    std::error_code ec;
    if (!fs::is_directory(src + "/" + dir, ec)) return;
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(src + "/" + dir, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && keep(name)) found.push_back(dir + "/" + name);
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  };
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  add_dir("cortexm/runtime", [&](const std::string& n) { return ends_with(n, ".cpp"); });
  add_dir("kernels/ref", [&](const std::string& n) { return ends_with(n, "_s8__ref.cpp"); });
  // The Cortex-M DSP kernel variants kernel_dispatch.h may select: they need the extension.
  if (dsp) add_dir("kernels/cortexm", [&](const std::string& n) { return ends_with(n, ".cpp") || ends_with(n, ".c"); });
  return files;
}

// Every file the firmware objects may depend on, in a stable order, with its content.
Status hash_sources(const std::string& src, ContentHash& hash) {
  std::vector<std::string> files = {"quant/fixed_point.h"};
  for (const char* dir : {"cortexm", "kernels"}) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(src + "/" + dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_regular_file()) files.push_back(fs::relative(it->path(), src).string());
    if (ec) return io_error("cannot list " + src + "/" + dir + ": " + ec.message());
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    SLING_ASSIGN_OR_RETURN(std::string text, read_file(src + "/" + f, kMaxSourceBytes));
    hash.add(f);
    hash.add(text);
  }
  return Status::Ok();
}

std::string tail_of_file(const std::string& path) {
  auto text = read_file(path, kMaxSourceBytes);
  if (!text.ok()) return "";
  const std::string& t = text.value();
  return t.size() > 3000 ? "..." + t.substr(t.size() - 3000) : t;
}

// Runs the compiler commands in parallel in `dir`; an error quotes the failing one's stderr.
Status run_compilers(const std::vector<std::vector<std::string>>& commands, const std::string& dir) {
  std::vector<RunningProcess> running;
  std::vector<std::string> logs;
  Status first_error;
  for (size_t i = 0; i < commands.size(); ++i) {
    logs.push_back(dir + "/compile" + std::to_string(i) + ".log");
    auto p = start_process({commands[i], dir, logs.back(), logs.back()});
    if (!p.ok()) return p.status();
    running.push_back(p.value());
  }
  for (size_t i = 0; i < running.size(); ++i) {
    const ProcessResult r = wait_process(running[i], kCompileTimeoutSeconds);
    if (first_error.ok() && (r.timed_out || r.exit_status != 0))
      first_error = internal_error(commands[i][0] + (r.timed_out ? " timed out" : " failed (status " +
                                                                                  std::to_string(r.exit_status) + ")") +
                                   " building the firmware in " + dir + ":\n" + tail_of_file(logs[i]));
  }
  return first_error;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A fresh directory under `parent` for a build that is renamed into place when complete,
// so an interrupted build never leaves a half-written cache entry.
Result<std::string> make_temp_dir(const std::string& parent) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) return io_error("cannot create the firmware cache " + parent + ": " + ec.message());
  std::string pattern = parent + "/tmp-XXXXXX";
  if (!::mkdtemp(pattern.data())) return io_error("cannot create a temporary directory in " + parent);
  return pattern;
}

// Moves a finished build into place; another process may have won the race, which is fine.
void publish(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) fs::remove_all(from, ec);
}

}  // namespace

const FirmwareTarget& firmware_target(McuCpu cpu) {
  static const FirmwareTarget m3{McuCpu::kM3, "mps2-an385", {"-mcpu=cortex-m3", "-mfloat-abi=soft"},
                                 "cortexm/mps2_an386.ld", 25000000u, false};
  static const FirmwareTarget m4{McuCpu::kM4, "mps2-an386",
                                 {"-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"},
                                 "cortexm/mps2_an386.ld", 25000000u, true};
  static const FirmwareTarget m7{McuCpu::kM7, "mps2-an500", {"-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"},
                                 "cortexm/mps2_an386.ld", 25000000u, true};
  static const FirmwareTarget m55{McuCpu::kM55, "mps3-an547", {"-mcpu=cortex-m55", "-mfloat-abi=hard"},
                                  "cortexm/boards/mps3_an547.ld", 32000000u, true};
  switch (cpu) {
    case McuCpu::kM3: return m3;
    case McuCpu::kM4: return m4;
    case McuCpu::kM7: return m7;
    case McuCpu::kM55: return m55;
  }
  return m4;
}

Result<std::string> firmware_source_dir() {
  const char* env = std::getenv("SLINGSHOT_SOURCE_DIR");
  const std::string dir = env && *env ? env : SLING_FIRMWARE_SOURCE_DIR;
  std::error_code ec;
  if (!dir.empty() && fs::is_regular_file(dir + "/cortexm/harness_main.cpp", ec)) return dir;
  return not_found("the firmware sources are not at '" + dir +
                   "' (no cortexm/harness_main.cpp there); set SLINGSHOT_SOURCE_DIR to the src/ directory of a "
                   "Slingshot checkout");
}

Result<std::vector<std::string>> model_runtime_source_names(McuCpu cpu) {
  SLING_ASSIGN_OR_RETURN(std::string src, firmware_source_dir());
  std::vector<std::string> names;
  for (const std::string& s : library_sources(src, firmware_target(cpu).dsp))
    if (s.rfind("cortexm/runtime/", 0) == 0 || s.rfind("kernels/", 0) == 0) names.push_back(fs::path(s).filename().string());
  return names;
}

Status check_deploy_tools() {
  for (const char* tool : {"arm-none-eabi-gcc", "arm-none-eabi-g++", "qemu-system-arm"})
    if (!program_on_path(tool))
      return not_found(std::string(tool) + " is not on PATH; the Cortex-M tools come from Debian packages: run "
                                           "scripts/setup.sh");
  return Status::Ok();
}

std::string default_cache_dir() {
  if (const char* d = std::getenv("SLINGSHOT_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/slingshot";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/slingshot";
  return (fs::temp_directory_path() / "slingshot-cache").string();
}

Result<FirmwareBuild> build_harness_firmware(McuCpu cpu, const CModelSource& model, const std::string& cache_dir) {
  SLING_RETURN_IF_ERROR(check_deploy_tools());
  SLING_ASSIGN_OR_RETURN(std::string src, firmware_source_dir());
  src = fs::absolute(src).lexically_normal().string();
  const FirmwareTarget& target = firmware_target(cpu);
  const std::vector<std::string> flags = common_flags(target, src);

  ContentHash lib_hash;
  for (const std::string& f : flags) lib_hash.add(f);
  SLING_RETURN_IF_ERROR(hash_sources(src, lib_hash));
  const std::string root = cache_dir + "/mcu";
  const std::string lib_dir = root + "/" + cpu_name(cpu) + "-" + lib_hash.hex();
  const std::vector<std::string> sources = library_sources(src, target.dsp);

  std::error_code ec;
  if (!fs::is_directory(lib_dir, ec)) {
    SLING_ASSIGN_OR_RETURN(std::string tmp, make_temp_dir(root));
    std::vector<std::string> c_cmd = concat({"arm-none-eabi-gcc", "-c"}, flags);
    std::vector<std::string> cxx_cmd = concat(concat({"arm-none-eabi-g++", "-c"}, flags), cxx_flags());
    for (const std::string& s : sources) (s.ends_with(".c") ? c_cmd : cxx_cmd).push_back(src + "/" + s);
    const Status built = run_compilers({c_cmd, cxx_cmd}, tmp);
    if (!built.ok()) return built;
    publish(tmp, lib_dir);
  }

  ContentHash elf_hash = lib_hash;
  elf_hash.add(model.header);
  elf_hash.add(model.source);
  FirmwareBuild out;
  out.elf_path = lib_dir + "/harness-" + elf_hash.hex() + ".elf";
  if (fs::is_regular_file(out.elf_path, ec)) {
    out.reused = true;
    return out;
  }
  SLING_ASSIGN_OR_RETURN(std::string tmp, make_temp_dir(lib_dir));
  SLING_RETURN_IF_ERROR(write_file_atomic(tmp + "/model_data.h", model.header));
  SLING_RETURN_IF_ERROR(write_file_atomic(tmp + "/model_data.c", model.source));
  const std::vector<std::string> model_flags = concat(flags, {"-I" + tmp});
  SLING_RETURN_IF_ERROR(run_compilers(
      {concat(concat({"arm-none-eabi-gcc", "-c"}, model_flags), {tmp + "/model_data.c"}),
       concat(concat(concat({"arm-none-eabi-g++", "-c"}, model_flags), cxx_flags()), {src + "/cortexm/harness_main.cpp"})},
      tmp));
  std::vector<std::string> link = concat({"arm-none-eabi-g++"}, target.cpu_flags);
  for (const char* s : {"-mthumb", "--specs=rdimon.specs", "-Wl,--gc-sections"}) link.push_back(s);
  link.push_back("-T" + src + "/" + target.linker_script);
  link.push_back("-o");
  link.push_back(tmp + "/harness.elf");
  link.push_back(tmp + "/model_data.o");
  link.push_back(tmp + "/harness_main.o");
  for (const std::string& s : sources) link.push_back(lib_dir + "/" + fs::path(s).stem().string() + ".o");
  SLING_RETURN_IF_ERROR(run_compilers({link}, tmp));
  fs::rename(tmp + "/harness.elf", out.elf_path, ec);
  if (ec) return io_error("cannot move the firmware into the cache at " + out.elf_path + ": " + ec.message());
  fs::remove_all(tmp, ec);
  return out;
}

}  // namespace slingshot
