// The `slingshot` command line.
#include <cstdio>
int main() { std::puts("slingshot"); return 0; }
