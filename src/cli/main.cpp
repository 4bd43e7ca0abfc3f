// The `slingshot` command line. Each subcommand lives in its own file (cmd_*.cpp) and
// registers itself here; a failed Status becomes one line on stderr and exit code 1.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Slingshot: adversarial robustness of quantized TinyML networks"};
  app.set_version_flag("--version", std::string("slingshot ") + SLING_VERSION);
  app.require_subcommand(1);
  slingshot::cli::CommandList commands;
  slingshot::cli::register_all(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& c : commands) {
    if (!c.sub->parsed()) continue;
    const slingshot::Status st = c.run();
    if (!st.ok()) {
      std::fprintf(stderr, "slingshot %s: %s\n", c.sub->get_name().c_str(), st.to_string().c_str());
      return 1;
    }
    return 0;
  }
  return 0;
}
