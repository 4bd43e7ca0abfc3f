// slingshot_checksum firmware: runs the shared checksum workload on the Cortex-M4 and
// prints the result through semihosting (newlib rdimon), then exits with status 0.
#include <cstdio>
#include <cstdlib>

#include "cortexm/checksum_workload.h"

int main() {
  std::printf("checksum: %08lx\n", static_cast<unsigned long>(slingshot::portable_checksum()));
  std::fflush(stdout);
  std::exit(0);
}
