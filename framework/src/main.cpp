// The sonda executable.
#include <exception>
#include <iostream>

#include "agent_zygote.hpp"
#include "runner.hpp"
#include "spawn.hpp"

namespace sonda {
int cli_main(int argc, char** argv);
}

int main(int argc, char** argv) {
  sonda::remember_argv(argc, argv);  // before CLI11 reads it
  try {
    return sonda::cli_main(argc, argv);
  } catch (const std::exception& e) {
    // A host bug, not a step failure: never leave spawned children behind.
    sonda::SpawnedProcess::kill_all_now();
    std::cerr << "sonda: internal error: " << e.what() << '\n';
    return 1;
  }
}
